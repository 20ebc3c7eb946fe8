// How the kernels split their work across threads, from a model's `EngineOptions`: a pass or a
// product is split only where each thread gets enough work to pay for waking it.

/// The worker threads every model's split passes run on, beside the caller. Shared: a job that
/// finds them busy (another model's forward) runs on its caller alone.
let engineWorkers = SpinningWorkers()

extension EngineOptions {
    /// Runs body(0..<items) across the engine's threads, the caller's included.
    @inline(__always)
    func parallel(_ items: Int, _ body: (Int) -> Void) {
        engineWorkers.reserve(threads - 1)
        engineWorkers.run(items: items, body)
    }

    /// The threads worth using for a product of `macs` multiply-adds: fewer than `threads` where
    /// each would get less than `splitMACs`.
    func threadsWorthIt(macs: Int) -> Int {
        max(1, min(threads, macs / splitMACs))
    }

    /// The fewest items of `floats` floats each worth waking a thread for.
    func itemsWorthAThread(floatsEach floats: Int) -> Int {
        max(1, splitFloats / max(1, floats))
    }

    /// Runs `body` on `count` items split into contiguous ranges, one per thread (serially when one
    /// thread is set or there are fewer than `minimumPerThread` items per thread).
    func forEachChunk(of count: Int, minimumPerThread: Int = 16, _ body: (Range<Int>) -> Void) {
        let threads = max(1, min(self.threads, count / max(1, minimumPerThread)))
        if threads == 1 {
            body(0..<count)
            return
        }
        parallel(threads) { i in
            body((i * count / threads)..<((i + 1) * count / threads))
        }
    }
}
