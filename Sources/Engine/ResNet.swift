// torchvision's ResNet18/34/50 for inference: loads a state_dict from safetensors, folds batch-norm
// into the convolutions, and runs the forward pass on NHWC activations with cblas_sgemm.
//
// Network (side S): conv1 7x7/2 + bn + relu (S/2) -> maxpool 3x3/2 (S/4) -> layer1..layer4
// (widths 64, 128, 256, 512, x4 for Bottleneck; layer2..4 halve the side) -> average pool -> fc.

import COpenBLAS
import Foundation

/// A model file or request the engine cannot use: says what is wrong and what to do.
public struct EngineError: Error, CustomStringConvertible, Equatable {
    /// The problem alone ("missing layer3.1.conv2.weight"), for tests and short messages.
    public let problem: String
    /// Where it happened (a file path), when there is one.
    public let source: String?
    public init(_ problem: String, source: String? = nil) {
        self.problem = problem
        self.source = source
    }
    public var description: String {
        source.map { "cannot load model \($0): \(problem)" } ?? problem
    }
}

/// Which torchvision ResNet: block type and blocks per stage.
struct ResNetArchitecture {
    let name: String
    let bottleneck: Bool
    let blocksPerStage: [Int]
    var expansion: Int { bottleneck ? 4 : 1 }
    var featureWidth: Int { 512 * expansion }

    static let known = ["resnet18", "resnet34", "resnet50"]

    static func named(_ name: String) throws -> ResNetArchitecture {
        switch name {
        case "resnet18": return ResNetArchitecture(name: name, bottleneck: false, blocksPerStage: [2, 2, 2, 2])
        case "resnet34": return ResNetArchitecture(name: name, bottleneck: false, blocksPerStage: [3, 4, 6, 3])
        case "resnet50": return ResNetArchitecture(name: name, bottleneck: true, blocksPerStage: [3, 4, 6, 3])
        default:
            throw EngineError("unknown architecture '\(name)'; expected one of \(known.joined(separator: ", "))")
        }
    }

    /// One convolution of the network with the batch-norm that follows it, by state_dict prefix.
    struct ConvSpec {
        let conv: String  // e.g. "layer2.0.conv1"
        let bn: String    // e.g. "layer2.0.bn1"
        let inC: Int, outC: Int, kernel: Int, stride: Int, pad: Int
    }

    /// The blocks in forward order: their convolutions (2 or 3) and optional downsample.
    struct BlockSpec {
        let convs: [ConvSpec]
        let downsample: ConvSpec?
    }

    var stem: ConvSpec { ConvSpec(conv: "conv1", bn: "bn1", inC: 3, outC: 64, kernel: 7, stride: 2, pad: 3) }

    var blocks: [BlockSpec] {
        var result: [BlockSpec] = []
        var inC = 64
        for (stage, count) in blocksPerStage.enumerated() {
            let width = 64 << stage
            let outC = width * expansion
            for b in 0..<count {
                let p = "layer\(stage + 1).\(b)"
                let stride = (stage > 0 && b == 0) ? 2 : 1
                var convs: [ConvSpec]
                if bottleneck {
                    // torchvision v1.5: the stride sits on the 3x3 convolution.
                    convs = [
                        ConvSpec(conv: "\(p).conv1", bn: "\(p).bn1", inC: inC, outC: width, kernel: 1, stride: 1, pad: 0),
                        ConvSpec(conv: "\(p).conv2", bn: "\(p).bn2", inC: width, outC: width, kernel: 3, stride: stride, pad: 1),
                        ConvSpec(conv: "\(p).conv3", bn: "\(p).bn3", inC: width, outC: outC, kernel: 1, stride: 1, pad: 0),
                    ]
                } else {
                    convs = [
                        ConvSpec(conv: "\(p).conv1", bn: "\(p).bn1", inC: inC, outC: width, kernel: 3, stride: stride, pad: 1),
                        ConvSpec(conv: "\(p).conv2", bn: "\(p).bn2", inC: width, outC: width, kernel: 3, stride: 1, pad: 1),
                    ]
                }
                let downsample = (stride != 1 || inC != outC)
                    ? ConvSpec(conv: "\(p).downsample.0", bn: "\(p).downsample.1", inC: inC, outC: outC, kernel: 1, stride: stride, pad: 0)
                    : nil
                result.append(BlockSpec(convs: convs, downsample: downsample))
                inC = outC
            }
        }
        return result
    }

