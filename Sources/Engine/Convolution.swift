// The convolution (im2col + GEMM on NHWC activations, batch-norm folded, one fused epilogue), with
// the naive reference convolution beside it that the tests compare against.
//
// Layout: activations are NHWC, so an (n, h, w, c) tensor is an (n*h*w, c) row-major matrix and a
// 1x1 stride-1 convolution is one GEMM on it; im2col rows are (ky, kx, ic) with ic fastest, which
// turns each kernel tap into one contiguous copy of `inC` floats.

import COpenBLAS
import Foundation

/// A convolution with its batch-norm folded in (eps 1e-5), packed for the GEMM.
struct FoldedConv {
    let inC: Int, outC: Int, kernel: Int, stride: Int, pad: Int
    /// (kernel*kernel*inC, outC), rows ordered (ky, kx, ic): torch's weight * gamma/sqrt(var+eps);
    /// row-major or in 8-column panels, whichever the GEMM path in use needs. With `live`, only
    /// the live block: (live.rows.count, live.paddedCols).
    let weights: ConvWeights
    /// Where the folded weights have all-zero rows or columns, the rows and columns that are not,
    /// and the GEMM runs on that block alone (nil: dense).
    let live: LiveBlock?
    /// (outC): beta - mean * gamma/sqrt(var+eps).
    let bias: [Float]
    /// Winograd-transformed weights (36, inC, outC) for 3x3 stride-1 convolutions, built on first use.
    let winograd = WinogradWeights()

    /// Up to this many GEMM rows (output pixels x batch) the register-blocked kernel beats
    /// OpenBLAS, which re-packs the whole weight matrix on every call.
    static let smallRowLimit = 24
    /// A convolution whose weights are already in panels keeps using `smallRowGEMM` up to this
    /// many rows, so a face count moving by one or two does not repack the weights every frame.
    static let panelRowLimit = 96

    static let bnEps: Float = 1e-5

    /// `w`: torch layout (outC, inC, kh, kw); BN parameters each (outC). `skipZeros`: keep only the
    /// live block where it pays (`LiveBlock`).
    init(
        torchWeight w: [Float], outC: Int, inC: Int, kernel: Int, stride: Int, pad: Int,
        gamma: [Float], beta: [Float], mean: [Float], variance: [Float], skipZeros: Bool = true
    ) {
        self.inC = inC
        self.outC = outC
        self.kernel = kernel
        self.stride = stride
        self.pad = pad
        var scale = [Float](repeating: 0, count: outC)
        var bias = [Float](repeating: 0, count: outC)
        for oc in 0..<outC {
            // Same order of operations as PyTorch's BN in eval: (x - mean) / sqrt(var + eps) * gamma + beta.
            let inv = 1 / (variance[oc] + Self.bnEps).squareRoot()
            scale[oc] = gamma[oc] * inv
            bias[oc] = beta[oc] - mean[oc] * scale[oc]
        }
        let k = kernel
        var packed = [Float](repeating: 0, count: k * k * inC * outC)
        for oc in 0..<outC {
            for ic in 0..<inC {
                for ky in 0..<k {
                    for kx in 0..<k {
                        packed[((ky * k + kx) * inC + ic) * outC + oc] =
                            w[((oc * inC + ic) * k + ky) * k + kx] * scale[oc]
                    }
                }
            }
        }
        self.bias = bias
        if skipZeros, let block = LiveBlock(weights: packed, rows: k * k * inC, cols: outC) {
            live = block
            weights = ConvWeights(
                rowMajor: block.compact(packed, cols: outC), rows: block.rows.count, cols: block.paddedCols)
        } else {
            live = nil
            weights = ConvWeights(rowMajor: packed, rows: k * k * inC, cols: outC)
        }
    }

    func outputSide(_ side: Int) -> Int { (side + 2 * pad - kernel) / stride + 1 }

