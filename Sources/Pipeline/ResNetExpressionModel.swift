// The monitor's expression model: face crops → the model's normalised input → ResNet logits →
// softmax probabilities, split so preprocessing and the forward pass are timed as stages.

import Engine
import Vision

/// A ResNet from the Engine behind the pipeline's ExpressionModel seam: FaceClassifier's two
/// halves (training preprocessing, mirror averaging as the model was validated, one batched
/// forward). Preprocess and forward are each called from one stage queue only.
public final class ResNetExpressionModel: ExpressionModel, @unchecked Sendable {
    public let network: ResNet
    public let classifier: FaceClassifier
    public var info: ModelInfo { network.info }

    /// `margin`: border added around each detected box before cropping (Preprocessor.ferMargin);
    /// `views`: test-time views beyond the mirror (nil: the set the file's metadata names).
    public init(_ network: ResNet, margin: Double = Preprocessor.ferMargin, views: [FaceClassifier.TestView]? = nil) {
        self.network = network
        classifier = FaceClassifier(model: network, margin: margin, extraViews: views)
    }

    /// Loads a safetensors file.
    public convenience init(contentsOf path: String) throws {
        self.init(try ResNet(contentsOf: path))
    }

    /// The faces as one tensor, each cropped and normalised as in training (a new array: it
    /// crosses from the preprocess queue to the forward queue).
    public func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float] {
        for box in boxes {
            let b = classifier.preprocessor.cropBox(box, frameWidth: frame.width, frameHeight: frame.height)
            guard b.width > 0, b.height > 0 else {
                throw PipelineError("face box \(box) lies outside the \(frame.width)x\(frame.height) frame")
            }
        }
        var tensor = [Float](repeating: 0, count: boxes.count * classifier.floatsPerFace)
        tensor.withUnsafeMutableBufferPointer { classifier.write(frame, boxes: boxes, into: $0) }
        return tensor
    }

    public func probabilities(_ input: [Float], batch: Int) throws -> [[Float]] {
        try input.withUnsafeBufferPointer { try classifier.probabilities($0, faces: batch) }
    }
}
