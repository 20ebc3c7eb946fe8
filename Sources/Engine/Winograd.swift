// Winograd F(4x4, 3x3) for the 3x3 stride-1 pad-1 convolutions that hold most of ResNet18/34's
// arithmetic (Lavin & Gray 2015): a 4x4 output tile costs 36 multiplies per (inC, outC) pair instead
// of 144, as 36 GEMMs (tiles, inC) x (inC, outC) between an input and an output transform that move
// 2.25 floats per output pixel. Points 0, ±1, ±2; in fp32 its error stays far inside the engine's
// 1e-3 parity with PyTorch.
//
//   U = G g G^T (6x6 per kernel)   V = B^T d B (6x6 input tiles)   Y = A^T (U . V) A (4x4 outputs)
//
//   B^T = [4  0 -5  0  1  0]   G = [ 1/4     0     0 ]   A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]       [-1/6  -1/6  -1/6 ]         [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]       [-1/6   1/6  -1/6 ]         [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]       [1/24  1/12   1/6 ]         [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]       [1/24 -1/12   1/6 ]
//         [0  4  0 -5  0  1]       [ 0      0     1  ]

import Foundation

/// The transformed weights of one convolution, (36, inC, outC), built on first use.
final class WinogradWeights: @unchecked Sendable {
    private var u: [Float]? = nil

    /// `weight`: the packed (3*3*inC, outC) matrix, rows (ky, kx, ic).
    func transformed(from weight: [Float], inC: Int, outC: Int) -> [Float] {
        if let u = u { return u }
        let u = Self.transform(weight, inC: inC, outC: outC)
        self.u = u
        return u
    }

    /// U = G g G^T for every (ic, oc): (36, inC, outC).
    static func transform(_ weight: [Float], inC: Int, outC: Int) -> [Float] {
        // G as rows of three taps; the products are taken in Double and rounded once.
        let g: [[Double]] = [
            [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
        ]
        var u = [Float](repeating: 0, count: 36 * inC * outC)
        let plane = inC * outC
        var k = [Double](repeating: 0, count: 9)
        var gk = [Double](repeating: 0, count: 3)
        for ic in 0..<inC {
            for oc in 0..<outC {
                // k[ky*3 + kx]: the 3x3 kernel of (oc, ic)
                for t in 0..<9 { k[t] = Double(weight[(t * inC + ic) * outC + oc]) }
                for i in 0..<6 {
                    // gk: row i of G k
                    for kx in 0..<3 { gk[kx] = g[i][0] * k[kx] + g[i][1] * k[3 + kx] + g[i][2] * k[6 + kx] }
                    for j in 0..<6 {
                        let value = gk[0] * g[j][0] + gk[1] * g[j][1] + gk[2] * g[j][2]
                        u[(i * 6 + j) * plane + ic * outC + oc] = Float(value)
                    }
                }
            }
        }
        return u
    }
}

/// v[0...5] = B^T x for six vectors: the input transform along one axis.
@inline(__always)
private func inputTransform6(
    _ x0: SIMD8<Float>, _ x1: SIMD8<Float>, _ x2: SIMD8<Float>, _ x3: SIMD8<Float>,
    _ x4: SIMD8<Float>, _ x5: SIMD8<Float>,
    into v: UnsafeMutablePointer<SIMD8<Float>>
) {
    let four: Float = 4
    let five: Float = 5
    let a = x4 - four * x2
    let b = x3 - four * x1  // rows 1 and 2 share these
    let c = x4 - x2
    let d = 2 * (x3 - x1)  // rows 3 and 4 share these
    v[0] = four * x0 - five * x2 + x4
    v[1] = a + b
    v[2] = a - b
    v[3] = c + d
    v[4] = c - d
    v[5] = four * x1 - five * x3 + x5
}

/// y (4) = A^T m for six vectors: the output transform along one axis.
@inline(__always)
private func outputTransform4(
    _ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
    _ m4: SIMD8<Float>, _ m5: SIMD8<Float>
) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let p12 = m1 + m2
    let q12 = m1 - m2
    let p34 = m3 + m4
    let q34 = m3 - m4
    return (m0 + p12 + p34, q12 + 2 * q34, p12 + 4 * p34, q12 + 8 * q34 + m5)
}

extension FoldedConv {
    /// Whether this convolution runs as Winograd for `n` images of side `side`: dense weights (a
    /// convolution that keeps only its live block has no others to transform), 3x3 stride 1 pad 1,
    /// channels in multiples of 8 (the transforms work on eight at a time), and enough tiles that
    /// the 36 GEMMs are not dominated by call overhead (`options.winogradMinTiles`; below it the
    /// direct im2col GEMM is as fast).
    func usesWinograd(n: Int, side: Int, options: EngineOptions) -> Bool {
        guard live == nil, kernel == 3 && stride == 1 && pad == 1 && inC % 8 == 0 && outC % 8 == 0 else { return false }
        let tiles = (side + 3) / 4
        return n * tiles * tiles >= options.winogradMinTiles
    }

    /// Scratch floats for Winograd: V (36, tiles, inC) then M (36, tiles, outC).
    func winogradFloats(n: Int, side: Int) -> Int {
        let t = (side + 3) / 4
        return 36 * n * t * t * (inC + outC)
    }

