// The convolution (im2col + cblas_sgemm on NHWC activations) and the other ResNet kernels, with the
// naive reference convolution beside it that the tests compare against.
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

    /// `w`: torch layout (outC, inC, kh, kw); BN parameters each (outC).
    init(torchWeight w: [Float], outC: Int, inC: Int, kernel: Int, stride: Int, pad: Int,
         gamma: [Float], beta: [Float], mean: [Float], variance: [Float]) {
        self.inC = inC; self.outC = outC; self.kernel = kernel; self.stride = stride; self.pad = pad
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
                        packed[((ky * k + kx) * inC + ic) * outC + oc] = w[((oc * inC + ic) * k + ky) * k + kx] * scale[oc]
                    }
                }
            }
        }
        self.bias = bias
        if let block = LiveBlock(weights: packed, rows: k * k * inC, cols: outC) {
            live = block
            weights = ConvWeights(rowMajor: block.compact(packed, cols: outC), rows: block.rows.count, cols: block.paddedCols)
        } else {
            live = nil
            weights = ConvWeights(rowMajor: packed, rows: k * k * inC, cols: outC)
        }
    }

    func outputSide(_ side: Int) -> Int { (side + 2 * pad - kernel) / stride + 1 }

    /// Floats of im2col scratch this convolution needs for `n` images of side `side` (0 if none).
    func columnFloats(n: Int, side: Int) -> Int {
        if usesWinograd(n: n, side: side) { return winogradFloats(n: n, side: side) }
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
    /// `columns` is scratch of at least `columnFloats(n:side:)`. Returns the output side.
    @discardableResult
    func forward(_ input: UnsafePointer<Float>, n: Int, side: Int, output: UnsafeMutablePointer<Float>,
                 columns: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>? = nil, relu: Bool) -> Int {
        let h = side, w = side
        let oh = outputSide(h), ow = outputSide(w)
        if usesWinograd(n: n, side: side) {
            winogradForward(input, n: n, side: side, output: output, scratch: columns, residual: residual, relu: relu)
            return oh
        }
        let m = n * oh * ow          // GEMM rows: one per output pixel
        let kdim = kernel * kernel * inC  // GEMM inner dimension
        if let live = live {
            // Only the live block: gather its rows' inputs, multiply, then put its columns in place
            // (the others are zero before the epilogue, as their weights are).
            let a = columns
            if kernel == 1 && stride == 1 {
                live.gatherRows(from: input, count: m, width: kdim, into: a)
            } else {
                im2col(input, n: n, h: h, w: w, oh: oh, ow: ow, into: columns)
                live.gatherRows(from: a, count: m, width: kdim, into: a)
            }
            let product = columns + m * (kernel == 1 && stride == 1 ? live.rows.count : kdim)
            if !live.rows.isEmpty {
                multiply(a, rows: m, inner: live.rows.count, output: product)
            }
            live.scatterColumns(product, count: m, into: output, cols: outC)
        } else {
            let a: UnsafePointer<Float>
            if kernel == 1 && stride == 1 {
                a = input  // (n*h*w, inC) is already the GEMM's left matrix
            } else {
                im2col(input, n: n, h: h, w: w, oh: oh, ow: ow, into: columns)
                a = UnsafePointer(columns)
            }
            multiply(a, rows: m, inner: kdim, output: output)
        }
        bias.withUnsafeBufferPointer { bp in
            addBiasResidualReLU(output, rows: m, cols: outC, bias: bp.baseAddress!, residual: residual, relu: relu)
        }
        return oh
    }

    /// output (rows, weights.cols) = a (rows, inner) x weights (inner, weights.cols).
    private func multiply(_ a: UnsafePointer<Float>, rows m: Int, inner: Int, output: UnsafeMutablePointer<Float>) {
        let cols = weights.cols
        if cols % 8 == 0 && (m <= Self.smallRowLimit || (weights.inPanels && m <= Self.panelRowLimit)) {
            weights.panels().withUnsafeBufferPointer { pp in
                smallRowGEMM(a, rows: m, inner: inner, panels: pp.baseAddress!, cols: cols, output: output)
            }
        } else {
            weights.rowMajor().withUnsafeBufferPointer { wp in
                sgemm(m: m, n: cols, k: inner, a: a, lda: inner, b: wp.baseAddress!, ldb: cols, c: output, ldc: cols)
            }
        }
    }

    /// columns (n*oh*ow, kernel*kernel*inC): each row the receptive field of one output pixel,
    /// taps (ky, kx) in order, `inC` channels each; taps in the zero padding are zeros.
    func im2col(_ input: UnsafePointer<Float>, n: Int, h: Int, w: Int, oh: Int, ow: Int,
                into columns: UnsafeMutablePointer<Float>) {
        let k = kernel, c = inC
        let rowLength = k * k * c
        let tapBytes = c * MemoryLayout<Float>.stride
        // Output rows (image, oy) are split across the engine's threads.
        forEachChunk(of: n * oh, minimumPerThread: itemsWorthAThread(floatsEach: ow * rowLength)) { lines in
            for line in lines {
                let b = line / oh, oy = line % oh
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
                        let kxStart = max(0, -x0), kxEnd = min(k, w - x0)
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

/// The live block of a folded weight matrix (rows, cols): the rows and the columns with a nonzero
/// weight. Training with Adam and L2 weight decay leaves whole filters and input channels at exactly
/// zero (90% of the shipped ResNet18's weights), and a product with them is exactly zero, so the
/// GEMM on the live block alone gives the same output with a fraction of the weights in memory and
/// of the arithmetic. Used where the block holds at most `maxFraction` of the matrix.
struct LiveBlock {
    /// Live rows (GEMM inner index: (ky, kx, ic)) and live columns (output channels), ascending.
    let rows: [Int], cols: [Int]
    /// `cols.count` rounded up to 8 (the panel width); the padding columns are zero.
    let paddedCols: Int

    /// Below this share of the full matrix the gather and scatter pay for themselves.
    static let maxFraction = 0.75
    /// FERTUI_SKIP_ZEROS=0 keeps every convolution dense (for A/B benchmarks).
    static let enabled = ProcessInfo.processInfo.environment["FERTUI_SKIP_ZEROS"] != "0"

    /// nil where skipping is off or would not pay.
    init?(weights w: [Float], rows: Int, cols: Int) {
        guard Self.enabled else { return nil }
        var rowLive = [Bool](repeating: false, count: rows), colLive = [Bool](repeating: false, count: cols)
        for r in 0..<rows {
            for c in 0..<cols where w[r * cols + c] != 0 {
                rowLive[r] = true
                colLive[c] = true
            }
        }
        let liveRows = (0..<rows).filter { rowLive[$0] }, liveCols = (0..<cols).filter { colLive[$0] }
        guard Double(liveRows.count * liveCols.count) <= Self.maxFraction * Double(rows * cols) else { return nil }
        self.rows = liveRows
        self.cols = liveCols
        paddedCols = (liveCols.count + 7) / 8 * 8
    }

    /// The block (rows.count, paddedCols) row-major, from the full (…, cols) matrix.
    func compact(_ w: [Float], cols full: Int) -> [Float] {
        var block = [Float](repeating: 0, count: rows.count * paddedCols)
        for (i, r) in rows.enumerated() {
            for (j, c) in cols.enumerated() { block[i * paddedCols + j] = w[r * full + c] }
        }
        return block
    }

    /// dst (count, rows.count) = the live entries of each row of src (count, width). dst may be
    /// src: every entry moves to an index at or before its own, in order.
    func gatherRows(from src: UnsafePointer<Float>, count: Int, width: Int, into dst: UnsafeMutablePointer<Float>) {
        let k = rows.count
        rows.withUnsafeBufferPointer { idx in
            for r in 0..<count {
                let s = src + r * width, d = dst + r * k
                for j in 0..<k { d[j] = s[idx[j]] }
            }
        }
    }

    /// dst (count, cols) = the block product (count, paddedCols) in the live columns, zero elsewhere.
    func scatterColumns(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<Float>, cols full: Int) {
        cols.withUnsafeBufferPointer { idx in
            forEachChunk(of: count, minimumPerThread: itemsWorthAThread(floatsEach: full)) { range in
                (dst + range.lowerBound * full).update(repeating: 0, count: range.count * full)
                for r in range {
                    let s = src + r * paddedCols, d = dst + r * full
                    for j in 0..<idx.count { d[idx[j]] = s[j] }
                }
            }
        }
    }
}

/// A folded weight matrix (rows, cols) in one layout at a time: row-major for OpenBLAS and the
/// Winograd transform, or (cols/8, rows, 8) with each 8-column panel contiguous for
/// `smallRowGEMM`. Keeping both doubled the deep layers' weights, most of a model's memory; a
/// model at one input size uses one layout per convolution, so conversions are rare.
final class ConvWeights: @unchecked Sendable {
    let rows: Int, cols: Int
    private var storage: [Float]
    private(set) var inPanels = false

    init(rowMajor: [Float], rows: Int, cols: Int) {
        precondition(rowMajor.count == rows * cols)
        storage = rowMajor
        self.rows = rows
        self.cols = cols
    }

    /// (rows, cols) row-major, converted back from panels if needed.
    func rowMajor() -> [Float] {
        if inPanels {
            var w = [Float](repeating: 0, count: rows * cols)
            for panel in 0..<(cols / 8) {
                for r in 0..<rows {
                    for j in 0..<8 { w[r * cols + panel * 8 + j] = storage[(panel * rows + r) * 8 + j] }
                }
            }
            storage = w
            inPanels = false
        }
        return storage
    }

    /// (cols/8, rows, 8) panels (cols must be a multiple of 8), converted on first use.
    func panels() -> [Float] {
        if !inPanels {
            var p = [Float](repeating: 0, count: rows * cols)
            for panel in 0..<(cols / 8) {
                for r in 0..<rows {
                    for j in 0..<8 { p[(panel * rows + r) * 8 + j] = storage[r * cols + panel * 8 + j] }
                }
            }
            storage = p
            inPanels = true
        }
        return storage
    }
}

/// output (rows, cols) = a (rows, inner) x weight (inner, cols) for few rows, weight given as
/// 8-column panels (cols/8, inner, 8). OpenBLAS copies the whole weight into its own panel format on
/// every call, which at 2x2 pixels costs more than the arithmetic; here the panels stream two at a
/// time, once per six rows, with the 6x16 accumulators in registers (12 of the 16 AVX registers:
/// two weight loads and six broadcasts feed twelve FMAs). Pairs of panels are split across the
/// engine's threads.
func smallRowGEMM(_ a: UnsafePointer<Float>, rows: Int, inner: Int, panels: UnsafePointer<Float>, cols: Int,
                  output: UnsafeMutablePointer<Float>) {
    let panelCount = cols / 8, pairs = (panelCount + 1) / 2
    let threads = min(threadsWorthIt(macs: rows * inner * cols), pairs)
    let stride = cols * 4  // bytes from one output row to the next
    let work = { (chunk: Int) in
        for pair in (chunk * pairs / threads)..<((chunk + 1) * pairs / threads) {
            let panel = 2 * pair
            let w0 = UnsafeRawPointer(panels + panel * inner * 8)
            var r0 = 0
            while r0 < rows {
                // Six row pointers; past the last row they repeat it (computed, not stored).
                let a0 = a + r0 * inner, a1 = a + min(r0 + 1, rows - 1) * inner, a2 = a + min(r0 + 2, rows - 1) * inner
                let a3 = a + min(r0 + 3, rows - 1) * inner, a4 = a + min(r0 + 4, rows - 1) * inner, a5 = a + min(r0 + 5, rows - 1) * inner
                let out = UnsafeMutableRawPointer(output + r0 * cols + panel * 8)
                @inline(__always) func store(_ c: SIMD8<Float>, row: Int, offset: Int) {
                    if r0 + row < rows { out.storeBytes(of: c, toByteOffset: row * stride + offset, as: SIMD8<Float>.self) }
                }
                var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>()
                var c3 = SIMD8<Float>(), c4 = SIMD8<Float>(), c5 = SIMD8<Float>()
                if panel + 1 < panelCount {
                    let w1 = UnsafeRawPointer(panels + (panel + 1) * inner * 8)
                    var d0 = SIMD8<Float>(), d1 = SIMD8<Float>(), d2 = SIMD8<Float>()
                    var d3 = SIMD8<Float>(), d4 = SIMD8<Float>(), d5 = SIMD8<Float>()
                    for k in 0..<inner {
                        let u = w0.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        let v = w1.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        // addingProduct is one FMA here: the engine is built for Haswell.
                        var s = SIMD8<Float>(repeating: a0[k]); c0 = c0.addingProduct(s, u); d0 = d0.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a1[k]); c1 = c1.addingProduct(s, u); d1 = d1.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a2[k]); c2 = c2.addingProduct(s, u); d2 = d2.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a3[k]); c3 = c3.addingProduct(s, u); d3 = d3.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a4[k]); c4 = c4.addingProduct(s, u); d4 = d4.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a5[k]); c5 = c5.addingProduct(s, u); d5 = d5.addingProduct(s, v)
                    }
                    store(d0, row: 0, offset: 32); store(d1, row: 1, offset: 32); store(d2, row: 2, offset: 32)
                    store(d3, row: 3, offset: 32); store(d4, row: 4, offset: 32); store(d5, row: 5, offset: 32)
                } else {
                    // The last panel of an odd count, alone.
                    for k in 0..<inner {
                        let u = w0.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        c0 = c0.addingProduct(SIMD8(repeating: a0[k]), u); c1 = c1.addingProduct(SIMD8(repeating: a1[k]), u)
                        c2 = c2.addingProduct(SIMD8(repeating: a2[k]), u); c3 = c3.addingProduct(SIMD8(repeating: a3[k]), u)
                        c4 = c4.addingProduct(SIMD8(repeating: a4[k]), u); c5 = c5.addingProduct(SIMD8(repeating: a5[k]), u)
                    }
                }
                store(c0, row: 0, offset: 0); store(c1, row: 1, offset: 0); store(c2, row: 2, offset: 0)
                store(c3, row: 3, offset: 0); store(c4, row: 4, offset: 0); store(c5, row: 5, offset: 0)
                r0 += 6
            }
        }
    }
    if threads <= 1 {
        work(0)
    } else {
        parallel(threads, work)
    }
}

