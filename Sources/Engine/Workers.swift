// The engine's worker threads: each split pass hands its items to workers that spin a little before
// they sleep. A forward splits dozens of passes (per convolution: im2col, the GEMM, the epilogue), each
// a fraction of a millisecond apart; waking a sleeping thread through the kernel for each of them
// costs more than spinning through the gap. A worker that finds no job for `spinLimit` polls sleeps
// on a condition, so between forwards (the live monitor's frames) nothing spins.

import Foundation
import Synchronization

/// Threads that run the items of one parallel job at a time, with the caller taking items too.
final class SpinningWorkers: @unchecked Sendable {
    /// The job being run: (epoch << 32) | (items << 16) | next item. One word, so a worker that
    /// claims an item with a compare-exchange knows it claimed it from the job it saw.
    private let state = Atomic<UInt64>(0)
    /// Items of the current job not yet finished.
    private let unfinished = Atomic<Int>(0)
    /// Workers asleep (or about to be) on `bell`.
    private let sleepers = Atomic<Int>(0)
    private let bell = NSCondition()
    /// The current job's body: written before its epoch is published, read only by a thread that
    /// claimed one of its items (so the caller is still waiting for it).
    private nonisolated(unsafe) var body: ((Int) -> Void)? = nil
    /// Held while a job runs; `run` finding it taken runs its items serially.
    private let serial = NSLock()
    private let growing = NSLock()
    /// Workers started (read without the lock by `reserve`'s fast path).
    private let started = Atomic<Int>(0)
    var workerCount: Int { started.load(ordering: .relaxed) }
    /// Polls of `state` before an idle worker sleeps: some tens of microseconds, longer than the gaps
    /// between the passes of one forward, far shorter than the time between two frames.
    static let spinLimit = 20_000
    static let maxItems = 0xFFFF

    /// Makes sure at least `count` workers exist (they are never stopped).
    @inline(__always)
    func reserve(_ count: Int) {
        if started.load(ordering: .relaxed) >= count { return }
        grow(to: count)
    }

    private func grow(to count: Int) {
        growing.lock()
        defer { growing.unlock() }
        while started.load(ordering: .relaxed) < count {
            let number = started.load(ordering: .relaxed) + 1
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "fertui.engine.worker\(number)"
            thread.start()
            started.store(number, ordering: .releasing)
        }
    }

    /// Runs job(0..<items) on the calling thread and the workers; returns when all are done.
    func run(items: Int, _ job: (Int) -> Void) {
        // Serially: one item, no workers, or another job running (a second model's forward on
        // another thread, or a pass split inside a split one).
        guard items > 1, items <= Self.maxItems, workerCount > 0, serial.try() else {
            for i in 0..<items { job(i) }
            return
        }
        defer { serial.unlock() }
        withoutActuallyEscaping(job) { job in
            body = job
            unfinished.store(items, ordering: .relaxed)
            let epoch = (state.load(ordering: .relaxed) >> 32) &+ 1
            state.store((epoch << 32) | (UInt64(items) << 16), ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                bell.lock()
                bell.broadcast()
                bell.unlock()
            }
            take(epoch: epoch)
            while unfinished.load(ordering: .acquiring) > 0 {}
            body = nil
        }
    }

    /// Claims and runs items of job `epoch` until none are left.
    private func take(epoch: UInt64) {
        while true {
            let s = state.load(ordering: .acquiring)
            let next = Int(s & 0xFFFF)
            let items = Int((s >> 16) & 0xFFFF)
            guard s >> 32 == epoch, next < items else { return }
            if state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing).exchanged {
                body!(next)
                unfinished.subtract(1, ordering: .releasing)
            }
        }
    }

    private func workerLoop() {
        var seen = state.load(ordering: .acquiring) >> 32
        while true {
            var polls = 0
            var epoch = state.load(ordering: .acquiring) >> 32
            while epoch == seen && polls < Self.spinLimit {
                polls += 1
                epoch = state.load(ordering: .acquiring) >> 32
            }
            if epoch == seen {
                // Sleep. `sleepers` goes up before the last look at `state`, and `run` publishes a
                // job before it reads `sleepers`: one of the two sees the other, so no job is missed.
                bell.lock()
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while state.load(ordering: .sequentiallyConsistent) >> 32 == seen { bell.wait() }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                bell.unlock()
                epoch = state.load(ordering: .acquiring) >> 32
            }
            seen = epoch
            take(epoch: epoch)
        }
    }
}
