// The paper's preprocessing, from a face box in a frame to the model's input tensor:
// crop (with margin) -> gray -> 48x48 (FER-2013's format) -> model input size -> [0,1] ->
// normalise with the model's mean/std -> 3 channels, written into a caller's NCHW buffer.
// Resizing is torchvision's antialiased bilinear (`Resize(antialias=True)` on a tensor), which
// when enlarging equals the trainer's F.interpolate(bilinear, align_corners=False); the test
// checks both against a PyTorch fixture (Training/make_preprocess_fixtures.py).

/// Turns face crops into model input, without allocating per face.
public final class Preprocessor {
    /// FER-2013's image side: every crop passes through this size, as in training.
    public static let faceSide = 48
    /// Margin that turns a Haar cascade box into FER-2013's framing: on all of `val` composited
    /// into larger scenes the cascade's box has a median side of 0.958 of the FER crop, so each
    /// edge grows by (1 / 0.958 - 1) / 2 = 0.022 of the box (Training/measure_crop.py;
    /// docs/RECOGNITION.md, section 5). DetectionTests checks the ratio on its own composites.
    public static let ferMargin = 0.022
    /// The model's square input side.
    public let inputSize: Int
    /// Per-channel mean and std applied after scaling to [0, 1] (3 values each).
    public let mean: [Float]
    public let std: [Float]
    /// Extra border around a detector's box, as a fraction of its side on each edge.
    public var margin: Double

    /// Floats one face takes in the NCHW buffer: 3 * inputSize * inputSize.
    public var floatsPerFace: Int { 3 * inputSize * inputSize }

    // Scratch, grown to the largest crop seen and then reused.
    private var crop: [Float] = []  // (ch, cw) gray in [0, 1]
    private var rows: [Float] = []  // (ch, 48) after the horizontal pass
    private var face: [Float] = []  // (48, 48)
    private var rowsUp: [Float] = []  // (48, s), s = inputSize
    private var faceUp: [Float] = []  // (s, s)
    private var hTaps = ResampleTaps(), vTaps = ResampleTaps()

    /// The values come from a model's checked metadata (the engine's `ModelInfo` refuses a file
    /// whose input size, mean or std is out of range), so a bad value here is a programming error.
    public init(inputSize: Int, mean: [Float], std: [Float], margin: Double = 0) {
        precondition(inputSize > 0, "input size must be positive, not \(inputSize)")
        precondition(
            mean.count == 3 && std.count == 3 && mean.allSatisfy(\.isFinite)
                && std.allSatisfy { $0.isFinite && $0 > 0 },
            "mean and std need 3 finite values each (std above 0), got \(mean) and \(std)")
        self.inputSize = inputSize
        self.mean = mean
        self.std = std
        self.margin = margin
    }

