// fertui's clocks: the monotonic one that frame timestamps, stage timings, rates and pacing all
// read, and the thread's CPU time that paces face detection.

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

/// CPU time of the calling thread, seconds: what detection costs whatever else the machine runs.
public func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