    /// Floats of im2col scratch this convolution needs for `n` images of side `side` (0 if none).
    func columnFloats(n: Int, side: Int, options: EngineOptions) -> Int {
        if usesWinograd(n: n, side: side, options: options) { return winogradFloats(n: n, side: side) }
        let o = outputSide(side)
        let m = n * o * o
        if let live = live {
            // the gathered left matrix (im2col first where there is one), then the block's product
            let left = kernel == 1 && stride == 1 ? live.rows.count : kernel * kernel * inC
            return m * left + m * live.paddedCols
        }
        if kernel == 1 && stride == 1 { return 0 }
        return m * kernel * kernel * inC
    }

    /// output (n, oh, ow, outC) = epilogue(conv(input (n, side, side, inC))), where the epilogue adds
    /// the bias, then `residual` (same shape as output) when given, then applies ReLU when asked.
    /// `columns` is scratch of at least `columnFloats(n:side:options:)`. Returns the output side.
    @discardableResult
    func forward(
        _ input: UnsafePointer<Float>, n: Int, side: Int, output: UnsafeMutablePointer<Float>,
        columns: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>? = nil, relu: Bool,
        options: EngineOptions
    ) -> Int {
        let h = side
        let w = side
        let oh = outputSide(h)
        let ow = outputSide(w)
        if usesWinograd(n: n, side: side, options: options) {
            winogradForward(
                input, n: n, side: side, output: output, scratch: columns, residual: residual, relu: relu,
                options: options)
            return oh
        }
        let m = n * oh * ow  // GEMM rows: one per output pixel
        let kdim = kernel * kernel * inC  // GEMM inner dimension
        if let live = live {
            // Only the live block: gather its rows' inputs, multiply, then put its columns in place
            // (the others are zero before the epilogue, as their weights are).
            let a = columns
            if kernel == 1 && stride == 1 {
                live.gatherRows(from: input, count: m, width: kdim, into: a)
            } else {
                im2col(input, n: n, h: h, w: w, oh: oh, ow: ow, into: columns, options: options)
                live.gatherRows(from: a, count: m, width: kdim, into: a)
            }
            let product = columns + m * (kernel == 1 && stride == 1 ? live.rows.count : kdim)
            if !live.rows.isEmpty {
                multiply(a, rows: m, inner: live.rows.count, output: product, options: options)
            }
            live.scatterColumns(product, count: m, into: output, cols: outC, options: options)
        } else {
            let a: UnsafePointer<Float>
            if kernel == 1 && stride == 1 {
                a = input  // (n*h*w, inC) is already the GEMM's left matrix
            } else {
                im2col(input, n: n, h: h, w: w, oh: oh, ow: ow, into: columns, options: options)
                a = UnsafePointer(columns)
            }
            multiply(a, rows: m, inner: kdim, output: output, options: options)
        }
        bias.withUnsafeBufferPointer { bp in
            addBiasResidualReLU(
                output, rows: m, cols: outC, bias: bp.baseAddress!, residual: residual, relu: relu,
                options: options)
        }
        return oh
    }

    /// output (rows, weights.cols) = a (rows, inner) x weights (inner, weights.cols).
    private func multiply(
        _ a: UnsafePointer<Float>, rows m: Int, inner: Int, output: UnsafeMutablePointer<Float>,
        options: EngineOptions
    ) {
        let cols = weights.cols
        if cols % 8 == 0 && (m <= Self.smallRowLimit || (weights.inPanels && m <= Self.panelRowLimit)) {
            weights.panels().withUnsafeBufferPointer { pp in
                smallRowGEMM(
                    a, rows: m, inner: inner, panels: pp.baseAddress!, cols: cols, output: output,
                    options: options)
            }
        } else {
            weights.rowMajor().withUnsafeBufferPointer { wp in
                sgemm(
                    m: m, n: cols, k: inner, a: a, lda: inner, b: wp.baseAddress!, ldb: cols, c: output, ldc: cols,
                    options: options)
            }
        }
    }

