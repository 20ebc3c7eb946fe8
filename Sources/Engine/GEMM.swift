// The engine's one door to OpenBLAS's sgemm, the split of one product across the engine's threads,
// and the naive product the fast ones are checked against. OpenBLAS runs single-threaded and the
// engine splits products itself: OpenBLAS's own idle workers spin between calls and fight the
// engine's threads (im2col, Winograd transforms, epilogues) for the cores.

import COpenBLAS

/// OpenBLAS's own thread count at start-up (the cores, or OPENBLAS_NUM_THREADS): the default for
/// `EngineOptions.threads`. Read, then OpenBLAS set single-threaded, once, before the first product
/// or the first options, whichever comes first.
let openBLASStartupThreads: Int = {
    let threads = max(1, Int(openblas_get_num_threads()))
    openblas_set_num_threads(1)
    return threads
}()

/// c (m, n) = a (m, k) x b (k, n), row-major with leading dimensions lda, ldb, ldc, on one thread.
@inline(__always)
func sgemmSerial(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    _ = openBLASStartupThreads
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
        1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}

/// c (m, n) = a (m, k) x b (k, n), split across the threads `options` allows: by rows where there
/// are many (each thread packs all of b; splitting columns instead is slower even where b is the
/// larger), else by 16-column slices of b and c, else in one call.
func sgemm(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, options: EngineOptions
) {
    let threads = options.threadsWorthIt(macs: m * n * k)
    if threads > 1 && m >= 64 * threads {
        options.parallel(threads) { i in
            let first = i * m / threads
            let last = (i + 1) * m / threads
            sgemmSerial(
                m: last - first, n: n, k: k, a: a + first * lda, lda: lda, b: b, ldb: ldb,
                c: c + first * ldc, ldc: ldc)
        }
    } else if threads > 1 && n >= 32 * threads {
        let slices = n / 16
        options.parallel(threads) { i in
            let first = i * slices / threads * 16
            let last = i == threads - 1 ? n : (i + 1) * slices / threads * 16
            sgemmSerial(m: m, n: last - first, k: k, a: a, lda: lda, b: b + first, ldb: ldb, c: c + first, ldc: ldc)
        }
    } else {
        sgemmSerial(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }
}

/// The reference for `sgemm` and `smallRowGEMM`: c (m, n) = a (m, k) x b (k, n), all row-major and
/// packed, one dot product per output in k order.
func naiveGEMM(m: Int, n: Int, k: Int, a: [Float], b: [Float]) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for t in 0..<k { sum += a[i * k + t] * b[t * n + j] }
            c[i * n + j] = sum
        }
    }
    return c
}
