// The meters PipelineMetrics is made of: an event rate, a moving average and a rolling median.

import Vision

/// Events per second over the last `window` seconds; below two events per window (a slow
/// model), the interval between the last two events, while the last one is recent.
public struct RateMeter: Sendable {
    public let window: Double
    /// How long after the last event a slow rate is still reported.
    public let staleAfter: Double
    private var times: [Double] = []

    public init(window: Double = 1.0, staleAfter: Double = 10) {
        self.window = window
        self.staleAfter = staleAfter
    }

    public mutating func tick(at t: Double = monotonicSeconds()) {
        times.append(t)
        // Keep the last two events however old, so slow rates can still be reported.
        if times.count > 2, let first = times.first, t - first > window * 2 {
            let drop = min(times.count - 2, times.firstIndex(where: { t - $0 <= window }) ?? times.count - 2)
            times.removeFirst(drop)
        }
    }

    /// (count - 1) / span of the events within `window` of `now`, so it reads right as soon as
    /// two events have happened; 0 once nothing happened for `staleAfter` seconds.
    public func rate(at now: Double = monotonicSeconds()) -> Double {
        let recent = times.filter { now - $0 <= window }
        if recent.count >= 2, let first = recent.first, let last = recent.last, last > first {
            return Double(recent.count - 1) / (last - first)
        }
        guard times.count >= 2, let last = times.last, now - last <= staleAfter else { return 0 }
        let previous = times[times.count - 2]
        return last > previous ? 1 / (last - previous) : 0
    }
}

/// An exponential moving average: new = old + alpha * (sample - old); the first sample is taken as is.
public struct MovingAverage: Sendable {
    public let alpha: Double
    public private(set) var value = 0.0
    private var started = false

    public init(alpha: Double = 0.2) {
        self.alpha = alpha
    }

    public mutating func add(_ sample: Double) {
        if started {
            value += alpha * (sample - value)
        } else {
            value = sample
            started = true
        }
    }
}

/// The median of the last `capacity` samples.
public struct RollingMedian: Sendable {
    public let capacity: Int
    private var samples: [Double] = []
    private var next = 0

    public init(capacity: Int = 240) {
        self.capacity = capacity
    }

    public mutating func add(_ sample: Double) {
        if samples.count < capacity { samples.append(sample) } else { samples[next] = sample }
        next = (next + 1) % capacity
    }

    public var count: Int { samples.count }

    public var median: Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
