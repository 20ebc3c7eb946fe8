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
                // g: the 3x3 kernel of (oc, ic), g[ky*3 + kx].
                @inline(__always) func g(_ t: Int) -> Float { weight[(t * inC + ic) * outC + oc] }
                @inline(__always) func put(_ xi: Int, _ value: Float) { u[xi * plane + ic * outC + oc] = value }
                for r in 0..<4 {
                    // row r of G g: a combination of the kernel's three rows
                    @inline(__always) func gg(_ c: Int) -> Float {
                        let g0 = g(c), g1 = g(3 + c), g2 = g(6 + c)
                        switch r {
                        case 0: return g0
                        case 1: return 0.5 * (g0 + g1 + g2)
                        case 2: return 0.5 * (g0 - g1 + g2)
                        default: return g2
                        }
                    }
                    let x0 = gg(0), x1 = gg(1), x2 = gg(2)
                    // (G g) G^T
                    put(r * 4 + 0, x0)
                    put(r * 4 + 1, 0.5 * (x0 + x1 + x2))
                    put(r * 4 + 2, 0.5 * (x0 - x1 + x2))
                    put(r * 4 + 3, x2)
                }
            }
        }
        self.u = u
        return u
    }
}

extension FoldedConv {
    /// Whether this convolution runs as Winograd for `n` images of side `side`: dense weights (a
    /// convolution that keeps only its live block has no others to transform), 3x3 stride 1 pad 1,
    /// channels in multiples of 8 (the transforms work on eight at a time),
    /// and enough tiles that the 16 GEMMs are not dominated by call overhead.
    func usesWinograd(n: Int, side: Int) -> Bool {
        guard live == nil, kernel == 3 && stride == 1 && pad == 1 && inC % 8 == 0 && outC % 8 == 0 else { return false }
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
        // Tiles are split across the engine threads; each has its own zero row and tap pointers.
        forEachChunk(of: tiles) { range in
          withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { zeroBuffer in
            let zero = zeroBuffer.baseAddress!
            zero.update(repeating: 0, count: c)
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 16) { rowBuffer in
                let d = rowBuffer.baseAddress!
                for t in range {
                    let b = t / (th * tw), ty = t % (th * tw) / tw, tx = t % tw
                    let image = input + b * h * w * c
                    // d[i*4+j]: the pixel at row i, column j of the tile, or zeros outside the image.
                    for i in 0..<4 {
                        let y = 2 * ty - 1 + i
                        for j in 0..<4 {
                            let x = 2 * tx - 1 + j
                            d[i * 4 + j] = (y >= 0 && y < h && x >= 0 && x < w) ? image + (y * w + x) * c : UnsafePointer(zero)
                        }
                    }
                    let out = UnsafeMutableRawPointer(v + t * c)
                    let p0 = d[0], p1 = d[1], p2 = d[2], p3 = d[3], p4 = d[4], p5 = d[5], p6 = d[6], p7 = d[7]
                    let p8 = d[8], p9 = d[9], p10 = d[10], p11 = d[11], p12 = d[12], p13 = d[13], p14 = d[14], p15 = d[15]
                    let planeBytes = vPlane * 4
                    // Eight channels at a time (inC is a multiple of 8 here).
                    for ch in Swift.stride(from: 0, to: c, by: 8) {
                        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
                            UnsafeRawPointer(p + ch).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        @inline(__always) func st(_ xi: Int, _ value: SIMD8<Float>) {
                            out.storeBytes(of: value, toByteOffset: xi * planeBytes + ch * 4, as: SIMD8<Float>.self)
                        }
                        let d00 = ld(p0), d01 = ld(p1), d02 = ld(p2), d03 = ld(p3)
                        let d10 = ld(p4), d11 = ld(p5), d12 = ld(p6), d13 = ld(p7)
                        let d20 = ld(p8), d21 = ld(p9), d22 = ld(p10), d23 = ld(p11)
                        let d30 = ld(p12), d31 = ld(p13), d32 = ld(p14), d33 = ld(p15)
                        // rows of B^T d
                        let r00 = d00 - d20, r01 = d01 - d21, r02 = d02 - d22, r03 = d03 - d23
                        let r10 = d10 + d20, r11 = d11 + d21, r12 = d12 + d22, r13 = d13 + d23
                        let r20 = d20 - d10, r21 = d21 - d11, r22 = d22 - d12, r23 = d23 - d13
                        let r30 = d10 - d30, r31 = d11 - d31, r32 = d12 - d32, r33 = d13 - d33
                        // (B^T d) B, row by row
                        st(0, r00 - r02); st(1, r01 + r02); st(2, r02 - r01); st(3, r01 - r03)
                        st(4, r10 - r12); st(5, r11 + r12); st(6, r12 - r11); st(7, r11 - r13)
                        st(8, r20 - r22); st(9, r21 + r22); st(10, r22 - r21); st(11, r21 - r23)
                        st(12, r30 - r32); st(13, r31 + r32); st(14, r32 - r31); st(15, r31 - r33)
                    }
                }
            }
        }
        }

