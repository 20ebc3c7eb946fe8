// A pipeline stage: one named serial queue, at most one item waiting. A new item replaces the
// waiting one (latest wins, the replaced one counted as dropped), or, in lossless mode, the
// submitter waits until the slot is free, so nothing ever queues without bound.

import Dispatch
import Foundation

/// How a stage treats an item that arrives while another is waiting.
public enum BackpressurePolicy: Sendable {
    /// Replace the waiting item: live sources, where only the newest frame matters.
    case dropOldest
    /// Block the submitter until the waiting item is taken: replays where every frame counts.
    case block
}

/// One stage of the pipeline: `work` runs on `queue`, one item at a time.
public final class LatestValueStage<Input>: @unchecked Sendable {
    public let queue: DispatchQueue
    public let policy: BackpressurePolicy
    private let work: (Input) -> Void
    private let condition = NSCondition()
    private var waiting: Input?
    private var busy = false
    private var droppedCount = 0
    private var processedCount = 0

    public init(
        label: String, policy: BackpressurePolicy = .dropOldest, qos: DispatchQoS = .userInitiated,
        work: @escaping (Input) -> Void
    ) {
        self.queue = DispatchQueue(label: label, qos: qos)
        self.policy = policy
        self.work = work
    }

    /// Items replaced before they were processed.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }
    /// Items processed.
    public var processed: Int {
        condition.lock()
        defer { condition.unlock() }
        return processedCount
    }

    /// Hands an item to the stage; returns at once (dropOldest) or when the slot is free (block).
    public func submit(_ item: Input) {
        condition.lock()
        if policy == .block {
            while waiting != nil { condition.wait() }
        } else if waiting != nil {
            droppedCount += 1
        }
        waiting = item
        let start = !busy
        busy = true
        condition.unlock()
        if start { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            condition.lock()
            guard let item = waiting else {
                busy = false
                condition.broadcast()
                condition.unlock()
                return
            }
            waiting = nil
            condition.broadcast()
            condition.unlock()
            work(item)
            condition.lock()
            processedCount += 1
            condition.unlock()
        }
    }

    /// Blocks until the stage is idle or `timeout` seconds pass; true when idle.
    @discardableResult
    public func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while waiting != nil || busy {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}
