// The one file that calls ncurses: it opens and restores the terminal, knows its size and reads
// keys. Cells are not drawn through ncurses' colour pairs (a moving colour picture needs more
// pairs than a terminal has, and re-pairing made truecolor slow): the changed cells go out as
// escape codes from AnsiEncoder in one write. Every method runs on `queue` (ncurses is not
// thread-safe).

import CNcursesw
import Dispatch
import Glibc

/// The full-screen terminal. Create it, call `draw` and `readKeys` on `queue`, `close` when done.
public final class CursesScreen: @unchecked Sendable {
    /// The serial queue every ncurses call happens on.
    public let queue: DispatchQueue
    /// What the terminal shows now; cells equal to it are not sent again.
    private var lastDrawn: CellGrid?
    private var isOpen = false
    /// Where drawn bytes go: the terminal, or the file a test opened the screen on.
    private var outputDescriptor: Int32 = STDOUT_FILENO
    /// Reused for every draw, so a frame costs no allocation once it has grown.
    private var bytes: [UInt8] = []
    /// How the terminal can show colour: COLORS as ncurses reports it.
    public private(set) var colorCount: Int32 = 0
    /// The colour depth drawing uses: 24-bit when COLORTERM says so, else what terminfo says.
    public internal(set) var depth: ColorDepth = .none

    /// Cells written by the last `draw` (for the backing-store test and the benchmark).
    public private(set) var cellsWrittenLastDraw = 0
    /// Bytes written by the last `draw`.
    public private(set) var bytesWrittenLastDraw = 0

    public init(queue: DispatchQueue) {
        self.queue = queue
    }

    /// Puts the terminal in full-screen mode: UTF-8 locale, no echo, keys without waiting,
    /// hidden cursor, colours with the terminal's default background available as -1.
    /// `output`: write to this file as terminal `type` instead of the controlling terminal (tests).
    public func open(output: String? = nil, type: String = "xterm-256color") throws {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isOpen else { return }
        setlocale(LC_ALL, "")
        if let output {
            guard let out = fopen(output, "w"), let input = fopen("/dev/null", "r") else {
                throw TerminalError("cannot open \(output) as the screen's output")
            }
            guard let screen = newterm(type, out, input) else {
                throw TerminalError("ncurses has no terminal description for \(type)")
            }
            set_term(screen)
            offscreen = (screen, out, input)
        } else {
            StandardErrorHold.begin()
            guard initscr() != nil else {
                _ = StandardErrorHold.end()
                throw TerminalError(
                    "ncurses could not open the terminal "
                        + "(TERM=\(getenv("TERM").map { String(cString: $0) } ?? "unset")); "
                        + "run fertui in a terminal, or use --headless"
                )
            }
        }
        isOpen = true
        ActiveScreen.isOpen = output == nil
        cbreak()
        noecho()
        nonl()
        keypad(stdscr, true)
        nodelay(stdscr, true)
        set_escdelay(25)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
        }
        colorCount = has_colors() ? COLORS : 0
        let colorterm = getenv("COLORTERM").map { String(cString: $0) }
        depth = CursesScreen.depth(colors: colorCount, environment: colorterm.map { ["COLORTERM": $0] } ?? [:])
        outputDescriptor = offscreen.map { fileno($0.output) } ?? STDOUT_FILENO
        lastDrawn = nil
        // Let ncurses clear the screen once now; it is not asked to draw again, so it never
        // repaints over what the encoder sent.
        leaveok(stdscr, true)
        wrefresh(stdscr)
    }

    /// The depth to draw at: 24-bit when COLORTERM is truecolor or 24bit (terminals that take
    /// 24-bit codes announce that, whatever TERM's terminfo says), else the terminfo's colours.
    public static func depth(colors: Int32, environment: [String: String]) -> ColorDepth {
        let colorterm = environment["COLORTERM"]?.lowercased() ?? ""
        if colors >= 8 && (colorterm == "truecolor" || colorterm == "24bit") { return .direct }
        if colors >= 0x100_0000 { return .direct }
        if colors >= 256 { return .palette256 }
        if colors >= 8 { return .basic }
        return .none
    }

    /// A screen opened on a file: the SCREEN and the two streams to release on close.
    private var offscreen:
        (screen: OpaquePointer, output: UnsafeMutablePointer<FILE>, input: UnsafeMutablePointer<FILE>)?

    /// Gives the terminal back as it was. Safe to call more than once.
    public func close() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isOpen else { return }
        isOpen = false
        ActiveScreen.isOpen = false
        curs_set(1)
        endwin()
        if let o = offscreen {
            delscreen(o.screen)
            fclose(o.output)
            fclose(o.input)
            offscreen = nil
        }
        let held = StandardErrorHold.end()
        if !held.isEmpty {
            let lines = held.split(separator: "\n", omittingEmptySubsequences: true)
            let shown = lines.suffix(20).joined(separator: "\n")
            let count = lines.count > 20 ? "\(lines.count) lines, the last 20" : "\(lines.count) lines"
            let report = Array("fertui: printed while the screen was open (\(count)):\n\(shown)\n".utf8)
            _ = report.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

    /// Restores the terminal from any thread at process exit (atexit, fatal paths): endwin only.
    public static func restoreAtExit() {
        atexit {
            if ActiveScreen.isOpen { endwin() }
        }
    }

    /// The terminal's size in cells.
    public func size() -> (width: Int, height: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        return (Int(getmaxx(stdscr)), Int(getmaxy(stdscr)))
    }

    /// Forgets what is on screen so the next draw sends every cell (after a resize or a glitch).
    public func invalidate() {
        lastDrawn = nil
    }

    /// Sends the cells that differ from the last drawn grid, in one write.
    public func draw(_ grid: CellGrid) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isOpen else { return }
        if lastDrawn.map({ $0.width != grid.width || $0.height != grid.height }) ?? true {
            // A new size (or invalidate): ncurses clears the screen, then every cell is sent.
            lastDrawn = nil
            erase()
            wrefresh(stdscr)
        }
        bytes.removeAll(keepingCapacity: true)
        cellsWrittenLastDraw = AnsiEncoder.encode(grid, previous: lastDrawn, depth: depth, into: &bytes)
        bytesWrittenLastDraw = bytes.count
        if offscreen != nil { fflush(offscreen!.output) }
        writeAll(bytes)
        lastDrawn = grid
    }

    /// write(2) until every byte is out (a terminal takes large writes in pieces).
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(outputDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return  // the terminal is gone (SIGHUP follows); nothing to draw on
                }
                offset += n
            }
        }
    }

    /// Keys typed since the last call (never blocks).
    public func readKeys() -> [KeyPress] {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isOpen else { return [] }
        var keys: [KeyPress] = []
        var code: wint_t = 0
        while true {
            let status = wget_wch(stdscr, &code)
            if status == ERR { break }
            if status == KEY_CODE_YES {
                switch Int32(code) {
                case KEY_RESIZE: keys.append(.resize)
                case KEY_BTAB: keys.append(.backTab)
                case KEY_ENTER: keys.append(.enter)
                default: keys.append(.other(Int32(code)))
                }
                continue
            }
            switch code {
            case 9: keys.append(.tab)
            case 27: keys.append(.escape)
            case 10, 13: keys.append(.enter)
            default:
                if let scalar = Unicode.Scalar(UInt32(code)) { keys.append(.character(Character(scalar))) }
            }
        }
        return keys
    }
}

/// Whether a screen is open, for the atexit hook (which cannot capture).
private enum ActiveScreen {
    nonisolated(unsafe) static var isOpen = false
}

/// A terminal that could not be used.
public struct TerminalError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
