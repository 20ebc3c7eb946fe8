// The one clock of fertui: frame timestamps, stage timings, rates and pacing all read it.

import Dispatch
import Foundation

/// Seconds on a monotonic clock (the same clock for every source).
public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// Waits until `deadline` (monotonic seconds); returns at once when it has passed.
func sleep(until deadline: Double) {
    let wait = deadline - monotonicSeconds()
    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
}