/// x (rows, cols) = relu?(x + bias[col] + residual?) in one pass over the GEMM output, the rows
/// split across the engine's threads.
func addBiasResidualReLU(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>,
                         residual: UnsafePointer<Float>?, relu: Bool) {
    forEachChunk(of: rows, minimumPerThread: itemsWorthAThread(floatsEach: cols)) { range in
        var p = x + range.lowerBound * cols
        if let residual = residual {
            var r = residual + range.lowerBound * cols
            for _ in range {
                if relu {
                    for j in 0..<cols { p[j] = max(p[j] + bias[j] + r[j], 0) }
                } else {
                    for j in 0..<cols { p[j] = p[j] + bias[j] + r[j] }
                }
                p += cols; r += cols
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

/// output (n, oh, ow, c) = max over each 3x3 window, stride 2, padding 1 (padding never wins,
/// as in PyTorch). Returns the output side.
@discardableResult
func maxPool3x3s2(_ input: UnsafePointer<Float>, n: Int, side: Int, c: Int, output: UnsafeMutablePointer<Float>) -> Int {
    let h = side, w = side
    let o = (side + 2 - 3) / 2 + 1
    // Output rows (image, oy) are split across the engine's threads.
    forEachChunk(of: n * o, minimumPerThread: itemsWorthAThread(floatsEach: 9 * o * c)) { lines in
        for line in lines {
            let b = line / o, oy = line % o
            let image = input + b * h * w * c
            let y0 = max(oy * 2 - 1, 0), y1 = min(oy * 2 + 2, h)
            for ox in 0..<o {
                let x0 = max(ox * 2 - 1, 0), x1 = min(ox * 2 + 2, w)
                let out = output + ((b * o + oy) * o + ox) * c
                // The window's first pixel initialises the maximum, the rest update it channel-wise.
                out.update(from: image + (y0 * w + x0) * c, count: c)
                for y in y0..<y1 {
                    for x in x0..<x1 {
                        let p = image + (y * w + x) * c
                        for ch in 0..<c { out[ch] = max(out[ch], p[ch]) }
                    }
                }
            }
        }
    }
    return o
}

/// output (n, c) = mean over the h*w pixels of input (n, h*w, c): the adaptive average pool to 1x1.
func globalAveragePool(_ input: UnsafePointer<Float>, n: Int, pixels: Int, c: Int, output: UnsafeMutablePointer<Float>) {
    for b in 0..<n {
        let out = output + b * c
        out.update(repeating: 0, count: c)
        var p = input + b * pixels * c
        for _ in 0..<pixels {
            for ch in 0..<c { out[ch] += p[ch] }
            p += c
        }
        let inv = 1 / Float(pixels)
        for ch in 0..<c { out[ch] *= inv }
    }
}

/// The reference the optimised path is checked against: a direct NCHW convolution on torch's
/// weight layout, one output at a time, no packing, no GEMM.
/// input (n, inC, h, w), weight (outC, inC, k, k), bias (outC) -> output (n, outC, oh, ow).
func naiveConv2d(_ input: [Float], n: Int, inC: Int, h: Int, w: Int, weight: [Float], bias: [Float]?,
                 outC: Int, kernel k: Int, stride: Int, pad: Int) -> [Float] {
    let oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
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
                                sum += input[((b * inC + ic) * h + iy) * w + ix] * weight[((oc * inC + ic) * k + ky) * k + kx]
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
