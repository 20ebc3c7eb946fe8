// The engine's one door to OpenBLAS's sgemm, and its threads. OpenBLAS runs single-threaded and the
// engine splits each product across its own threads (Workers.swift): with OpenBLAS's pool, its idle
// worker spins in sched_yield between calls and fights the engine's threads (im2col, Winograd
// transforms, epilogues) for the two cores; a fifth of a ResNet18 forward went to the scheduler.

import COpenBLAS
import Dispatch
import Foundation

/// OpenBLAS's own thread count at start-up (the cores, or OPENBLAS_NUM_THREADS): the engine's
/// default. Read, then OpenBLAS set single-threaded, once, before the first product or split,
/// whichever comes first.
private let startupThreads: Int = {
    let threads = max(1, Int(openblas_get_num_threads()))
    openblas_set_num_threads(1)
    engineWorkers.reserve(threads - 1)
    return threads
}()

/// The threads that run split passes beside the caller (`engineThreadCount - 1` of them are used).
let engineWorkers = SpinningWorkers()

/// FERTUI_DISPATCH=1 runs split passes on DispatchQueue.concurrentPerform instead (for A/B benchmarks).
let splitsOnDispatch = ProcessInfo.processInfo.environment["FERTUI_DISPATCH"] == "1"

/// Runs body(0..<items) across the engine's threads, the caller's included.
@inline(__always)
func parallel(_ items: Int, _ body: (Int) -> Void) {
    if splitsOnDispatch {
        DispatchQueue.concurrentPerform(iterations: items, execute: body)
    } else {
        engineWorkers.run(items: items, body)
    }
}

/// Threads for the engine's own kernels and its GEMM splits.
nonisolated(unsafe) var engineThreadCount = startupThreads

/// Sets how many threads the engine uses for every forward that follows.
public func setEngineThreads(_ threads: Int) {
    _ = startupThreads
    engineThreadCount = max(1, threads)
    engineWorkers.reserve(engineThreadCount - 1)
}

/// The number of threads the engine uses now.
public func engineThreads() -> Int {
    engineThreadCount
}

/// c (m, n) = a (m, k) x b (k, n), row-major with leading dimensions lda, ldb, ldc, on one thread.
@inline(__always)
func sgemmSerial(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = startupThreads
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}

/// c (m, n) = a (m, k) x b (k, n), split across the engine's threads: by rows where there are many
/// (each thread packs all of b: splitting columns instead, even where b is the larger, measured
/// slower), else by 16-column slices of b and c, else in one call.
func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           c: UnsafeMutablePointer<Float>, ldc: Int) {
    let threads = threadsWorthIt(macs: m * n * k)
    if threads > 1 && m >= 64 * threads {
        parallel(threads) { i in
            let first = i * m / threads, last = (i + 1) * m / threads
            sgemmSerial(m: last - first, n: n, k: k, a: a + first * lda, lda: lda, b: b, ldb: ldb,
                        c: c + first * ldc, ldc: ldc)
        }
    } else if threads > 1 && n >= 32 * threads {
        let slices = n / 16
        parallel(threads) { i in
            let first = i * slices / threads * 16, last = i == threads - 1 ? n : (i + 1) * slices / threads * 16
            sgemmSerial(m: m, n: last - first, k: k, a: a, lda: lda, b: b + first, ldb: ldb, c: c + first, ldc: ldc)
        }
    } else {
        sgemmSerial(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }
}

/// Multiply-adds a product must have per thread before it is split. Waking a thread and the second
/// thread's own packing of b cost tens of microseconds; at 48 px most products are smaller than
/// that: splitting them all made a ResNet18 forward at 48 px 1.7x slower (2.46 against 1.43 ms,
/// medians of three A/B runs, threads woken by Dispatch) and this threshold left 224 px unchanged.
/// FERTUI_SPLIT_MACS overrides it for A/B benchmarks; tests set 1 to split every product.
nonisolated(unsafe) var macsWorthAThread = ProcessInfo.processInfo.environment["FERTUI_SPLIT_MACS"].flatMap { Int($0) } ?? 1 << 22

/// The engine's threads, or fewer where a product of `macs` multiply-adds would give a thread less
/// than `macsWorthAThread`.
func threadsWorthIt(macs: Int) -> Int {
    max(1, min(engineThreadCount, macs / max(1, macsWorthAThread)))
}

/// Floats a pass must move per thread before it is split: waking a thread costs a few
/// microseconds, about what moving 32K floats does (at 48 px most passes are smaller and ran
/// slower split). Tests set 1 to split every pass.
nonisolated(unsafe) var floatsWorthAThread = 32_768

/// The fewest items of `floats` floats each worth waking a thread for.
func itemsWorthAThread(floatsEach floats: Int) -> Int {
    max(1, floatsWorthAThread / max(1, floats))
}

/// Runs `body` on `count` items split into contiguous ranges, one per engine thread (serially when
/// one thread is set or the work is too small to be worth waking another).
func forEachChunk(of count: Int, minimumPerThread: Int = 16, _ body: (Range<Int>) -> Void) {
    let threads = max(1, min(engineThreadCount, count / minimumPerThread))
    if threads == 1 {
        body(0..<count)
        return
    }
    parallel(threads) { i in
        body((i * count / threads)..<((i + 1) * count / threads))
    }
}
