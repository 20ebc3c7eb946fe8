// Faces of a frame to expression probabilities: every face preprocessed as in training
// (Vision's Preprocessor) into one reused NCHW buffer, then ONE forward pass for all of them.

import Engine
import Vision

/// One classified face: where, the winning class, its probability, and every class's probability.
public struct FacePrediction: Sendable, Codable, Equatable {
    public var id: Int
    public var box: FaceBox
    public var label: String
    public var confidence: Float
    /// In the model's class order (`ModelInfo.classes`).
    public var probs: [Float]

    public init(id: Int, box: FaceBox, label: String, confidence: Float, probs: [Float]) {
        self.id = id
        self.box = box
        self.label = label
        self.confidence = confidence
        self.probs = probs
    }
}

/// Classifies the faces of a frame with a ResNet; all faces go through in one batch.
/// Not thread-safe (it reuses its input buffer): use one per pipeline stage.
public final class FaceClassifier {
    public let model: ResNet
    public let preprocessor: Preprocessor
    public var classes: [String] { model.info.classes }
    /// Average each face's probabilities with its mirror image's, as the model was validated
    /// (`tta_flip` in its metadata); costs a second image per face in the same forward pass.
    public var mirrorAverage: Bool
    private var input: [Float] = []  // (faces, 3, S, S), or (2 * faces, ...) with mirrors; grown, reused

    /// `margin`: border added around each box before cropping, as a fraction of its side
    /// (default: the one matching FER-2013's framing). `mirrorAverage` nil: as the model's
    /// metadata says (`tta_flip`).
    public init(model: ResNet, margin: Double = Preprocessor.ferMargin, mirrorAverage: Bool? = nil) {
        let info = model.info
        let mean = info.mean.count == 3 ? info.mean : [Float](repeating: info.mean.first ?? 0, count: 3)
        let std = info.std.count == 3 ? info.std : [Float](repeating: info.std.first ?? 1, count: 3)
        self.model = model
        self.mirrorAverage = mirrorAverage ?? (info.metadata["tta_flip"] == "true")
        preprocessor = Preprocessor(inputSize: info.inputSize, mean: mean, std: std, margin: margin)
    }

    /// Predictions for `faces`, in the same order.
    public func classify(_ frame: Frame, faces: [(id: Int, box: FaceBox)]) throws -> [FacePrediction] {
        guard !faces.isEmpty else { return [] }
        let per = preprocessor.floatsPerFace
        let n = faces.count, batch = mirrorAverage ? 2 * n : n
        if input.count < batch * per { input = [Float](repeating: 0, count: batch * per) }
        let side = preprocessor.inputSize
        input.withUnsafeMutableBufferPointer { buffer in
            for (i, face) in faces.enumerated() {
                preprocessor.write(frame, box: face.box, into: buffer, batchIndex: i)
                guard mirrorAverage else { continue }
                // Face i's mirror at slot n + i: every row reversed.
                for row in 0..<(3 * side) {
                    let src = i * per + row * side, dst = (n + i) * per + row * side
                    for x in 0..<side { buffer[dst + x] = buffer[src + side - 1 - x] }
                }
            }
        }
        let k = model.classCount
        let logits = try input.withUnsafeBufferPointer {
            try model.logits(UnsafeBufferPointer(rebasing: $0[0..<(batch * per)]), batch: batch)
        }
        var probs = softmax(logits, classes: k)
        if mirrorAverage {
            for j in 0..<(n * k) { probs[j] = (probs[j] + probs[n * k + j]) / 2 }
        }
        let names = classes
        return faces.enumerated().map { i, face in
            let p = Array(probs[(i * k)..<((i + 1) * k)])
            let best = p.indices.max { p[$0] < p[$1] }!
            return FacePrediction(id: face.id, box: face.box, label: best < names.count ? names[best] : "class\(best)",
                                  confidence: p[best], probs: p)
        }
    }

    /// The whole frame as one face (pre-cropped images such as FER-2013's 48x48 faces).
    public func classifyWhole(_ frame: Frame) throws -> FacePrediction {
        try classify(frame, faces: [(id: 0, box: FaceBox(x: 0, y: 0, width: frame.width, height: frame.height))])[0]
    }
}
