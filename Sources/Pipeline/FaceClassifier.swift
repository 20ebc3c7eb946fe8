// Faces of a frame to expression probabilities: every face preprocessed as in training
// (Vision's Preprocessor) into one reused NCHW buffer, then ONE forward pass for all of them.

import Engine
import Vision

/// Classifies the faces of a frame with a ResNet; all faces go through in one batch.
/// Not thread-safe (it reuses its input buffer): use one per pipeline stage.
public final class FaceClassifier {
    public let model: ResNet
    public let preprocessor: Preprocessor
    public var classes: [String] { model.info.classes }
    /// Average each face's probabilities with its mirror image's, as the model was validated
    /// (`tta_flip` in its metadata); costs a second image per face in the same forward pass.
    public var mirrorAverage: Bool
    private var input: [Float] = []  // (faces, 3, S, S), then the mirrors when averaging; grown, reused

    /// `margin`: border added around each box before cropping, as a fraction of its side
    /// (default: the one matching FER-2013's framing). `mirrorAverage` nil: as the model's
    /// metadata says (`tta_flip`).
    public init(model: ResNet, margin: Double = Preprocessor.ferMargin, mirrorAverage: Bool? = nil) {
        let info = model.info  // the loader guarantees three values each for mean and std
        self.model = model
        self.mirrorAverage = mirrorAverage ?? (info.metadata["tta_flip"] == "true")
        preprocessor = Preprocessor(inputSize: info.inputSize, mean: info.mean, std: info.std, margin: margin)
    }

    /// Floats of input per face: one image, or the image and its mirror when mirror-averaging.
    public var floatsPerFace: Int { (mirrorAverage ? 2 : 1) * preprocessor.floatsPerFace }

    /// First half of a classification (the pipeline's preprocess stage): the faces' crops as
    /// `faces.count * floatsPerFace` floats in `output`, mirrors (every row reversed) after the
    /// originals when mirror-averaging.
    public func write(_ frame: Frame, boxes: [FaceBox], into output: UnsafeMutableBufferPointer<Float>) {
        let per = preprocessor.floatsPerFace
        let side = preprocessor.inputSize
        let n = boxes.count
        precondition(
            output.count >= n * floatsPerFace, "input buffer holds \(output.count) floats, need \(n * floatsPerFace)")
        for (i, box) in boxes.enumerated() {
            preprocessor.write(frame, box: box, into: output, batchIndex: i)
            guard mirrorAverage else { continue }
            for row in 0..<(3 * side) {
                let src = i * per + row * side
                let dst = (n + i) * per + row * side
                for x in 0..<side { output[dst + x] = output[src + side - 1 - x] }
            }
        }
    }

    /// Second half (the pipeline's forward stage): one probability vector per face, in the
    /// model's class order, from what `write` produced for `faces` faces.
    public func probabilities(_ input: UnsafeBufferPointer<Float>, faces n: Int) throws -> [[Float]] {
        guard n > 0 else { return [] }
        let batch = mirrorAverage ? 2 * n : n
        let k = model.classCount
        var logits = try model.logits(
            UnsafeBufferPointer(rebasing: input[0..<(batch * preprocessor.floatsPerFace)]),
            batch: batch)
        // Calibrated: each view's logits over the model's temperature, times its class scale, plus
        // its class bias; softmax; then the views' average (what Training/calibrate.py fits).
        let info = model.info
        let scale = info.classScale ?? [Float](repeating: 1, count: k)
        let bias = info.classBias ?? [Float](repeating: 0, count: k)
        guard scale.count == k, bias.count == k else {
            throw PipelineError(
                "the model's calibration has \(scale.count) scales and \(bias.count) biases for \(k) classes: "
                    + "reload its file")
        }
        if info.temperature != 1 || info.classScale != nil || info.classBias != nil {
            for row in 0..<batch {
                for c in 0..<k { logits[row * k + c] = logits[row * k + c] / info.temperature * scale[c] + bias[c] }
            }
        }
        let probs = softmax(logits, classes: k)
        return (0..<n).map { i in
            (0..<k).map { c in mirrorAverage ? (probs[i * k + c] + probs[(n + i) * k + c]) / 2 : probs[i * k + c] }
        }
    }

    /// Predictions for `faces`, in the same order: all of them in one forward pass.
    public func classify(_ frame: Frame, faces: [(id: Int, box: FaceBox)]) throws -> [FaceReading] {
        let n = faces.count
        if input.count < n * floatsPerFace { input = [Float](repeating: 0, count: n * floatsPerFace) }
        input.withUnsafeMutableBufferPointer { write(frame, boxes: faces.map(\.box), into: $0) }
        let probs = try input.withUnsafeBufferPointer { try probabilities($0, faces: n) }
        return zip(faces, probs).map { FaceReading(id: $0.id, box: $0.box, probabilities: $1, classes: classes) }
    }
}