        // M[xi] (tiles, outC) = V[xi] (tiles, inC) x U[xi] (inC, outC), for the 16 tile positions.
        let u = winograd.transformed(from: weights.rowMajor(), inC: inC, outC: outC)
        // The 16 products are independent: each thread takes a share of them whole.
        u.withUnsafeBufferPointer { up in
            forEachChunk(of: 16, minimumPerThread: 1) { range in
                for xi in range {
                    sgemmSerial(m: tiles, n: outC, k: inC, a: v + xi * vPlane, lda: inC,
                                b: up.baseAddress! + xi * inC * outC, ldb: outC, c: m + xi * mPlane, ldc: outC)
                }
            }
        }

        // Y = A^T M A per tile, then bias, residual and ReLU, written where the 2x2 tile lies inside the output.
        bias.withUnsafeBufferPointer { bp in
            let bias = bp.baseAddress!
            forEachChunk(of: tiles) { range in
                for t in range {
                    let b = t / (th * tw), ty = t % (th * tw) / tw, tx = t % tw
                    let y0 = 2 * ty, x0 = 2 * tx
                    let o00 = output + ((b * h + y0) * w + x0) * outC
                    let hasRight = x0 + 1 < w, hasBelow = y0 + 1 < h
                    let r00 = residual.map { $0 + ((b * h + y0) * w + x0) * outC }
                    let src = UnsafeRawPointer(m + t * outC)
                    let out = UnsafeMutableRawPointer(o00)
                    let planeBytes = mPlane * 4, rowBytes = w * outC * 4
                    for oc in Swift.stride(from: 0, to: outC, by: 8) {
                        @inline(__always) func ld(_ xi: Int) -> SIMD8<Float> {
                            src.loadUnaligned(fromByteOffset: xi * planeBytes + oc * 4, as: SIMD8<Float>.self)
                        }
                        let m00 = ld(0), m01 = ld(1), m02 = ld(2), m03 = ld(3)
                        let m10 = ld(4), m11 = ld(5), m12 = ld(6), m13 = ld(7)
                        let m20 = ld(8), m21 = ld(9), m22 = ld(10), m23 = ld(11)
                        let m30 = ld(12), m31 = ld(13), m32 = ld(14), m33 = ld(15)
                        // rows of A^T M
                        let a0 = m00 + m10 + m20, a1 = m01 + m11 + m21, a2 = m02 + m12 + m22, a3 = m03 + m13 + m23
                        let b0 = m10 - m20 - m30, b1 = m11 - m21 - m31, b2 = m12 - m22 - m32, b3 = m13 - m23 - m33
                        let beta = UnsafeRawPointer(bias + oc).loadUnaligned(as: SIMD8<Float>.self)
                        var y00 = a0 + a1 + a2 + beta, y01 = a1 - a2 - a3 + beta
                        var y10 = b0 + b1 + b2 + beta, y11 = b1 - b2 - b3 + beta
                        if let r = r00 {
                            let rr = UnsafeRawPointer(r + oc)
                            y00 += rr.loadUnaligned(as: SIMD8<Float>.self)
                            if hasRight { y01 += rr.loadUnaligned(fromByteOffset: outC * 4, as: SIMD8<Float>.self) }
                            if hasBelow { y10 += rr.loadUnaligned(fromByteOffset: rowBytes, as: SIMD8<Float>.self) }
                            if hasRight && hasBelow { y11 += rr.loadUnaligned(fromByteOffset: rowBytes + outC * 4, as: SIMD8<Float>.self) }
                        }
                        if relu {
                            let zero = SIMD8<Float>()
                            y00.replace(with: zero, where: y00 .< zero); y01.replace(with: zero, where: y01 .< zero)
                            y10.replace(with: zero, where: y10 .< zero); y11.replace(with: zero, where: y11 .< zero)
                        }
                        out.storeBytes(of: y00, toByteOffset: oc * 4, as: SIMD8<Float>.self)
                        if hasRight { out.storeBytes(of: y01, toByteOffset: (outC + oc) * 4, as: SIMD8<Float>.self) }
                        if hasBelow { out.storeBytes(of: y10, toByteOffset: rowBytes + oc * 4, as: SIMD8<Float>.self) }
                        if hasRight && hasBelow { out.storeBytes(of: y11, toByteOffset: rowBytes + (outC + oc) * 4, as: SIMD8<Float>.self) }
                    }
                }
            }
        }
    }
}
