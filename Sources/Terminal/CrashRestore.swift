// If fertui ever crashes while the screen is open, the terminal is put back first and the crash
// report (the Swift runtime's backtrace) prints after it, on a normal screen: a handler on each
// fatal signal restores the terminal's modes, then hands the signal to whoever had it before.

import Glibc

enum CrashRestore {
    /// The fatal signals whose reports should land on a restored terminal.
    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

    /// Saved once, read by the handler: async-signal context can only touch plain memory.
    nonisolated(unsafe) private static var savedModes = termios()
    nonisolated(unsafe) private static var haveModes = false
    /// The handlers found on install, by signal number (touched first in `install`).
    nonisolated(unsafe) private static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    nonisolated(unsafe) private static var installed = false

    /// Remembers the terminal's modes now (before ncurses changes them) and installs the handlers.
    static func install() {
        guard !installed else { return }
        installed = true
        haveModes = tcgetattr(STDIN_FILENO, &savedModes) == 0
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in CrashRestore.handle(number) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, previous + Int(number))
        }
    }

    /// In the signal handler: only write(2), tcsetattr(2), dup2(2), sigaction(2) and raise(3), all
    /// async-signal-safe. The escape codes leave the alternate screen, reset colours and show the
    /// cursor; the modes bring echo and line editing back.
    private static func handle(_ number: Int32) {
        let reset: StaticString = "\u{1B}[0m\u{1B}[?1049l\u{1B}[?25h\r\n"
        _ = write(STDOUT_FILENO, reset.utf8Start, reset.utf8CodeUnitCount)
        if haveModes { _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedModes) }
        // The report goes to the real standard error, not the file that holds library noise.
        if StandardErrorHold.realStandardError >= 0 { _ = dup2(StandardErrorHold.realStandardError, STDERR_FILENO) }
        // The signal is blocked while this handler runs: raised again, it reaches the previous
        // handler (the runtime's crash reporter, or the default action) as soon as this returns.
        sigaction(number, previous + Int(number), nil)
        raise(number)
    }
}