    /// columns (n*oh*ow, kernel*kernel*inC): each row the receptive field of one output pixel,
    /// taps (ky, kx) in order, `inC` channels each; taps in the zero padding are zeros.
    func im2col(
        _ input: UnsafePointer<Float>, n: Int, h: Int, w: Int, oh: Int, ow: Int,
        into columns: UnsafeMutablePointer<Float>, options: EngineOptions
    ) {
        let k = kernel
        let c = inC
        let rowLength = k * k * c
        let tapBytes = c * MemoryLayout<Float>.stride
        // Output rows (image, oy) are split across the engine's threads.
        let linesPerThread = options.itemsWorthAThread(floatsEach: ow * rowLength)
        options.forEachChunk(of: n * oh, minimumPerThread: linesPerThread) { lines in
            for line in lines {
                let b = line / oh
                let oy = line % oh
                let image = input + b * h * w * c
                var row = columns + line * ow * rowLength
                let y0 = oy * stride - pad
                for ox in 0..<ow {
                    let x0 = ox * stride - pad
                    var dst = row
                    for ky in 0..<k {
                        let iy = y0 + ky
                        if iy < 0 || iy >= h {
                            dst.update(repeating: 0, count: k * c)
                            dst += k * c
                            continue
                        }
                        let src = image + (iy * w) * c
                        // Copy the run of taps that lies inside the image in one go (contiguous in NHWC).
                        let kxStart = max(0, -x0)
                        let kxEnd = min(k, w - x0)
                        if kxStart > 0 { dst.update(repeating: 0, count: kxStart * c) }
                        if kxEnd > kxStart {
                            memcpy(dst + kxStart * c, src + (x0 + kxStart) * c, (kxEnd - kxStart) * tapBytes)
                        }
                        if kxEnd < k { (dst + max(kxEnd, 0) * c).update(repeating: 0, count: (k - max(kxEnd, 0)) * c) }
                        dst += k * c
                    }
                    row += rowLength
                }
            }
        }
    }
}

/// x (rows, cols) = relu?(x + bias[col] + residual?) in one pass over the GEMM output, the rows
/// split across the engine's threads.
func addBiasResidualReLU(
    _ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>,
    residual: UnsafePointer<Float>?, relu: Bool, options: EngineOptions
) {
    options.forEachChunk(of: rows, minimumPerThread: options.itemsWorthAThread(floatsEach: cols)) { range in
        var p = x + range.lowerBound * cols
        if let residual = residual {
            var r = residual + range.lowerBound * cols
            for _ in range {
                if relu {
                    for j in 0..<cols { p[j] = max(p[j] + bias[j] + r[j], 0) }
                } else {
                    for j in 0..<cols { p[j] = p[j] + bias[j] + r[j] }
                }
                p += cols
                r += cols
            }
        } else {
            for _ in range {
                if relu {
                    for j in 0..<cols { p[j] = max(p[j] + bias[j], 0) }
                } else {
                    for j in 0..<cols { p[j] += bias[j] }
                }
                p += cols
            }
        }
    }
}

/// The reference the optimised path is checked against: a direct NCHW convolution on torch's
/// weight layout, one output at a time, no packing, no GEMM.
/// input (n, inC, h, w), weight (outC, inC, k, k), bias (outC) -> output (n, outC, oh, ow).
func naiveConv2d(
    _ input: [Float], n: Int, inC: Int, h: Int, w: Int, weight: [Float], bias: [Float]?,
    outC: Int, kernel k: Int, stride: Int, pad: Int
) -> [Float] {
    let oh = (h + 2 * pad - k) / stride + 1
    let ow = (w + 2 * pad - k) / stride + 1
    var out = [Float](repeating: 0, count: n * outC * oh * ow)
    for b in 0..<n {
        for oc in 0..<outC {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum: Float = bias?[oc] ?? 0
                    for ic in 0..<inC {
                        for ky in 0..<k {
                            let iy = oy * stride - pad + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<k {
                                let ix = ox * stride - pad + kx
                                if ix < 0 || ix >= w { continue }
                                sum +=
                                    input[((b * inC + ic) * h + iy) * w + ix]
                                    * weight[((oc * inC + ic) * k + ky) * k + kx]
                            }
                        }
                    }
                    out[((b * outC + oc) * oh + oy) * ow + ox] = sum
                }
            }
        }
    }
    return out
}
