// The monitor's expression model: face crops → the model's normalised input → ResNet logits →
// softmax probabilities, split so preprocessing and the forward pass are timed as stages.

import Engine
import Vision

/// A ResNet from the Engine behind the pipeline's ExpressionModel seam, with the training
/// preprocessing (Vision's Preprocessor, as FaceClassifier uses it). Preprocess and forward are
/// each called from one stage queue only.
public final class ResNetExpressionModel: ExpressionModel, @unchecked Sendable {
    public let network: ResNet
    public let preprocessor: Preprocessor
    public var info: ModelInfo { network.info }

    /// `margin`: border added around each detected box before cropping (Preprocessor.ferMargin).
    public init(_ network: ResNet, margin: Double = Preprocessor.ferMargin) {
        self.network = network
        let info = network.info
        let mean = info.mean.count == 3 ? info.mean : [Float](repeating: info.mean.first ?? 0, count: 3)
        let std = info.std.count == 3 ? info.std : [Float](repeating: info.std.first ?? 1, count: 3)
        preprocessor = Preprocessor(inputSize: info.inputSize, mean: mean, std: std, margin: margin)
    }

    /// Loads a safetensors file.
    public convenience init(contentsOf path: String) throws {
        self.init(try ResNet(contentsOf: path))
    }

    /// The faces as one (faces, 3, S, S) tensor, each cropped and normalised as in training.
    public func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float] {
        for box in boxes {
            let b = preprocessor.cropBox(box, frameWidth: frame.width, frameHeight: frame.height)
            guard b.width > 0, b.height > 0 else {
                throw PipelineError("face box \(box) lies outside the \(frame.width)x\(frame.height) frame")
            }
        }
        var tensor = [Float](repeating: 0, count: boxes.count * preprocessor.floatsPerFace)
        tensor.withUnsafeMutableBufferPointer { buffer in
            for (i, box) in boxes.enumerated() {
                preprocessor.write(frame, box: box, into: buffer, batchIndex: i)
            }
        }
        return tensor
    }

    public func probabilities(_ input: [Float], batch: Int) throws -> [[Float]] {
        let classes = network.classCount
        let flat = softmax(try network.logits(input, batch: batch), classes: classes)
        return (0..<batch).map { Array(flat[($0 * classes)..<(($0 + 1) * classes)]) }
    }
}