    /// Every float tensor of the torchvision state_dict with its shape, in state_dict order
    /// (BatchNorm's integer `num_batches_tracked` is not needed and not listed).
    func expectedTensors(classes: Int) -> [(name: String, shape: [Int])] {
        func convAndBN(_ c: ConvSpec) -> [(String, [Int])] {
            [("\(c.conv).weight", [c.outC, c.inC, c.kernel, c.kernel])]
                + ["weight", "bias", "running_mean", "running_var"].map { ("\(c.bn).\($0)", [c.outC]) }
        }
        var list = convAndBN(stem)
        for block in blocks {
            for c in block.convs { list += convAndBN(c) }
            if let d = block.downsample { list += convAndBN(d) }
        }
        list.append(("fc.weight", [classes, featureWidth]))
        list.append(("fc.bias", [classes]))
        return list
    }
}

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
        let kept = convs.reduce(0) { $0 + ($1.live.map { $0.rows.count * $0.cols.count } ?? $1.kernel * $1.kernel * $1.inC * $1.outC) }
        return Double(kept) / Double(full)
    }

    /// Scratch reused by every forward; `lock` serialises callers because of it.
    let workspace = Workspace()
    private let lock = NSLock()

    /// Loads a torchvision state_dict from a safetensors file (fp16, bf16 or fp32), checking every
    /// tensor's name and shape; model facts come from `__metadata__`.
    public convenience init(contentsOf path: String) throws {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(contentsOf: path)
        } catch let e as SafetensorsError {
            // The reader's message starts with the path; EngineError names it once.
            let problem = e.message.hasPrefix(path + ": ") ? String(e.message.dropFirst(path.count + 2)) : e.message
            throw EngineError(problem, source: path)
        }
        do {
            try self.init(file: file)
        } catch let e as EngineError {
            throw EngineError(e.problem, source: path)
        }
    }

    /// A model from an already parsed safetensors file.
    convenience init(file: SafetensorsFile) throws {
        let archName = try file.metadata["arch"] ?? Self.inferArchitecture(file)
        let arch = try ResNetArchitecture.named(archName)
        guard let fc = file["fc.weight"] else { throw EngineError("missing fc.weight") }
        guard fc.shape.count == 2, fc.shape[0] >= 1 else {
            throw EngineError("fc.weight: expected [classes, \(arch.featureWidth)], got \(fc.shape)")
        }
        let classes = fc.shape[0]
        for (name, shape) in arch.expectedTensors(classes: classes) {
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
        try self.init(architecture: arch, info: info, classes: classes) { name in
            do {
                return try file.floats(name)
            } catch let e as SafetensorsError {
                throw EngineError(e.message)
            }
        }
    }

    /// Deterministic pseudo-random weights (`SeededWeights`), for benchmarks and parity tests;
    /// `info.classes.count` sets the number of outputs. Traps on an unknown `arch`.
    public convenience init(arch: String, info: ModelInfo, seed: UInt64) {
        guard let architecture = try? ResNetArchitecture.named(arch) else {
            preconditionFailure("ResNet(arch:): unknown architecture '\(arch)'; expected one of \(ResNetArchitecture.known)")
        }
        let classes = max(1, info.classes.count)
        let shapes = Dictionary(uniqueKeysWithValues: architecture.expectedTensors(classes: classes).map { ($0.name, $0.shape) })
        var info = info
        info.arch = arch
        try! self.init(architecture: architecture, info: info, classes: classes) { name in
            let shape = shapes[name]!
            let r = SeededWeights.range(for: name, shape: shape)
            return SeededWeights.uniform(name, count: shape.reduce(1, *), lo: r.lo, hi: r.hi, seed: seed)
        }
    }

    /// Builds the network from `tensor(name)`, which returns a state_dict entry's fp32 values
    /// (shapes already checked).
    init(architecture: ResNetArchitecture, info: ModelInfo, classes: Int, tensor: (String) throws -> [Float]) throws {
        /// `c` with its batch-norm folded in; `weight` replaces the file's conv weight (same layout).
        func fold(_ c: ResNetArchitecture.ConvSpec, weight: [Float]? = nil) throws -> FoldedConv {
            FoldedConv(torchWeight: try weight ?? tensor("\(c.conv).weight"), outC: c.outC, inC: c.inC, kernel: c.kernel,
                       stride: c.stride, pad: c.pad,
                       gamma: try tensor("\(c.bn).weight"), beta: try tensor("\(c.bn).bias"),
                       mean: try tensor("\(c.bn).running_mean"), variance: try tensor("\(c.bn).running_var"))
        }
        self.architecture = architecture
        self.info = info
        let stemSpec = architecture.stem
        stem = try fold(stemSpec)
        // conv1 summed over its input channels: (outC, 1, k, k)
        let rgb = try tensor("\(stemSpec.conv).weight"), taps = stemSpec.kernel * stemSpec.kernel
        var gray = [Float](repeating: 0, count: stemSpec.outC * taps)
        for oc in 0..<stemSpec.outC {
            for c in 0..<stemSpec.inC {
                for t in 0..<taps { gray[oc * taps + t] += rgb[(oc * stemSpec.inC + c) * taps + t] }
            }
        }
        grayStem = try fold(ResNetArchitecture.ConvSpec(conv: stemSpec.conv, bn: stemSpec.bn, inC: 1, outC: stemSpec.outC, kernel: stemSpec.kernel,
                                                        stride: stemSpec.stride, pad: stemSpec.pad), weight: gray)
        blocks = try architecture.blocks.map { spec in
            ResidualBlock(convs: try spec.convs.map { try fold($0) }, downsample: try spec.downsample.map { try fold($0) })
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
        throw EngineError("no `arch` in __metadata__ and the tensors are not a torchvision ResNet state_dict (missing layer1.0.conv1.weight)")
    }

    /// Logits for a batch. `input`: batch * 3 * S * S floats, NCHW, already normalised, S >= 32;
    /// returns batch * classes logits, row by row.
    public func logits(_ input: UnsafeBufferPointer<Float>, batch: Int) throws -> [Float] {
        guard batch >= 1 else { throw EngineError("batch \(batch): expected at least 1 image") }
        guard input.count % (3 * batch) == 0 else {
            throw EngineError("input of \(input.count) floats is not batch \(batch) x 3 x S x S")
        }
        let plane = input.count / (3 * batch)
        let side = Int(Double(plane).squareRoot().rounded())
        guard side * side == plane else {
            throw EngineError("input of \(input.count) floats is not batch \(batch) x 3 x S x S (S*S = \(plane) is not a square)")
        }
        guard side >= 32 else {
            throw EngineError("input side \(side) is too small: the engine needs S >= 32")
        }
        let classes = classCount
        return try [Float](unsafeUninitializedCapacity: batch * classes) { out, initialized in
            lock.lock()
            defer { lock.unlock() }
            try forward(input.baseAddress!, n: batch, side: side, logits: out.baseAddress!)
            initialized = batch * classes
        }
    }

    public func logits(_ input: [Float], batch: Int) throws -> [Float] {
        try input.withUnsafeBufferPointer { try logits($0, batch: batch) }
    }

    /// Floats each activation buffer and the im2col scratch need for `n` images of side `side`.
    func scratchFloats(n: Int, side: Int) -> (activation: Int, columns: Int) {
        var act = n * side * side * 3
        var cols = stem.columnFloats(n: n, side: side)
        var s = stem.outputSide(side)
        act = max(act, n * s * s * stem.outC)
        s = (s + 2 - 3) / 2 + 1
        act = max(act, n * s * s * stem.outC)
        for block in blocks {
            var inner = s
            for c in block.convs {
                cols = max(cols, c.columnFloats(n: n, side: inner))
                inner = c.outputSide(inner)
                act = max(act, n * inner * inner * c.outC)
            }
            if let d = block.downsample { cols = max(cols, d.columnFloats(n: n, side: s)) }
            s = inner
        }
        return (act, max(cols, 1))
    }

    /// logits (n, classes) for input (n, 3, side, side): the whole network, no allocation once the
    /// workspace has grown to this (n, side).
    private func forward(_ input: UnsafePointer<Float>, n: Int, side: Int, logits: UnsafeMutablePointer<Float>) throws {
        let need = scratchFloats(n: n, side: side)
        workspace.reserve(activation: need.activation, columns: need.columns, pooled: n * architecture.featureWidth)
        var x = workspace.x, y = workspace.y
        let t1 = workspace.t1, t2 = workspace.t2, d = workspace.d, col = workspace.columns

        let hw = side * side
        let bytes = hw * MemoryLayout<Float>.stride
        let gray = foldsGrayInput && (0..<n).allSatisfy { b in
            let r = input + b * 3 * hw
            return memcmp(r, r + hw, bytes) == 0 && memcmp(r, r + 2 * hw, bytes) == 0
        }
        // t1 (n, S/2, S/2, 64) = relu(bn1(conv1(t2))); x (n, S/4, S/4, 64) = maxpool(t1)
        var s: Int
        tookGrayStem = gray
        if gray {
            // t2 (n, side, side, 1) <- each image's first channel
            for b in 0..<n { (t2 + b * hw).update(from: input + b * 3 * hw, count: hw) }
            s = grayStem.forward(t2, n: n, side: side, output: t1, columns: col, relu: true)
        } else {
            // t2 (n, side, side, 3) <- input (n, 3, side, side)
            for b in 0..<n {
                for c in 0..<3 {
                    let src = input + (b * 3 + c) * hw
                    let dst = t2 + b * hw * 3 + c
                    for i in 0..<hw { dst[3 * i] = src[i] }
                }
            }
            s = stem.forward(t2, n: n, side: side, output: t1, columns: col, relu: true)
        }
        s = maxPool3x3s2(t1, n: n, side: s, c: stem.outC, output: x)

        for block in blocks {
            // The shortcut: x itself, or d (n, s', s', outC) = bn(conv1x1/stride(x)).
            var shortcut = UnsafePointer(x)
            if let ds = block.downsample {
                ds.forward(x, n: n, side: s, output: d, columns: col, relu: false)
                shortcut = UnsafePointer(d)
            }
            var inner = s
            var src = UnsafePointer(x)
            for (i, conv) in block.convs.enumerated() {
                let last = i == block.convs.count - 1
                // Intermediate results alternate t1, t2; the last conv adds the shortcut and applies ReLU into y.
                let dst = last ? y : (i % 2 == 0 ? t1 : t2)
                inner = conv.forward(src, n: n, side: inner, output: dst, columns: col,
                                     residual: last ? shortcut : nil, relu: true)
                src = UnsafePointer(dst)
            }
            s = inner
            swap(&x, &y)
        }

        // pooled (n, features) = mean over pixels of x; logits (n, classes) = pooled x fcWeight + fcBias
        let features = architecture.featureWidth, classes = classCount
        globalAveragePool(x, n: n, pixels: s * s, c: features, output: workspace.pooled)
        fcWeight.withUnsafeBufferPointer { w in
            sgemmSerial(m: n, n: classes, k: features, a: workspace.pooled, lda: features, b: w.baseAddress!,
                        ldb: classes, c: logits, ldc: classes)
        }
        for b in 0..<n {
            for k in 0..<classes { logits[b * classes + k] += fcBias[k] }
        }
    }
}

/// The forward pass's scratch: five activation buffers, the im2col matrix and the pooled features.
/// Buffers only grow, so after the largest (batch, side) seen a forward allocates nothing.
final class Workspace {
    private(set) var activationCapacity = 0, columnCapacity = 0, pooledCapacity = 0
    /// Each (n, h, w, c) NHWC, at most `activationCapacity` floats: block input/output ping-pong (x, y),
    /// inner results (t1, t2), downsampled shortcut (d).
    private(set) var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var y = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var t1 = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var t2 = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var d = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// (n*oh*ow, k*k*inC) im2col matrix of the largest convolution.
    private(set) var columns = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// (n, features) after the average pool.
    private(set) var pooled = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    func reserve(activation: Int, columns cols: Int, pooled p: Int) {
        if activation > activationCapacity {
            for buffer in [x, y, t1, t2, d] { buffer.deallocate() }
            x = .allocate(capacity: activation); y = .allocate(capacity: activation)
            t1 = .allocate(capacity: activation); t2 = .allocate(capacity: activation)
            d = .allocate(capacity: activation)
            activationCapacity = activation
        }
        if cols > columnCapacity {
            columns.deallocate()
            columns = .allocate(capacity: cols)
            columnCapacity = cols
        }
        if p > pooledCapacity {
            pooled.deallocate()
            pooled = .allocate(capacity: p)
            pooledCapacity = p
        }
    }

    deinit {
        for buffer in [x, y, t1, t2, d, columns, pooled] { buffer.deallocate() }
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
