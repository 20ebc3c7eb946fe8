// torchvision's ResNet18/34/50 for inference: loads a state_dict from safetensors, folds batch-norm
// into the convolutions, and runs the forward pass on NHWC activations with the engine's kernels.
//
// Network (side S): conv1 7x7/2 + bn + relu (S/2) -> maxpool 3x3/2 (S/4) -> layer1..layer4
// (widths 64, 128, 256, 512, x4 for Bottleneck; layer2..4 halve the side) -> average pool -> fc.

import Foundation

/// One residual block, batch-norm folded: out = relu(convs(x) + (downsample(x) or x)).
struct ResidualBlock {
    /// BasicBlock: [3x3, 3x3]; Bottleneck: [1x1, 3x3, 1x1].
    let convs: [FoldedConv]
    let downsample: FoldedConv?
}

/// A torchvision ResNet18/34/50 ready to run: `logits` for a batch of normalised NCHW images.
public final class ResNet: @unchecked Sendable {
    /// What the weights file says about the model (arch, input size, classes, normalisation).
    public let info: ModelInfo
    /// How the kernels run (zero-skipping, Winograd, threads), fixed when the model is built.
    public let options: EngineOptions
    let architecture: ResNetArchitecture
    /// conv1 7x7/2 (3 -> 64) with bn1 folded.
    let stem: FoldedConv
    /// The same stem for a grayscale image in all three channels (fertui's faces: the models are
    /// trained on gray replicated to RGB): conv1's weights summed over the channels, 1 -> 64, a
    /// third of the stem's arithmetic and im2col. Equal to `stem` on such input up to float rounding.
    let grayStem: FoldedConv
    /// Whether `forward` takes `grayStem` for gray input (tests turn it off for a reference).
    var foldsGrayInput = true
    /// Whether the last forward took `grayStem`.
    private(set) var tookGrayStem = false
    let blocks: [ResidualBlock]
    /// (featureWidth, classes): fc.weight transposed for the GEMM.
    let fcWeight: [Float]
    /// (classes)
    let fcBias: [Float]
    public var classCount: Int { fcBias.count }

    /// The share of the convolution weights the engine keeps and multiplies: 1 for dense weights,
    /// less where whole filters and input channels are zero (see `LiveBlock`).
    public var keptWeightFraction: Double {
        let convs = [stem] + blocks.flatMap { $0.convs + ($0.downsample.map { [$0] } ?? []) }
        let full = convs.reduce(0) { $0 + $1.kernel * $1.kernel * $1.inC * $1.outC }
        let kept = convs.reduce(0) {
            $0 + ($1.live.map { $0.rows.count * $0.cols.count } ?? $1.kernel * $1.kernel * $1.inC * $1.outC)
        }
        return Double(kept) / Double(full)
    }

    /// Scratch reused by every forward; `lock` serialises callers because of it.
    let workspace = Workspace()
    private let lock = NSLock()

