// The register-blocked product for GEMMs of few rows (small inputs: a 48 px face's deep layers
// have 2x2 or 3x3 pixels), where OpenBLAS's per-call packing of the weights costs more than the
// arithmetic.

/// output (rows, cols) = a (rows, inner) x weight (inner, cols) for few rows, weight given as
/// 8-column panels (cols/8, inner, 8). OpenBLAS copies the whole weight into its own panel format on
/// every call, which at 2x2 pixels costs more than the arithmetic; here the panels stream two at a
/// time, once per six rows, with the 6x16 accumulators in registers (12 of the 16 AVX registers:
/// two weight loads and six broadcasts feed twelve FMAs). Pairs of panels are split across the
/// threads `options` allows. `naiveGEMM` (GEMM.swift) is its reference.
func smallRowGEMM(
    _ a: UnsafePointer<Float>, rows: Int, inner: Int, panels: UnsafePointer<Float>, cols: Int,
    output: UnsafeMutablePointer<Float>, options: EngineOptions
) {
    let panelCount = cols / 8
    let pairs = (panelCount + 1) / 2
    let threads = min(options.threadsWorthIt(macs: rows * inner * cols), pairs)
    let stride = cols * 4  // bytes from one output row to the next
    let work = { (chunk: Int) in
        for pair in (chunk * pairs / threads)..<((chunk + 1) * pairs / threads) {
            let panel = 2 * pair
            let w0 = UnsafeRawPointer(panels + panel * inner * 8)
            var r0 = 0
            while r0 < rows {
                // Six row pointers; past the last row they repeat it (computed, not stored).
                let a0 = a + r0 * inner
                let a1 = a + min(r0 + 1, rows - 1) * inner
                let a2 = a + min(r0 + 2, rows - 1) * inner
                let a3 = a + min(r0 + 3, rows - 1) * inner
                let a4 = a + min(r0 + 4, rows - 1) * inner
                let a5 = a + min(r0 + 5, rows - 1) * inner
                let out = UnsafeMutableRawPointer(output + r0 * cols + panel * 8)
                @inline(__always) func store(_ c: SIMD8<Float>, row: Int, offset: Int) {
                    if r0 + row < rows {
                        out.storeBytes(of: c, toByteOffset: row * stride + offset, as: SIMD8<Float>.self)
                    }
                }
                var c0 = SIMD8<Float>()
                var c1 = SIMD8<Float>()
                var c2 = SIMD8<Float>()
                var c3 = SIMD8<Float>()
                var c4 = SIMD8<Float>()
                var c5 = SIMD8<Float>()
                if panel + 1 < panelCount {
                    let w1 = UnsafeRawPointer(panels + (panel + 1) * inner * 8)
                    var d0 = SIMD8<Float>()
                    var d1 = SIMD8<Float>()
                    var d2 = SIMD8<Float>()
                    var d3 = SIMD8<Float>()
                    var d4 = SIMD8<Float>()
                    var d5 = SIMD8<Float>()
                    for k in 0..<inner {
                        let u = w0.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        let v = w1.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        // addingProduct is one FMA here: the engine is built for Haswell.
                        var s = SIMD8<Float>(repeating: a0[k])
                        c0 = c0.addingProduct(s, u)
                        d0 = d0.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a1[k])
                        c1 = c1.addingProduct(s, u)
                        d1 = d1.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a2[k])
                        c2 = c2.addingProduct(s, u)
                        d2 = d2.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a3[k])
                        c3 = c3.addingProduct(s, u)
                        d3 = d3.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a4[k])
                        c4 = c4.addingProduct(s, u)
                        d4 = d4.addingProduct(s, v)
                        s = SIMD8<Float>(repeating: a5[k])
                        c5 = c5.addingProduct(s, u)
                        d5 = d5.addingProduct(s, v)
                    }
                    store(d0, row: 0, offset: 32)
                    store(d1, row: 1, offset: 32)
                    store(d2, row: 2, offset: 32)
                    store(d3, row: 3, offset: 32)
                    store(d4, row: 4, offset: 32)
                    store(d5, row: 5, offset: 32)
                } else {
                    // The last panel of an odd count, alone.
                    for k in 0..<inner {
                        let u = w0.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                        c0 = c0.addingProduct(SIMD8(repeating: a0[k]), u)
                        c1 = c1.addingProduct(SIMD8(repeating: a1[k]), u)
                        c2 = c2.addingProduct(SIMD8(repeating: a2[k]), u)
                        c3 = c3.addingProduct(SIMD8(repeating: a3[k]), u)
                        c4 = c4.addingProduct(SIMD8(repeating: a4[k]), u)
                        c5 = c5.addingProduct(SIMD8(repeating: a5[k]), u)
                    }
                }
                store(c0, row: 0, offset: 0)
                store(c1, row: 1, offset: 0)
                store(c2, row: 2, offset: 0)
                store(c3, row: 3, offset: 0)
                store(c4, row: 4, offset: 0)
                store(c5, row: 5, offset: 0)
                r0 += 6
            }
        }
    }
    if threads <= 1 {
        work(0)
    } else {
        options.parallel(threads, work)
    }
}
