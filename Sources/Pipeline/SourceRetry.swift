// What the capture loop does when a source fails: a recoverable error (a camera unplugged, a
// frame that did not come, a busy device) is retried with growing waits; anything else ends the run.
// Kept apart from the loop so the decisions are tested without threads.

import Foundation
import Vision

/// The retry state of one source: how many tries in a row failed and what to tell the user.
struct SourceRetry {
    /// Seconds before the first retry; each further failure doubles it, up to `longestWait`.
    var firstWait = 0.1
    var longestWait = 2.0
    private(set) var failures = 0
    private(set) var message = ""

    /// After a failure: seconds to wait before asking again, or nil when the error is not recoverable.
    mutating func failed(_ error: Error, source: String) -> Double? {
        guard let e = error as? RecoverableSourceError, e.isRecoverable else { return nil }
        failures += 1
        let wait = min(longestWait, firstWait * pow(2, Double(min(failures - 1, 20))))
        message =
            "camera lost, retrying... (\(source): \(error); try \(failures), next in \(String(format: "%.1f", wait)) s)"
        return wait
    }

    /// After a frame: a notice when it ends a run of failures, nil otherwise.
    mutating func succeeded() -> String? {
        guard failures > 0 else { return nil }
        failures = 0
        message = ""
        return "camera is back"
    }
}