    /// The box grown by `margin` on each side and clipped to the frame.
    public func cropBox(_ box: FaceBox, frameWidth: Int, frameHeight: Int) -> FaceBox {
        let dx = Int((Double(box.width) * margin).rounded())
        let dy = Int((Double(box.height) * margin).rounded())
        let x0 = max(0, box.x - dx)
        let y0 = max(0, box.y - dy)
        let x1 = min(frameWidth, box.x + box.width + dx)
        let y1 = min(frameHeight, box.y + box.height + dy)
        return FaceBox(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }

    /// Writes the face in `box` (margin applied) as one (3, inputSize, inputSize) tensor at `batchIndex` of `output`.
    public func write(_ frame: Frame, box: FaceBox, into output: UnsafeMutableBufferPointer<Float>, batchIndex: Int) {
        let b = cropBox(box, frameWidth: frame.width, frameHeight: frame.height)
        precondition(
            b.width > 0 && b.height > 0, "face box \(box) lies outside the \(frame.width)x\(frame.height) frame")
        writeCrop(frame, box: b, into: output, batchIndex: batchIndex)
    }

    /// Like `write` but with `box` used exactly (no margin); the box must lie inside the frame.
    public func writeCrop(
        _ frame: Frame, box b: FaceBox, into output: UnsafeMutableBufferPointer<Float>, batchIndex: Int
    ) {
        precondition(
            b.x >= 0 && b.y >= 0 && b.width > 0 && b.height > 0 && b.x + b.width <= frame.width
                && b.y + b.height <= frame.height, "crop \(b) is not inside the \(frame.width)x\(frame.height) frame")
        let s = inputSize
        let n = Preprocessor.faceSide
        precondition(
            output.count >= (batchIndex + 1) * floatsPerFace,
            "input buffer holds \(output.count) floats, face \(batchIndex) needs \((batchIndex + 1) * floatsPerFace)")
        let cw = b.width
        let ch = b.height
        Preprocessor.grow(&crop, cw * ch)
        // Gray as OpenCV's BGR2GRAY (Frame.luma), then ToTensor's /255.
        frame.pixels.withUnsafeBufferPointer { px in
            let c = frame.channels
            for y in 0..<ch {
                let row = ((b.y + y) * frame.width + b.x) * c
                for x in 0..<cw {
                    let i = row + x * c
                    let g = c == 1 ? px[i] : Frame.luma(b: px[i], g: px[i + 1], r: px[i + 2])
                    crop[y * cw + x] = Float(g) / 255
                }
            }
        }
        // Crop -> 48x48, then 48x48 -> s x s when the model wants another size.
        Preprocessor.grow(&rows, ch * n)
        Preprocessor.grow(&face, n * n)
        resize(crop, width: cw, height: ch, via: &rows, to: &face, outWidth: n, outHeight: n)
        var source = face
        if s != n {
            Preprocessor.grow(&rowsUp, n * s)
            Preprocessor.grow(&faceUp, s * s)
            resize(face, width: n, height: n, via: &rowsUp, to: &faceUp, outWidth: s, outHeight: s)
            source = faceUp
        }
        // Normalise into the 3 channels of this face's (3, s, s) slot.
        let base = batchIndex * floatsPerFace
        source.withUnsafeBufferPointer { src in
            for c in 0..<3 {
                let m = mean[c]
                let inv = 1 / std[c]
                let out = base + c * s * s
                for i in 0..<(s * s) { output[out + i] = (src[i] - m) * inv }
            }
        }
    }

    /// The tensor for one face as a new array (tests, tools); the pipeline uses `write`.
    public func tensor(_ frame: Frame, box: FaceBox) -> [Float] {
        var out = [Float](repeating: 0, count: floatsPerFace)
        out.withUnsafeMutableBufferPointer { write(frame, box: box, into: $0, batchIndex: 0) }
        return out
    }

    private static func grow(_ a: inout [Float], _ n: Int) {
        if a.count < n { a = [Float](repeating: 0, count: n) }
    }

    /// Separable antialiased bilinear: rows first (width -> outWidth), then columns.
    private func resize(
        _ src: [Float], width: Int, height: Int, via tmp: inout [Float], to dst: inout [Float],
        outWidth: Int, outHeight: Int
    ) {
        hTaps.compute(input: width, output: outWidth)
        vTaps.compute(input: height, output: outHeight)
        // Horizontal: (height, width) -> (height, outWidth)
        for y in 0..<height {
            for x in 0..<outWidth {
                let start = hTaps.start[x]
                let k = x * hTaps.stride
                var acc: Float = 0
                for j in 0..<hTaps.count[x] { acc += src[y * width + start + j] * hTaps.weight[k + j] }
                tmp[y * outWidth + x] = acc
            }
        }
        // Vertical: (height, outWidth) -> (outHeight, outWidth)
        for y in 0..<outHeight {
            let start = vTaps.start[y]
            let k = y * vTaps.stride
            for x in 0..<outWidth {
                var acc: Float = 0
                for j in 0..<vTaps.count[y] { acc += tmp[(start + j) * outWidth + x] * vTaps.weight[k + j] }
                dst[y * outWidth + x] = acc
            }
        }
    }
}

/// Which input pixels (and weights) make each output pixel of a 1-D antialiased bilinear resize,
/// computed as ATen's `_upsample_bilinear2d_aa` does: a triangle filter widened by the scale when
/// shrinking (so every input pixel counts), the plain 2-tap bilinear when enlarging.
struct ResampleTaps {
    var start: [Int] = []
    var count: [Int] = []
    var weight: [Float] = []  // (output, stride)
    var stride = 0
    private var input = -1, output = -1

    mutating func compute(input: Int, output: Int) {
        if input == self.input && output == self.output { return }
        self.input = input
        self.output = output
        let scale = Double(input) / Double(output)
        let support = scale >= 1 ? scale : 1  // bilinear: half-width 1, times the scale when shrinking
        let invScale = scale >= 1 ? 1 / scale : 1
        stride = Int(support.rounded(.up)) * 2 + 1
        if start.count < output {
            start = [Int](repeating: 0, count: output)
            count = start
        }
        if weight.count < output * stride { weight = [Float](repeating: 0, count: output * stride) }
        for i in 0..<output {
            let center = scale * (Double(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), input) - lo
            var total = 0.0
            for j in 0..<n { total += max(0, 1 - abs((Double(j + lo) - center + 0.5) * invScale)) }
            start[i] = lo
            count[i] = n
            for j in 0..<n {
                let w = max(0, 1 - abs((Double(j + lo) - center + 0.5) * invScale))
                weight[i * stride + j] = Float(total > 0 ? w / total : 0)
            }
        }
    }
}
