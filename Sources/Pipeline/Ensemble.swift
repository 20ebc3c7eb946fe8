// `--model ensemble`: the three shipped models together, each face's calibrated probabilities
// averaged over the models (each with its mirror view, as the models were validated). One
// preprocessing serves all three when they take the same input, as fertui's do.

import Engine
import Vision

/// Classifies the faces of a frame: one model (FaceClassifier) or several (EnsembleClassifier).
public protocol FaceClassifying: AnyObject {
    var classes: [String] { get }
    /// Predictions for `faces`, in the same order.
    func classify(_ frame: Frame, faces: [(id: Int, box: FaceBox)]) throws -> [FaceReading]
}

extension FaceClassifying {
    /// The whole frame as one face (pre-cropped images such as FER-2013's 48x48 faces).
    public func classifyWhole(_ frame: Frame) throws -> FaceReading {
        try classify(frame, faces: [(id: 0, box: FaceBox(x: 0, y: 0, width: frame.width, height: frame.height))])[0]
    }
}

extension FaceClassifier: FaceClassifying {}

/// Averages its members' probabilities for every face.
public final class EnsembleClassifier: FaceClassifying {
    public let members: [FaceClassifier]
    public var classes: [String] { members[0].classes }

    /// The members must share their classes, in order.
    public init(_ members: [FaceClassifier]) throws {
        guard let first = members.first else { throw PipelineError("an ensemble needs at least one model") }
        for m in members where m.classes != first.classes {
            throw PipelineError("an ensemble's models must share their classes: \(m.model.info.arch) has \(m.classes)")
        }
        self.members = members
    }

    public func classify(_ frame: Frame, faces: [(id: Int, box: FaceBox)]) throws -> [FaceReading] {
        let each = try members.map { try $0.classify(frame, faces: faces) }
        return faces.indices.map { i in
            let probs = averaged(each.map { $0[i].probabilities })
            return FaceReading(id: faces[i].id, box: faces[i].box, probabilities: probs, classes: classes)
        }
    }
}

/// The ensemble behind the pipeline's seam: preprocess once (when the members agree on their
/// input), then each member's forward on the same tensor, the probabilities averaged.
public final class EnsembleExpressionModel: ExpressionModel, @unchecked Sendable {
    public let members: [ResNetExpressionModel]
    public let info: ModelInfo
    /// True when every member crops, normalises and mirrors alike, so one tensor serves all.
    public let sharesInput: Bool

    public init(_ members: [ResNetExpressionModel], name: String = ExpressionModels.ensembleName) throws {
        guard let first = members.first else { throw PipelineError("an ensemble needs at least one model") }
        for m in members where m.info.classes != first.info.classes {
            throw PipelineError("an ensemble's models must share their classes: \(m.info.arch) has \(m.info.classes)")
        }
        self.members = members
        var info = first.info
        info.arch = name
        self.info = info
        let key = { (m: ResNetExpressionModel) in
            "\(m.info.inputSize) \(m.classifier.preprocessor.margin) \(m.classifier.mirrorAverage) "
                + "\(m.classifier.extraViews) \(m.info.mean) \(m.info.std)"
        }
        sharesInput = members.allSatisfy { key($0) == key(first) }
    }

    public func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float] {
        if sharesInput { return try members[0].preprocess(frame, boxes: boxes) }
        return try members.flatMap { try $0.preprocess(frame, boxes: boxes) }
    }

    public func probabilities(_ input: [Float], batch: Int) throws -> [[Float]] {
        var offset = 0
        let each = try members.map { m -> [[Float]] in
            if sharesInput { return try m.probabilities(input, batch: batch) }
            let count = batch * m.classifier.floatsPerFace
            defer { offset += count }
            return try m.probabilities(Array(input[offset..<(offset + count)]), batch: batch)
        }
        return (0..<batch).map { i in averaged(each.map { $0[i] }) }
    }
}

/// The element-wise mean of equally long vectors.
func averaged(_ vectors: [[Float]]) -> [Float] {
    guard let first = vectors.first else { return [] }
    var sum = [Float](repeating: 0, count: first.count)
    for v in vectors { for k in sum.indices { sum[k] += v[k] } }
    return sum.map { $0 / Float(vectors.count) }
}
