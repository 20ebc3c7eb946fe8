// Winograd F(2x2, 3x3) for the 3x3 stride-1 pad-1 convolutions that hold most of ResNet18/34's
// arithmetic: each 2x2 output tile costs 16 multiplies per (inC, outC) pair instead of 36, as 16
// GEMMs (tiles, inC) x (inC, outC) between an input and an output transform (Lavin & Gray 2015).
//
//   U = G g G^T (weights, once)   V = B^T d B (4x4 input tiles)   Y = A^T (U . V) A (2x2 outputs)

import COpenBLAS
import Foundation

/// The transformed weights of one convolution: (16, inC, outC), built on first use.
final class WinogradWeights: @unchecked Sendable {
    private var u: [Float]? = nil

    /// `weight`: the packed (3*3*inC, outC) matrix, rows (ky, kx, ic).
    func transformed(from weight: [Float], inC: Int, outC: Int) -> [Float] {
        if let u = u { return u }
        var u = [Float](repeating: 0, count: 16 * inC * outC)
        let plane = inC * outC
        for ic in 0..<inC {
            for oc in 0..<outC {
                var g = [Float](repeating: 0, count: 9)
                for t in 0..<9 { g[t] = weight[(t * inC + ic) * outC + oc] }
                // rows of G g (4x3)
                var gg = [Float](repeating: 0, count: 12)
                for c in 0..<3 {
                    let g0 = g[c], g1 = g[3 + c], g2 = g[6 + c]
                    gg[c] = g0
                    gg[3 + c] = 0.5 * (g0 + g1 + g2)
                    gg[6 + c] = 0.5 * (g0 - g1 + g2)
                    gg[9 + c] = g2
                }
                // (G g) G^T (4x4)
                for r in 0..<4 {
                    let x0 = gg[r * 3], x1 = gg[r * 3 + 1], x2 = gg[r * 3 + 2]
                    let row = [x0, 0.5 * (x0 + x1 + x2), 0.5 * (x0 - x1 + x2), x2]
                    for c in 0..<4 { u[(r * 4 + c) * plane + ic * outC + oc] = row[c] }
                }
            }
        }
        self.u = u
        return u
    }
}

extension FoldedConv {
    /// Whether this convolution runs as Winograd for `n` images of side `side`: 3x3 stride 1 pad 1,
    /// and enough tiles that the 16 GEMMs are not dominated by call overhead.
    func usesWinograd(n: Int, side: Int) -> Bool {
        guard kernel == 3 && stride == 1 && pad == 1 else { return false }
        let tiles = (side + 1) / 2
        return n * tiles * tiles >= Self.winogradMinTiles
    }

    /// Below this many 2x2 tiles the direct im2col GEMM is as fast. FERTUI_WINOGRAD_MIN_TILES
    /// overrides it for A/B benchmarks (a huge value turns Winograd off).
    static let winogradMinTiles = ProcessInfo.processInfo.environment["FERTUI_WINOGRAD_MIN_TILES"].flatMap { Int($0) } ?? 64

    /// Scratch floats for Winograd: V (16, tiles, inC) then M (16, tiles, outC).
    func winogradFloats(n: Int, side: Int) -> Int {
        let t = (side + 1) / 2
        return 16 * n * t * t * (inC + outC)
    }