    /// output (n, side, side, outC) = epilogue(conv3x3(input)) by F(4x4, 3x3); same epilogue as `forward`.
    func winogradForward(
        _ input: UnsafePointer<Float>, n: Int, side: Int, output: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool,
        options: EngineOptions
    ) {
        let h = side
        let w = side
        let c = inC
        let th = (h + 3) / 4
        let tw = (w + 3) / 4
        let tiles = n * th * tw
        let v = scratch  // (36, tiles, inC)
        let m = scratch + 36 * tiles * inC  // (36, tiles, outC)
        let vPlane = tiles * inC
        let mPlane = tiles * outC

        // V = B^T d B for every 6x6 input tile (top-left at (4ty - 1, 4tx - 1)), eight channels at a
        // time: rows first into e (6x6), then columns into V's 36 planes.
        options.forEachChunk(of: tiles, minimumPerThread: options.itemsWorthAThread(floatsEach: 72 * c)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { zeroBuffer in
                let zero = UnsafePointer(zeroBuffer.baseAddress!)
                zeroBuffer.baseAddress!.update(repeating: 0, count: c)
                withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 42) { eBuffer in
                    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 36) { dBuffer in
                        // e (6x6): d B; col (6): one column of B^T e
                        let e = eBuffer.baseAddress!
                        let col = e + 36
                        let d = dBuffer.baseAddress!
                        for t in range {
                            let b = t / (th * tw)
                            let ty = t % (th * tw) / tw
                            let tx = t % tw
                            let image = input + b * h * w * c
                            // d[i*6+j]: the pixel at row i, column j of the tile, or zeros outside the image.
                            for i in 0..<6 {
                                let y = 4 * ty - 1 + i
                                for j in 0..<6 {
                                    let x = 4 * tx - 1 + j
                                    d[i * 6 + j] = (y >= 0 && y < h && x >= 0 && x < w) ? image + (y * w + x) * c : zero
                                }
                            }
                            let out = v + t * c
                            for ch in Swift.stride(from: 0, to: c, by: 8) {
                                @inline(__always) func ld(_ i: Int) -> SIMD8<Float> {
                                    UnsafeRawPointer(d[i] + ch).loadUnaligned(as: SIMD8<Float>.self)
                                }
                                // e = d B: each tile row transformed along x
                                for i in 0..<6 {
                                    inputTransform6(
                                        ld(i * 6), ld(i * 6 + 1), ld(i * 6 + 2), ld(i * 6 + 3), ld(i * 6 + 4),
                                        ld(i * 6 + 5),
                                        into: e + i * 6)
                                }
                                // V = B^T e: each column transformed along y, straight to its plane
                                for j in 0..<6 {
                                    inputTransform6(
                                        e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j], into: col)
                                    for i in 0..<6 {
                                        UnsafeMutableRawPointer(out + (i * 6 + j) * vPlane + ch).storeBytes(
                                            of: col[i], as: SIMD8<Float>.self)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        // M[xi] (tiles, outC) = V[xi] (tiles, inC) x U[xi] (inC, outC) for the 36 tile positions,
        // each thread taking a share of the products whole.
        let u = winograd.transformed(from: weights.rowMajor(), inC: inC, outC: outC)
        u.withUnsafeBufferPointer { up in
            options.forEachChunk(of: 36, minimumPerThread: 1) { range in
                for xi in range {
                    sgemmSerial(
                        m: tiles, n: outC, k: inC, a: v + xi * vPlane, lda: inC,
                        b: up.baseAddress! + xi * inC * outC, ldb: outC, c: m + xi * mPlane, ldc: outC)
                }
            }
        }

        // Y = A^T M A per tile, then bias, residual and ReLU, written where the 4x4 tile lies inside the output.
        bias.withUnsafeBufferPointer { bp in
            let bias = bp.baseAddress!
            let tilesPerThread = options.itemsWorthAThread(floatsEach: 52 * outC)
            options.forEachChunk(of: tiles, minimumPerThread: tilesPerThread) { range in
                withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 28) { sBuffer in
                    let s = sBuffer.baseAddress!
                    let row = s + 24  // s (4, 6): A^T M; row (4): one row of s A
                    for t in range {
                        let b = t / (th * tw)
                        let ty = t % (th * tw) / tw
                        let tx = t % tw
                        let y0 = 4 * ty
                        let x0 = 4 * tx
                        let rows = min(4, h - y0)
                        let cols = min(4, w - x0)
                        let src = m + t * outC
                        for oc in Swift.stride(from: 0, to: outC, by: 8) {
                            @inline(__always) func ld(_ xi: Int) -> SIMD8<Float> {
                                UnsafeRawPointer(src + xi * mPlane + oc).loadUnaligned(as: SIMD8<Float>.self)
                            }
                            // s = A^T M: each column of the 6x6 product transformed along y
                            for j in 0..<6 {
                                let (r0, r1, r2, r3) = outputTransform4(
                                    ld(j), ld(6 + j), ld(12 + j), ld(18 + j), ld(24 + j), ld(30 + j))
                                s[j] = r0
                                s[6 + j] = r1
                                s[12 + j] = r2
                                s[18 + j] = r3
                            }
                            let beta = UnsafeRawPointer(bias + oc).loadUnaligned(as: SIMD8<Float>.self)
                            for i in 0..<rows {
                                // row i of Y = s A, then the epilogue on the columns inside the output
                                (row[0], row[1], row[2], row[3]) = outputTransform4(
                                    s[i * 6], s[i * 6 + 1], s[i * 6 + 2],
                                    s[i * 6 + 3], s[i * 6 + 4], s[i * 6 + 5])
                                let pixel = ((b * h + y0 + i) * w + x0) * outC + oc
                                for j in 0..<cols {
                                    var y = row[j] + beta
                                    if let r = residual {
                                        y += UnsafeRawPointer(r + pixel + j * outC).loadUnaligned(as: SIMD8<Float>.self)
                                    }
                                    if relu { y.replace(with: SIMD8<Float>(), where: y .< SIMD8<Float>()) }
                                    UnsafeMutableRawPointer(output + pixel + j * outC).storeBytes(
                                        of: y, as: SIMD8<Float>.self)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
