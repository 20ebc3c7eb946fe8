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
    public let mirrorAverage: Bool
    /// Test-time views beyond the mirror (each also mirrored when mirror-averaging); their
    /// probabilities are averaged with the face's. By default the set the model's metadata names
    /// (`test_views`), else none (docs/RECOGNITION.md).
    public let extraViews: [TestView]
    private var input: [Float] = []  // view by view, each (faces, 3, S, S); grown, reused

    /// A test-time view of a face crop, in pixels of a 48 px crop (scaled to the model's input).
    public enum TestView: Equatable, Sendable, CustomStringConvertible {
        /// The content moved by (dx, dy), border pixels repeated.
        case shift(dx: Int, dy: Int)
        /// `p` pixels cut from every edge, the centre resized back (bilinear).
        case zoom(Int)

        public var description: String {
            switch self {
            case .shift(let dx, let dy): return "shift:\(dx),\(dy)"
            case .zoom(let p): return "zoom:\(p)"
            }
        }

        /// The named view sets of `--views`: mirror (none extra), shifts, zoom, all.
        public static let sets: [(name: String, views: [TestView])] = [
            ("mirror", []),
            ("shifts", [.shift(dx: 2, dy: 0), .shift(dx: -2, dy: 0), .shift(dx: 0, dy: 2), .shift(dx: 0, dy: -2)]),
            ("zoom", [.zoom(2)]),
            (
                "all",
                [.shift(dx: 2, dy: 0), .shift(dx: -2, dy: 0), .shift(dx: 0, dy: 2), .shift(dx: 0, dy: -2), .zoom(2)]
            ),
        ]

        /// The set called `name`, or nil.
        public static func set(named name: String) -> [TestView]? { sets.first { $0.name == name }?.views }

        /// The set a model runs with unless told otherwise: the one its metadata names
        /// (`test_views`, checked by the loader), else none beyond the mirror.
        public static func defaultSet(for info: ModelInfo) -> [TestView] {
            info.metadata["test_views"].flatMap { set(named: $0) } ?? []
        }
    }

    /// `margin`: border added around each box before cropping, as a fraction of its side
    /// (default: the one matching FER-2013's framing). `mirrorAverage` nil: as the model's
    /// metadata says (`tta_flip`); `extraViews` nil: the set its metadata names (`test_views`).
    public init(
        model: ResNet, margin: Double = Preprocessor.ferMargin, mirrorAverage: Bool? = nil,
        extraViews: [TestView]? = nil
    ) {
        let info = model.info  // the loader guarantees three values each for mean and std
        self.model = model
        let mirror = mirrorAverage ?? (info.metadata["tta_flip"] == "true")
        self.mirrorAverage = mirror
        let extraViews = extraViews ?? TestView.defaultSet(for: info)
        self.extraViews = extraViews
        preprocessor = Preprocessor(inputSize: info.inputSize, mean: info.mean, std: info.std, margin: margin)
        views = ([nil] + extraViews.map { $0 }).flatMap { v in mirror ? [(v, false), (v, true)] : [(v, false)] }
    }

    /// Every image a face is seen as, in input order: the face, its mirror, then each extra view
    /// and its mirror (without mirror-averaging, no mirrors).
    private let views: [(view: TestView?, mirrored: Bool)]

    /// Images per face.
    public var viewCount: Int { views.count }

    /// Floats of input per face: one image per view.
    public var floatsPerFace: Int { viewCount * preprocessor.floatsPerFace }

    /// First half of a classification (the pipeline's preprocess stage): the faces' crops as
    /// `faces.count * floatsPerFace` floats in `output`, view by view: all faces as they are, then
    /// all mirrored (every row reversed), then each extra view.
    public func write(_ frame: Frame, boxes: [FaceBox], into output: UnsafeMutableBufferPointer<Float>) {
        let per = preprocessor.floatsPerFace
        let n = boxes.count
        precondition(
            output.count >= n * floatsPerFace, "input buffer holds \(output.count) floats, need \(n * floatsPerFace)")
        for (i, box) in boxes.enumerated() {
            preprocessor.write(frame, box: box, into: output, batchIndex: i)
            for (v, view) in views.enumerated().dropFirst() {
                FaceClassifier.render(
                    view.view, mirrored: view.mirrored, side: preprocessor.inputSize, from: output, at: i * per,
                    to: (v * n + i) * per)
            }
        }
    }

    /// Writes image `src` (3 planes of side x side) seen through `view`, then mirrored if asked,
    /// at `dst`. View sizes are for a 48 px crop and scale with `side`.
    static func render(
        _ view: TestView?, mirrored: Bool, side: Int, from buffer: UnsafeMutableBufferPointer<Float>, at src: Int,
        to dst: Int
    ) {
        let unit = Double(side) / 48
        for plane in 0..<3 {
            let s = src + plane * side * side
            let d = dst + plane * side * side
            for y in 0..<side {
                for x in 0..<side {
                    let ox = mirrored ? side - 1 - x : x
                    let value: Float
                    switch view {
                    case nil:
                        value = buffer[s + y * side + x]
                    case .shift(let dx, let dy)?:
                        // Content moves by (dx, dy): output (y, x) shows input (y - dy, x - dx).
                        let sx = min(side - 1, max(0, x - Int((Double(dx) * unit).rounded())))
                        let sy = min(side - 1, max(0, y - Int((Double(dy) * unit).rounded())))
                        value = buffer[s + sy * side + sx]
                    case .zoom(let p)?:
                        // PyTorch's bilinear resize (align_corners false) of the centre back to side.
                        let cut = Int((Double(p) * unit).rounded())
                        let inner = side - 2 * cut
                        let ratio = Double(inner) / Double(side)
                        func tap(_ o: Int) -> (Int, Int, Float) {
                            let f = max(0, (Double(o) + 0.5) * ratio - 0.5)
                            let i0 = min(inner - 1, Int(f))
                            return (cut + i0, cut + min(inner - 1, i0 + 1), Float(f - Double(i0)))
                        }
                        let (x0, x1, wx) = tap(x)
                        let (y0, y1, wy) = tap(y)
                        let top = buffer[s + y0 * side + x0] * (1 - wx) + buffer[s + y0 * side + x1] * wx
                        let bottom = buffer[s + y1 * side + x0] * (1 - wx) + buffer[s + y1 * side + x1] * wx
                        value = top * (1 - wy) + bottom * wy
                    }
                    buffer[d + y * side + ox] = value
                }
            }
        }
    }

    /// Second half (the pipeline's forward stage): one probability vector per face, in the
    /// model's class order, from what `write` produced for `faces` faces.
    public func probabilities(_ input: UnsafeBufferPointer<Float>, faces n: Int) throws -> [[Float]] {
        guard n > 0 else { return [] }
        let batch = viewCount * n
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
        let views = viewCount
        return (0..<n).map { i in
            (0..<k).map { c in
                var sum: Float = 0
                for v in 0..<views { sum += probs[(v * n + i) * k + c] }
                return sum / Float(views)
            }
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