    /// output (n, side, side, outC) = epilogue(conv3x3(input)) by F(2x2, 3x3); same epilogue as `forward`.
    func winogradForward(_ input: UnsafePointer<Float>, n: Int, side: Int, output: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool) {
        let h = side, w = side, c = inC
        let th = (h + 1) / 2, tw = (w + 1) / 2
        let tiles = n * th * tw
        let v = scratch                    // (16, tiles, inC)
        let m = scratch + 16 * tiles * inC  // (16, tiles, outC)
        let vPlane = tiles * inC, mPlane = tiles * outC

        // V = B^T d B for every 4x4 input tile (top-left at (2ty - 1, 2tx - 1)), channels innermost.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { zeroBuffer in
            let zero = zeroBuffer.baseAddress!
            zero.update(repeating: 0, count: c)
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 16) { rowBuffer in
                let d = rowBuffer.baseAddress!
                var t = 0
                for b in 0..<n {
                    let image = input + b * h * w * c
                    for ty in 0..<th {
                        for tx in 0..<tw {
                            // d[i*4+j]: the pixel at row i, column j of the tile, or zeros outside the image.
                            for i in 0..<4 {
                                let y = 2 * ty - 1 + i
                                for j in 0..<4 {
                                    let x = 2 * tx - 1 + j
                                    d[i * 4 + j] = (y >= 0 && y < h && x >= 0 && x < w) ? image + (y * w + x) * c : UnsafePointer(zero)
                                }
                            }
                            let out = v + t * c
                            for ch in 0..<c {
                                // rows of B^T d
                                let d00 = d[0][ch], d01 = d[1][ch], d02 = d[2][ch], d03 = d[3][ch]
                                let d10 = d[4][ch], d11 = d[5][ch], d12 = d[6][ch], d13 = d[7][ch]
                                let d20 = d[8][ch], d21 = d[9][ch], d22 = d[10][ch], d23 = d[11][ch]
                                let d30 = d[12][ch], d31 = d[13][ch], d32 = d[14][ch], d33 = d[15][ch]
                                let r00 = d00 - d20, r01 = d01 - d21, r02 = d02 - d22, r03 = d03 - d23
                                let r10 = d10 + d20, r11 = d11 + d21, r12 = d12 + d22, r13 = d13 + d23
                                let r20 = d20 - d10, r21 = d21 - d11, r22 = d22 - d12, r23 = d23 - d13
                                let r30 = d10 - d30, r31 = d11 - d31, r32 = d12 - d32, r33 = d13 - d33
                                // (B^T d) B, row by row
                                out[0 * vPlane + ch] = r00 - r02; out[1 * vPlane + ch] = r01 + r02
                                out[2 * vPlane + ch] = r02 - r01; out[3 * vPlane + ch] = r01 - r03
                                out[4 * vPlane + ch] = r10 - r12; out[5 * vPlane + ch] = r11 + r12
                                out[6 * vPlane + ch] = r12 - r11; out[7 * vPlane + ch] = r11 - r13
                                out[8 * vPlane + ch] = r20 - r22; out[9 * vPlane + ch] = r21 + r22
                                out[10 * vPlane + ch] = r22 - r21; out[11 * vPlane + ch] = r21 - r23
                                out[12 * vPlane + ch] = r30 - r32; out[13 * vPlane + ch] = r31 + r32
                                out[14 * vPlane + ch] = r32 - r31; out[15 * vPlane + ch] = r31 - r33
                            }
                            t += 1
                        }
                    }
                }
            }
        }

        // M[xi] (tiles, outC) = V[xi] (tiles, inC) x U[xi] (inC, outC), for the 16 tile positions.
        let u = winograd.transformed(from: weight, inC: inC, outC: outC)
        u.withUnsafeBufferPointer { up in
            for xi in 0..<16 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tiles), Int32(outC), Int32(inC),
                            1, v + xi * vPlane, Int32(inC), up.baseAddress! + xi * inC * outC, Int32(outC),
                            0, m + xi * mPlane, Int32(outC))
            }
        }

        // Y = A^T M A per tile, then bias, residual and ReLU, written where the 2x2 tile lies inside the output.
        bias.withUnsafeBufferPointer { bp in
            let bias = bp.baseAddress!
            var t = 0
            for b in 0..<n {
                for ty in 0..<th {
                    for tx in 0..<tw {
                        let src = m + t * outC
                        let y0 = 2 * ty, x0 = 2 * tx
                        let o00 = output + ((b * h + y0) * w + x0) * outC
                        let hasRight = x0 + 1 < w, hasBelow = y0 + 1 < h
                        let r00 = residual.map { $0 + ((b * h + y0) * w + x0) * outC }
                        for oc in 0..<outC {
                            let m00 = src[oc], m01 = src[mPlane + oc], m02 = src[2 * mPlane + oc], m03 = src[3 * mPlane + oc]
                            let m10 = src[4 * mPlane + oc], m11 = src[5 * mPlane + oc], m12 = src[6 * mPlane + oc], m13 = src[7 * mPlane + oc]
                            let m20 = src[8 * mPlane + oc], m21 = src[9 * mPlane + oc], m22 = src[10 * mPlane + oc], m23 = src[11 * mPlane + oc]
                            let m30 = src[12 * mPlane + oc], m31 = src[13 * mPlane + oc], m32 = src[14 * mPlane + oc], m33 = src[15 * mPlane + oc]
                            // rows of A^T M
                            let a0 = m00 + m10 + m20, a1 = m01 + m11 + m21, a2 = m02 + m12 + m22, a3 = m03 + m13 + m23
                            let b0 = m10 - m20 - m30, b1 = m11 - m21 - m31, b2 = m12 - m22 - m32, b3 = m13 - m23 - m33
                            var y00 = a0 + a1 + a2 + bias[oc], y01 = a1 - a2 - a3 + bias[oc]
                            var y10 = b0 + b1 + b2 + bias[oc], y11 = b1 - b2 - b3 + bias[oc]
                            if let r = r00 {
                                y00 += r[oc]
                                if hasRight { y01 += r[outC + oc] }
                                if hasBelow { y10 += r[w * outC + oc] }
                                if hasRight && hasBelow { y11 += r[(w + 1) * outC + oc] }
                            }
                            if relu { y00 = max(y00, 0); y01 = max(y01, 0); y10 = max(y10, 0); y11 = max(y11, 0) }
                            o00[oc] = y00
                            if hasRight { o00[outC + oc] = y01 }
                            if hasBelow { o00[w * outC + oc] = y10 }
                            if hasRight && hasBelow { o00[(w + 1) * outC + oc] = y11 }
                        }
                        t += 1
                    }
                }
            }
        }
    }
}
