// The optimised convolution (NHWC, im2col + sgemm, BN folded, fused epilogue) against the naive
// NCHW reference, and the pooling kernels against direct definitions.

import Foundation
import XCTest

@testable import Engine

final class ConvolutionTests: XCTestCase {
    func nchwToNHWC(_ x: [Float], n: Int, c: Int, h: Int, w: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<n {
            for ch in 0..<c {
                for y in 0..<h {
                    for xx in 0..<w {
                        out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx]
                    }
                }
            }
        }
        return out
    }

    /// The shipped defaults, on two threads whatever the machine.
    let defaults = EngineOptions(threads: 2)

    func forward(_ conv: FoldedConv, _ input: [Float], n: Int, side: Int) -> [Float] {
        let o = conv.outputSide(side)
        var out = [Float](repeating: .nan, count: n * o * o * conv.outC)
        var columns = [Float](repeating: .nan, count: max(1, conv.columnFloats(n: n, side: side, options: defaults)))
        input.withUnsafeBufferPointer { ip in
            out.withUnsafeMutableBufferPointer { op in
                columns.withUnsafeMutableBufferPointer { cp in
                    conv.forward(
                        ip.baseAddress!, n: n, side: side, output: op.baseAddress!, columns: cp.baseAddress!,
                        relu: false, options: defaults)
                }
            }
        }
        return out
    }

    /// One convolution keeps one weight layout and converts when its GEMM rows change regime
    /// (panels for few rows, row-major for many): every regime, in any order, gives the results
    /// of a fresh convolution.
    func testWeightLayoutFollowsTheRowCount() {
        let (inC, outC) = (16, 32)
        let w = SeededWeights.uniform("w", count: outC * inC * 9, lo: -0.5, hi: 0.5, seed: 5)
        let ones = [Float](repeating: 1, count: outC)
        let zeros = [Float](repeating: 0, count: outC)
        func make() -> FoldedConv {
            FoldedConv(
                torchWeight: w, outC: outC, inC: inC, kernel: 3, stride: 2, pad: 1,
                gamma: ones, beta: zeros, mean: zeros, variance: ones)
        }
        let shared = make()
        let small = SeededWeights.uniform("s", count: 4 * 4 * inC, lo: -1, hi: 1, seed: 6)  // 2x2 out: panels
        let large = SeededWeights.uniform("l", count: 32 * 32 * inC, lo: -1, hi: 1, seed: 7)  // 16x16 out: row-major
        for (input, side) in [(small, 4), (large, 32), (small, 4), (large, 32)] {
            let wasPanels = shared.weights.inPanels
            XCTAssertEqual(
                forward(shared, input, n: 1, side: side), forward(make(), input, n: 1, side: side),
                "side \(side) after the weights were in \(wasPanels ? "panels" : "rows")")
            XCTAssertEqual(shared.weights.inPanels, side == 4, "side \(side) uses the layout its row count calls for")
        }
    }

    /// One case: folded fast conv (+ residual, ReLU) vs naive conv, then BN, residual and ReLU by hand.
    /// `deadOut`/`deadIn`: output filters and input channels whose weights are set to zero (as
    /// training leaves them); `liveBlock` says whether the convolution must then skip them.
    /// `options`: how the kernels run (threads, splits, Winograd, zero-skipping).
    func check(
        n: Int, inC: Int, outC: Int, side: Int, kernel: Int, stride: Int, pad: Int, residual: Bool, relu: Bool,
        deadOut: [Int] = [], deadIn: [Int] = [], liveBlock: Bool = false, options: EngineOptions? = nil
    ) {
        let options = options ?? defaults
        let label =
            "n\(n) \(inC)->\(outC) side \(side) k\(kernel) s\(stride) p\(pad) residual \(residual) relu \(relu) "
            + "dead \(deadOut.count) out \(deadIn.count) in"
        let seed: UInt64 = 99
        let x = SeededWeights.uniform("x", count: n * inC * side * side, lo: -1, hi: 1, seed: seed)
        var w = SeededWeights.uniform("w", count: outC * inC * kernel * kernel, lo: -0.5, hi: 0.5, seed: seed)
        let taps = kernel * kernel
        for oc in deadOut { for i in 0..<(inC * taps) { w[oc * inC * taps + i] = 0 } }
        for ic in deadIn { for oc in 0..<outC { for t in 0..<taps { w[(oc * inC + ic) * taps + t] = 0 } } }
        let gamma = SeededWeights.uniform("g", count: outC, lo: 0.5, hi: 1.5, seed: seed)
        let beta = SeededWeights.uniform("b", count: outC, lo: -0.5, hi: 0.5, seed: seed)
        let mean = SeededWeights.uniform("m", count: outC, lo: -0.2, hi: 0.2, seed: seed)
        let variance = SeededWeights.uniform("v", count: outC, lo: 0.3, hi: 2, seed: seed)
        let conv = FoldedConv(
            torchWeight: w, outC: outC, inC: inC, kernel: kernel, stride: stride, pad: pad,
            gamma: gamma, beta: beta, mean: mean, variance: variance, skipZeros: options.skipZeros)
        XCTAssertEqual(conv.live != nil, liveBlock && options.skipZeros, "\(label): live block used")
        if let live = conv.live {
            XCTAssertEqual(live.cols, (0..<outC).filter { !deadOut.contains($0) }, label)
            XCTAssertEqual(live.rows.count, deadOut.count == outC ? 0 : taps * (inC - deadIn.count), label)
            XCTAssertEqual(conv.weights.rows, live.rows.count, "\(label): only the live block is kept")
        }
        let o = conv.outputSide(side)
        let res = SeededWeights.uniform("r", count: n * outC * o * o, lo: -1, hi: 1, seed: seed)

        // Reference, NCHW: BN after the raw convolution, then residual, then ReLU.
        var want = naiveConv2d(
            x, n: n, inC: inC, h: side, w: side, weight: w, bias: nil, outC: outC, kernel: kernel, stride: stride,
            pad: pad)
        for b in 0..<n {
            for oc in 0..<outC {
                for p in 0..<(o * o) {
                    let i = (b * outC + oc) * o * o + p
                    var v = (want[i] - mean[oc]) / (variance[oc] + 1e-5).squareRoot() * gamma[oc] + beta[oc]
                    if residual { v += res[i] }
                    want[i] = relu ? max(v, 0) : v
                }
            }
        }
        want = nchwToNHWC(want, n: n, c: outC, h: o, w: o)

        let input = nchwToNHWC(x, n: n, c: inC, h: side, w: side)
        let resNHWC = nchwToNHWC(res, n: n, c: outC, h: o, w: o)
        var got = [Float](repeating: .nan, count: n * o * o * outC)
        var columns = [Float](repeating: .nan, count: max(1, conv.columnFloats(n: n, side: side, options: options)))
        input.withUnsafeBufferPointer { ip in
            resNHWC.withUnsafeBufferPointer { rp in
                got.withUnsafeMutableBufferPointer { op in
                    columns.withUnsafeMutableBufferPointer { cp in
                        let side = conv.forward(
                            ip.baseAddress!, n: n, side: side, output: op.baseAddress!, columns: cp.baseAddress!,
                            residual: residual ? rp.baseAddress! : nil, relu: relu,
                            options: options)
                        XCTAssertEqual(side, o, label)
                    }
                }
            }
        }
        var worst: Float = 0
        var at = 0
        for i in 0..<got.count where !(abs(got[i] - want[i]) <= worst) {
            worst = abs(got[i] - want[i])
            at = i
        }
        XCTAssertLessThanOrEqual(
            worst, 1e-4,
            "\(label): max |diff| \(worst) at \(at): got \(got[at]) want \(want[at]); "
                + "first got \(Array(got.prefix(4))) want \(Array(want.prefix(4)))"
        )
    }

    func testFastConvolutionMatchesNaive() {
        // Stem.
        check(n: 2, inC: 3, outC: 8, side: 13, kernel: 7, stride: 2, pad: 3, residual: false, relu: true)
        // Basic block conv2.
        check(n: 1, inC: 5, outC: 6, side: 9, kernel: 3, stride: 1, pad: 1, residual: true, relu: true)
        // Strided 3x3.
        check(n: 3, inC: 4, outC: 7, side: 10, kernel: 3, stride: 2, pad: 1, residual: false, relu: true)
        // 1x1 straight to GEMM.
        check(n: 2, inC: 6, outC: 5, side: 7, kernel: 1, stride: 1, pad: 0, residual: true, relu: false)
        // Downsample.
        check(n: 2, inC: 6, outC: 10, side: 7, kernel: 1, stride: 2, pad: 0, residual: false, relu: false)
        // Image smaller than kernel.
        check(n: 1, inC: 2, outC: 3, side: 2, kernel: 3, stride: 1, pad: 1, residual: false, relu: false)
        // All taps clipped.
        check(n: 1, inC: 3, outC: 4, side: 3, kernel: 7, stride: 2, pad: 3, residual: false, relu: true)
        // Few output pixels: the register-blocked small-row kernel instead of sgemm (16 rows, then 7, then 24).
        check(n: 1, inC: 16, outC: 16, side: 4, kernel: 3, stride: 1, pad: 1, residual: true, relu: true)
        check(n: 7, inC: 8, outC: 24, side: 1, kernel: 3, stride: 1, pad: 1, residual: false, relu: true)
        check(n: 6, inC: 32, outC: 64, side: 4, kernel: 3, stride: 2, pad: 1, residual: true, relu: true)
        // Many pixels, 3x3 stride 1: Winograd F(4x4, 3x3), sides that leave partial edge tiles.
        check(n: 2, inC: 8, outC: 16, side: 16, kernel: 3, stride: 1, pad: 1, residual: true, relu: true)
        check(n: 1, inC: 8, outC: 24, side: 17, kernel: 3, stride: 1, pad: 1, residual: false, relu: false)
        check(n: 3, inC: 16, outC: 8, side: 9, kernel: 3, stride: 1, pad: 1, residual: true, relu: false)
        // A side that is a multiple of 4, and more sides with partial tiles.
        check(n: 1, inC: 16, outC: 24, side: 24, kernel: 3, stride: 1, pad: 1, residual: true, relu: true)
        check(n: 1, inC: 8, outC: 16, side: 23, kernel: 3, stride: 1, pad: 1, residual: false, relu: false)
        check(n: 2, inC: 24, outC: 8, side: 22, kernel: 3, stride: 1, pad: 1, residual: true, relu: false)
    }

    /// Filters and input channels with all-zero weights are skipped (the GEMM runs on the live
    /// block) and the output is still the convolution's, on every path: few rows (register
    /// kernel), many rows (sgemm, in place of Winograd), 1x1 straight from the input, strided.
    func testZeroFiltersAndChannelsAreSkippedExactly() {
        let out20 = Array(stride(from: 0, to: 32, by: 3)) + [31, 30, 29, 28, 26, 25, 23, 22, 20]  // 20 of 32
        let in8 = [1, 2, 5, 7, 8, 11, 13, 14]  // 8 of 16
        check(
            n: 1, inC: 16, outC: 32, side: 2, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
            deadOut: out20, deadIn: in8, liveBlock: true)
        check(
            n: 2, inC: 16, outC: 32, side: 16, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
            deadOut: out20, deadIn: in8, liveBlock: true)
        check(
            n: 2, inC: 16, outC: 32, side: 7, kernel: 1, stride: 1, pad: 0, residual: true, relu: false,
            deadOut: out20, deadIn: in8, liveBlock: true)
        check(
            n: 3, inC: 16, outC: 32, side: 5, kernel: 1, stride: 2, pad: 0, residual: false, relu: false,
            deadOut: [], deadIn: in8, liveBlock: true)
        check(
            n: 1, inC: 16, outC: 32, side: 9, kernel: 3, stride: 2, pad: 1, residual: false, relu: true,
            deadOut: out20, deadIn: [], liveBlock: true)
        // Every filter zero: the output is the epilogue of zeros (bias, residual, ReLU).
        check(
            n: 2, inC: 16, outC: 32, side: 3, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
            deadOut: Array(0..<32), deadIn: [], liveBlock: true)
        // A few zeros do not pay for the gather: the convolution stays dense.
        check(
            n: 1, inC: 16, outC: 32, side: 4, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
            deadOut: [3], deadIn: [4], liveBlock: false)
        // Zero-skipping off: the same zeros multiplied, the same output.
        var dense = defaults
        dense.skipZeros = false
        check(
            n: 2, inC: 16, outC: 32, side: 16, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
            deadOut: out20, deadIn: in8, liveBlock: false, options: dense)
    }

    /// The few-row kernel (6x16 blocks, a lone last panel, rows past a multiple of six) gives the
    /// naive product for every row count it takes, panel counts odd and even, on one and two threads.
    func testSmallRowGEMMMatchesNaive() {
        for (cols, inner) in [(8, 5), (16, 64), (24, 7), (40, 33)] {
            for rows in 1...13 {
                let a = SeededWeights.uniform("a", count: rows * inner, lo: -1, hi: 1, seed: 21)
                let w = SeededWeights.uniform("w", count: inner * cols, lo: -1, hi: 1, seed: 22)  // (inner, cols)
                var panels = [Float](repeating: 0, count: inner * cols)  // (cols/8, inner, 8)
                for p in 0..<(cols / 8) {
                    for k in 0..<inner { for j in 0..<8 { panels[(p * inner + k) * 8 + j] = w[k * cols + p * 8 + j] } }
                }
                let want = naiveGEMM(m: rows, n: cols, k: inner, a: a, b: w)
                for threads in 1...2 {
                    let options = EngineOptions(splitMACs: 1, threads: threads)  // split every product
                    var got = [Float](repeating: .nan, count: rows * cols)
                    smallRowGEMM(
                        a, rows: rows, inner: inner, panels: panels, cols: cols, output: &got,
                        options: options)
                    var worst: Float = 0
                    for (g, s) in zip(got, want) {
                        let diff = abs(g - s)
                        worst = diff.isNaN ? .infinity : max(worst, diff)  // a NaN: an output never written
                    }
                    XCTAssertLessThanOrEqual(
                        worst, 1e-4, "rows \(rows) cols \(cols) inner \(inner) threads \(threads): got \(got.prefix(4))"
                    )
                }
            }
        }
    }

    /// The engine's GEMM splits across its threads by rows, by column slices, or not at all; each
    /// split, at one to three threads, gives the naive product.
    func testSplitGEMMMatchesNaiveAtEveryThreadCount() {
        // (m, n, k): rows split, columns split (few rows), too small to split, odd sizes.
        for (m, n, k) in [(300, 24, 40), (20, 200, 33), (10, 12, 7), (193, 97, 65)] {
            let a = SeededWeights.uniform("a", count: m * k, lo: -1, hi: 1, seed: 11)
            let b = SeededWeights.uniform("b", count: k * n, lo: -1, hi: 1, seed: 12)
            let want = naiveGEMM(m: m, n: n, k: k, a: a, b: b)
            for threads in 1...3 {
                let options = EngineOptions(splitMACs: 1, threads: threads)  // split every product
                var got = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        got.withUnsafeMutableBufferPointer { gp in
                            sgemm(
                                m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                                c: gp.baseAddress!, ldc: n, options: options)
                        }
                    }
                }
                let worst = zip(got, want).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worst, 1e-4, "m \(m) n \(n) k \(k) threads \(threads): max |diff| \(worst)")
            }
        }
    }

    /// The kernels that split their rows or tiles across threads (im2col, Winograd, the epilogue,
    /// the live block's scatter, the GEMMs) give the convolution at one to three threads, with
    /// every pass and product split however small.
    func testEveryThreadCountGivesTheSameConvolution() {
        for threads in [1, 2, 3] {
            let o = EngineOptions(splitMACs: 1, splitFloats: 1, threads: threads)  // split everything
            check(
                n: 2, inC: 3, outC: 8, side: 40, kernel: 7, stride: 2, pad: 3, residual: false, relu: true,
                options: o)
            check(
                n: 1, inC: 16, outC: 16, side: 24, kernel: 3, stride: 1, pad: 1, residual: true, relu: true,
                options: o)
            check(
                n: 2, inC: 8, outC: 48, side: 12, kernel: 1, stride: 1, pad: 0, residual: true, relu: true,
                options: o)
            check(
                n: 2, inC: 16, outC: 32, side: 20, kernel: 3, stride: 2, pad: 1, residual: false, relu: true,
                deadOut: [1, 4, 9, 16, 17, 30], deadIn: [0, 3, 5, 6, 12], liveBlock: true, options: o)
        }
    }

    /// Winograd off (a threshold no convolution reaches) gives the same convolutions through im2col.
    func testWinogradOffGivesTheSameConvolution() {
        let o = EngineOptions(winogradMinTiles: .max, threads: 2)
        check(n: 2, inC: 8, outC: 16, side: 16, kernel: 3, stride: 1, pad: 1, residual: true, relu: true, options: o)
        check(n: 1, inC: 8, outC: 24, side: 17, kernel: 3, stride: 1, pad: 1, residual: false, relu: false, options: o)
    }

    func testWinogradIsChosenOnlyWhereItApplies() {
        let w = [Float](repeating: 0.1, count: 8 * 8 * 9)
        let ones = [Float](repeating: 1, count: 8)
        let zeros = [Float](repeating: 0, count: 8)
        let conv3 = FoldedConv(
            torchWeight: w, outC: 8, inC: 8, kernel: 3, stride: 1, pad: 1, gamma: ones, beta: zeros, mean: zeros,
            variance: ones)
        let strided = FoldedConv(
            torchWeight: w, outC: 8, inC: 8, kernel: 3, stride: 2, pad: 1, gamma: ones, beta: zeros, mean: zeros,
            variance: ones)
        let o = defaults
        XCTAssertTrue(conv3.usesWinograd(n: 1, side: 16, options: o), "16 tiles")
        XCTAssertTrue(conv3.usesWinograd(n: 1, side: 23, options: o), "36 tiles, the last row and column partial")
        XCTAssertFalse(conv3.usesWinograd(n: 1, side: 12, options: o), "9 tiles: too few")
        XCTAssertTrue(conv3.usesWinograd(n: 2, side: 12, options: o), "18 tiles")
        XCTAssertFalse(strided.usesWinograd(n: 2, side: 16, options: o), "stride 2")
        XCTAssertFalse(conv3.usesWinograd(n: 2, side: 12, options: EngineOptions(winogradMinTiles: 19)), "19 asked")
        XCTAssertFalse(conv3.usesWinograd(n: 8, side: 64, options: EngineOptions(winogradMinTiles: .max)), "off")
        let odd = FoldedConv(
            torchWeight: [Float](repeating: 0.1, count: 5 * 5 * 9), outC: 5, inC: 5, kernel: 3, stride: 1, pad: 1,
            gamma: [1, 1, 1, 1, 1], beta: [0, 0, 0, 0, 0], mean: [0, 0, 0, 0, 0], variance: [1, 1, 1, 1, 1])
        XCTAssertFalse(odd.usesWinograd(n: 4, side: 32, options: o), "channels not a multiple of 8")
    }

    func testMaxPoolIgnoresPadding() {
        // All-negative input: padding must not contribute zeros. Output rows split across one to
        // three threads, however few.
        let n = 2
        let c = 3
        let side = 7
        let x = SeededWeights.uniform("pool", count: n * side * side * c, lo: -3, hi: -1, seed: 1)
        let o = (side + 2 - 3) / 2 + 1
        for threads in 1...3 {
            let options = EngineOptions(splitFloats: 1, threads: threads)  // split however few rows
            var got = [Float](repeating: .nan, count: n * o * o * c)
            x.withUnsafeBufferPointer { xp in
                got.withUnsafeMutableBufferPointer { gp in
                    XCTAssertEqual(
                        maxPool3x3s2(
                            xp.baseAddress!, n: n, side: side, c: c, output: gp.baseAddress!,
                            options: options), o)
                }
            }
            for b in 0..<n {
                for oy in 0..<o {
                    for ox in 0..<o {
                        for ch in 0..<c {
                            var m = -Float.infinity
                            for y in (oy * 2 - 1)...(oy * 2 + 1) where y >= 0 && y < side {
                                for xx in (ox * 2 - 1)...(ox * 2 + 1) where xx >= 0 && xx < side {
                                    m = max(m, x[((b * side + y) * side + xx) * c + ch])
                                }
                            }
                            XCTAssertEqual(got[((b * o + oy) * o + ox) * c + ch], m, "threads \(threads)")
                        }
                    }
                }
            }
        }
    }

    func testGlobalAveragePool() {
        let x: [Float] = [1, 10, 3, 20, 5, 30, 7, 40]  // (n 1, 4 pixels, c 2)
        var out = [Float](repeating: 0, count: 2)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer {
                globalAveragePool(xp.baseAddress!, n: 1, pixels: 4, c: 2, output: $0.baseAddress!)
            }
        }
        XCTAssertEqual(out, [4, 25])
    }
}
