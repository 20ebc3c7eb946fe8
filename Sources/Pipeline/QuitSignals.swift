// Termination signals turned into a normal quit, so the monitor and the headless run stop the
// pipeline, close the log and restore the terminal on the way out instead of dying mid-frame.

import Dispatch
import Foundation

/// While it lives, each of `numbers` calls the handler instead of ending the process.
public final class QuitSignals {
    /// What ends a run the way `q` does: Ctrl-C, Ctrl-\\ (SIGQUIT), kill, a closed terminal.
    public static let standard = [SIGINT, SIGQUIT, SIGTERM, SIGHUP]

    private let numbers: [Int32]
    private var sources: [DispatchSourceSignal] = []

    /// `handler` runs on a global queue with the signal's number.
    public init(_ numbers: [Int32], handler: @escaping (Int32) -> Void) {
        self.numbers = numbers
        for number in numbers {
            signal(number, SIG_IGN)  // the dispatch source sees it; the default action would kill us
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops handling the signals and gives them their default action back.
    public func cancel() {
        for source in sources { source.cancel() }
        sources = []
        for number in numbers { signal(number, SIG_DFL) }
    }
}