    /// Loads a torchvision state_dict from a safetensors file (fp16, bf16 or fp32), checking every
    /// tensor's name, shape and values (finite) and every `__metadata__` value (`ModelInfo`).
    public convenience init(contentsOf path: String, options: EngineOptions = EngineOptions()) throws {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(contentsOf: path)
        } catch let e as SafetensorsError {
            // The reader's message starts with the path; EngineError names it once.
            let problem = e.message.hasPrefix(path + ": ") ? String(e.message.dropFirst(path.count + 2)) : e.message
            throw EngineError(problem, source: path)
        }
        do {
            try self.init(file: file, options: options)
        } catch let e as EngineError {
            throw EngineError(e.problem, source: path)
        }
    }

    /// A model from an already parsed safetensors file, checked (`check`) before anything is built.
    convenience init(file: SafetensorsFile, options: EngineOptions = EngineOptions()) throws {
        let checked = try Self.check(file)
        try self.init(
            architecture: checked.architecture, info: checked.info, classes: checked.classes,
            options: options
        ) { name in try Self.floats(name, in: file) }
    }

    /// What a weights file holds once checked: its architecture, model facts and class count.
    struct CheckedFile {
        let architecture: ResNetArchitecture
        let info: ModelInfo
        let classes: Int
    }

    /// Checks everything a model is built from, and throws naming the first problem: the
    /// architecture, every tensor's name, shape and dtype, every `__metadata__` value, and every
    /// weight's value (finite; variances not negative).
    static func check(_ file: SafetensorsFile) throws -> CheckedFile {
        let archName = try file.metadata["arch"] ?? Self.inferArchitecture(file)
        let arch = try ResNetArchitecture.named(archName)
        guard let fc = file["fc.weight"] else { throw EngineError("missing fc.weight") }
        guard fc.shape.count == 2, fc.shape[0] >= 1 else {
            throw EngineError("fc.weight: expected [classes, \(arch.featureWidth)], got \(fc.shape)")
        }
        let classes = fc.shape[0]
        let expected = arch.expectedTensors(classes: classes)
        for (name, shape) in expected {
            guard let entry = file[name] else {
                throw EngineError("missing \(name)")
            }
            guard entry.shape == shape else {
                throw EngineError("\(name): expected \(shape), got \(entry.shape)")
            }
            guard entry.dtype.isFloat else {
                throw EngineError("\(name): dtype \(entry.dtype.rawValue), expected F16, BF16 or F32")
            }
        }
        let info = try ModelInfo(metadata: file.metadata, arch: arch.name, classCount: classes)
        for (name, _) in expected { try checkValues(try floats(name, in: file), of: name) }
        return CheckedFile(architecture: arch, info: info, classes: classes)
    }

    /// A tensor's values as fp32, the reader's error turned into the engine's.
    static func floats(_ name: String, in file: SafetensorsFile) throws -> [Float] {
        do {
            return try file.floats(name)
        } catch let e as SafetensorsError {
            // The reader's message starts with the file's name; the loader's EngineError names it once.
            let prefix = file.source + ": "
            throw EngineError(e.message.hasPrefix(prefix) ? String(e.message.dropFirst(prefix.count)) : e.message)
        }
    }

    /// Throws where a weight is NaN or infinite, or a batch-norm variance is negative: such a
    /// model would answer NaN for every face.
    static func checkValues(_ values: [Float], of name: String) throws {
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw EngineError(
                "tensor \(name) holds \(values[i]) at index \(i) (weights must be finite numbers); "
                    + "the file is corrupt or its training diverged: re-export it or use another model")
        }
        if name.hasSuffix(".running_var"), let i = values.firstIndex(where: { $0 < 0 }) {
            throw EngineError(
                "tensor \(name) holds \(values[i]) at index \(i) (a variance cannot be negative); "
                    + "the file is corrupt: re-export it or use another model")
        }
    }

    /// Deterministic pseudo-random weights (`SeededWeights`), for benchmarks and parity tests;
    /// `info.classes.count` sets the number of outputs. Traps on an unknown `arch`.
    public convenience init(arch: String, info: ModelInfo, seed: UInt64, options: EngineOptions = EngineOptions()) {
        guard let architecture = try? ResNetArchitecture.named(arch) else {
            preconditionFailure(
                "ResNet(arch:): unknown architecture '\(arch)'; expected one of \(ResNetArchitecture.known)")
        }
        let classes = max(1, info.classes.count)
        let shapes = Dictionary(
            uniqueKeysWithValues: architecture.expectedTensors(classes: classes).map { ($0.name, $0.shape) })
        var info = info
        info.arch = arch
        try! self.init(architecture: architecture, info: info, classes: classes, options: options) { name in
            let shape = shapes[name]!
            let r = SeededWeights.range(for: name, shape: shape)
            return SeededWeights.uniform(name, count: shape.reduce(1, *), lo: r.lo, hi: r.hi, seed: seed)
        }
    }

    /// Builds the network from `tensor(name)`, which returns a state_dict entry's fp32 values
    /// (shapes already checked).
    init(
        architecture: ResNetArchitecture, info: ModelInfo, classes: Int, options: EngineOptions,
        tensor: (String) throws -> [Float]
    ) throws {
        /// `c` with its batch-norm folded in; `weight` replaces the file's conv weight (same layout).
        func fold(_ c: ResNetArchitecture.ConvSpec, weight: [Float]? = nil) throws -> FoldedConv {
            FoldedConv(
                torchWeight: try weight ?? tensor("\(c.conv).weight"), outC: c.outC, inC: c.inC, kernel: c.kernel,
                stride: c.stride, pad: c.pad,
                gamma: try tensor("\(c.bn).weight"), beta: try tensor("\(c.bn).bias"),
                mean: try tensor("\(c.bn).running_mean"), variance: try tensor("\(c.bn).running_var"),
                skipZeros: options.skipZeros)
        }
        self.architecture = architecture
        self.info = info
        self.options = options
        let stemSpec = architecture.stem
        stem = try fold(stemSpec)
        // conv1 summed over its input channels: (outC, 1, k, k)
        let rgb = try tensor("\(stemSpec.conv).weight")
        let taps = stemSpec.kernel * stemSpec.kernel
        var gray = [Float](repeating: 0, count: stemSpec.outC * taps)
        for oc in 0..<stemSpec.outC {
            for c in 0..<stemSpec.inC {
                for t in 0..<taps { gray[oc * taps + t] += rgb[(oc * stemSpec.inC + c) * taps + t] }
            }
        }
        grayStem = try fold(
            ResNetArchitecture.ConvSpec(
                conv: stemSpec.conv, bn: stemSpec.bn, inC: 1, outC: stemSpec.outC, kernel: stemSpec.kernel,
                stride: stemSpec.stride, pad: stemSpec.pad), weight: gray)
        blocks = try architecture.blocks.map { spec in
            ResidualBlock(
                convs: try spec.convs.map { try fold($0) }, downsample: try spec.downsample.map { try fold($0) })
        }
        let features = architecture.featureWidth
        let w = try tensor("fc.weight")  // (classes, features)
        var t = [Float](repeating: 0, count: features * classes)
        for k in 0..<classes {
            for f in 0..<features { t[f * classes + k] = w[k * features + f] }
        }
        fcWeight = t
        fcBias = try tensor("fc.bias")
    }

    /// resnet50 has conv3 in its blocks; resnet34 has a sixth block in layer3.
    static func inferArchitecture(_ file: SafetensorsFile) throws -> String {
        if file["layer1.0.conv3.weight"] != nil { return "resnet50" }
        if file["layer3.5.conv1.weight"] != nil { return "resnet34" }
        if file["layer1.0.conv1.weight"] != nil { return "resnet18" }
        throw EngineError(
            "no `arch` in __metadata__ and the tensors are not a torchvision ResNet state_dict "
                + "(missing layer1.0.conv1.weight)"
        )
    }

    /// Logits for a batch. `input`: batch * 3 * S * S floats, NCHW, already normalised, S >= 32;
    /// returns batch * classes logits, row by row. Throws rather than return a logit that is NaN or
    /// infinite (from non-finite input, or weights that overflow).
    public func logits(_ input: UnsafeBufferPointer<Float>, batch: Int) throws -> [Float] {
        guard batch >= 1 else { throw EngineError("batch \(batch): expected at least 1 image") }
        guard input.count % (3 * batch) == 0 else {
            throw EngineError("input of \(input.count) floats is not batch \(batch) x 3 x S x S")
        }
        let plane = input.count / (3 * batch)
        let side = Int(Double(plane).squareRoot().rounded())
        guard side * side == plane else {
            throw EngineError(
                "input of \(input.count) floats is not batch \(batch) x 3 x S x S (S*S = \(plane) is not a square)")
        }
        guard side >= 32 else {
            throw EngineError("input side \(side) is too small: the engine needs S >= 32")
        }
        let classes = classCount
        let out = [Float](unsafeUninitializedCapacity: batch * classes) { out, initialized in
            lock.lock()
            defer { lock.unlock() }
            forward(input.baseAddress!, n: batch, side: side, logits: out.baseAddress!)
            initialized = batch * classes
        }
        try Self.checkFinite(out, classes: classes, what: "logit")
        return out
    }

    public func logits(_ input: [Float], batch: Int) throws -> [Float] {
        try input.withUnsafeBufferPointer { try logits($0, batch: batch) }
    }

    /// Class probabilities for a batch (softmax of `logits`), batch * classes, row by row; throws
    /// rather than return one that is not a finite number.
    public func probabilities(_ input: UnsafeBufferPointer<Float>, batch: Int) throws -> [Float] {
        let p = softmax(try logits(input, batch: batch), classes: classCount)
        try Self.checkFinite(p, classes: classCount, what: "probability")
        return p
    }

    public func probabilities(_ input: [Float], batch: Int) throws -> [Float] {
        try input.withUnsafeBufferPointer { try probabilities($0, batch: batch) }
    }

    /// Throws naming the first value of `values` (rows of `classes`) that is NaN or infinite.
    static func checkFinite(_ values: [Float], classes: Int, what: String) throws {
        guard let i = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw EngineError(
            "the model gave \(what) \(values[i]) for image \(i / classes), class \(i % classes): not a "
                + "finite number, so no prediction; check that the input holds finite values and the "
                + "weights file is sound")
    }

    /// Floats each activation buffer and the im2col scratch need for `n` images of side `side`.
    func scratchFloats(n: Int, side: Int) -> (activation: Int, columns: Int) {
        var act = n * side * side * 3
        var cols = max(
            stem.columnFloats(n: n, side: side, options: options),
            grayStem.columnFloats(n: n, side: side, options: options))
        var s = stem.outputSide(side)
        act = max(act, n * s * s * stem.outC)
        s = (s + 2 - 3) / 2 + 1
        act = max(act, n * s * s * stem.outC)
        for block in blocks {
            var inner = s
            for c in block.convs {
                cols = max(cols, c.columnFloats(n: n, side: inner, options: options))
                inner = c.outputSide(inner)
                act = max(act, n * inner * inner * c.outC)
            }
            if let d = block.downsample { cols = max(cols, d.columnFloats(n: n, side: s, options: options)) }
            s = inner
        }
        return (act, max(cols, 1))
    }

    /// logits (n, classes) for input (n, 3, side, side): the whole network, no allocation once the
    /// workspace has grown to this (n, side).
    private func forward(_ input: UnsafePointer<Float>, n: Int, side: Int, logits: UnsafeMutablePointer<Float>) {
        let need = scratchFloats(n: n, side: side)
        workspace.reserve(activation: need.activation, columns: need.columns, pooled: n * architecture.featureWidth)
        var x = workspace.x
        var y = workspace.y
        let t1 = workspace.t1
        let t2 = workspace.t2
        let d = workspace.d
        let col = workspace.columns

        let hw = side * side
        let bytes = hw * MemoryLayout<Float>.stride
        let gray =
            foldsGrayInput
            && (0..<n).allSatisfy { b in
                let r = input + b * 3 * hw
                return memcmp(r, r + hw, bytes) == 0 && memcmp(r, r + 2 * hw, bytes) == 0
            }
        // t1 (n, S/2, S/2, 64) = relu(bn1(conv1(t2))); x (n, S/4, S/4, 64) = maxpool(t1)
        var s: Int
        tookGrayStem = gray
        if gray {
            // t2 (n, side, side, 1) <- each image's first channel
            for b in 0..<n { (t2 + b * hw).update(from: input + b * 3 * hw, count: hw) }
            s = grayStem.forward(t2, n: n, side: side, output: t1, columns: col, relu: true, options: options)
        } else {
            // t2 (n, side, side, 3) <- input (n, 3, side, side)
            for b in 0..<n {
                for c in 0..<3 {
                    let src = input + (b * 3 + c) * hw
                    let dst = t2 + b * hw * 3 + c
                    for i in 0..<hw { dst[3 * i] = src[i] }
                }
            }
            s = stem.forward(t2, n: n, side: side, output: t1, columns: col, relu: true, options: options)
        }
        s = maxPool3x3s2(t1, n: n, side: s, c: stem.outC, output: x, options: options)

        for block in blocks {
            // The shortcut: x itself, or d (n, s', s', outC) = bn(conv1x1/stride(x)).
            var shortcut = UnsafePointer(x)
            if let ds = block.downsample {
                ds.forward(x, n: n, side: s, output: d, columns: col, relu: false, options: options)
                shortcut = UnsafePointer(d)
            }
            var inner = s
            var src = UnsafePointer(x)
            for (i, conv) in block.convs.enumerated() {
                let last = i == block.convs.count - 1
                // Intermediate results alternate t1, t2; the last conv adds the shortcut and applies ReLU into y.
                let dst = last ? y : (i % 2 == 0 ? t1 : t2)
                inner = conv.forward(
                    src, n: n, side: inner, output: dst, columns: col,
                    residual: last ? shortcut : nil, relu: true, options: options)
                src = UnsafePointer(dst)
            }
            s = inner
            swap(&x, &y)
        }

        // pooled (n, features) = mean over pixels of x; logits (n, classes) = pooled x fcWeight + fcBias
        let features = architecture.featureWidth
        let classes = classCount
        globalAveragePool(x, n: n, pixels: s * s, c: features, output: workspace.pooled)
        fcWeight.withUnsafeBufferPointer { w in
            sgemmSerial(
                m: n, n: classes, k: features, a: workspace.pooled, lda: features, b: w.baseAddress!,
                ldb: classes, c: logits, ldc: classes)
        }
        for b in 0..<n {
            for k in 0..<classes { logits[b * classes + k] += fcBias[k] }
        }
    }
}

/// Row-wise softmax of `logits` (rows of `classes` values), computed stably (max subtracted).
public func softmax(_ logits: [Float], classes: Int) -> [Float] {
    guard classes > 0 else { return [] }
    var out = logits
    var start = 0
    while start + classes <= out.count {
        let row = start..<(start + classes)
        let m = out[row].max()!
        var sum: Float = 0
        for i in row {
            out[i] = expf(out[i] - m)
            sum += out[i]
        }
        for i in row { out[i] /= sum }
        start += classes
    }
    return out
}
