// The monitor's expression model: face crops → the model's normalised input → ResNet logits →
// softmax probabilities, split so preprocessing and the forward pass are timed as stages.

import Engine
import Vision

/// A ResNet from the Engine behind the pipeline's ExpressionModel seam.
public final class ResNetExpressionModel: ExpressionModel, @unchecked Sendable {
    public let network: ResNet
    public var info: ModelInfo { network.info }

    public init(_ network: ResNet) {
        self.network = network
    }

    /// Loads a safetensors file.
    public convenience init(contentsOf path: String) throws {
        self.init(try ResNet(contentsOf: path))
    }

    /// Each face: the box clipped to the frame, gray, resized to S x S (area averaging), scaled
    /// to [0, 1], normalised with the model's mean and std, and replicated to 3 channels (NCHW).
    public func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float] {
        let side = info.inputSize
        let plane = side * side
        var tensor = [Float](repeating: 0, count: boxes.count * 3 * plane)
        let mean = info.mean.count == 3 ? info.mean : [Float](repeating: info.mean.first ?? 0, count: 3)
        let std = info.std.count == 3 ? info.std : [Float](repeating: info.std.first ?? 1, count: 3)
        for (n, box) in boxes.enumerated() {
            guard let crop = DumpWriter.crop(frame, box) else {
                throw PipelineError("face box \(box) lies outside the \(frame.width)x\(frame.height) frame")
            }
            let gray = frame.channels == 1 ? crop.pixels : try OpenCV.bgrToGray(crop.pixels, width: crop.width, height: crop.height)
            let small = try OpenCV.resize(gray, width: crop.width, height: crop.height, channels: 1, toWidth: side,
                                          toHeight: side, interpolation: crop.width > side ? .area : .linear)
            for c in 0..<3 {
                let base = (n * 3 + c) * plane
                let m = mean[c], s = std[c]
                for i in 0..<plane { tensor[base + i] = (Float(small[i]) / 255 - m) / s }
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
