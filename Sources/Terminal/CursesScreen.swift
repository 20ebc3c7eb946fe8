// The one file that calls ncurses: opens and restores the terminal, turns grid cells into
// wide characters and colour pairs, draws only the cells that changed, and reads keys.
// Every method runs on `queue` (ncurses is not thread-safe).

import CNcursesw
import Dispatch
import Glibc

/// The full-screen terminal. Create it, call `draw` and `readKeys` on `queue`, `close` when done.
public final class CursesScreen: @unchecked Sendable {
    /// The serial queue every ncurses call happens on.
    public let queue: DispatchQueue
    /// What the terminal shows now; cells equal to it are not sent again.
    private var lastDrawn: CellGrid?
    /// (foreground, background) -> pair number, allocated as colours appear.
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var isOpen = false
    /// How the terminal can show colour: COLORS as ncurses reports it.
    public private(set) var colorCount: Int32 = 0

    private struct PairKey: Hashable {
        let foreground: Int32
        let background: Int32
    }

    /// A_BOLD: NCURSES_BITS(1, 13), a macro Swift cannot import.
    private static let boldAttribute: attr_t = 1 << (13 + 8)

    /// Cells written by the last `draw` (for the backing-store test and the benchmark).
    public private(set) var cellsWrittenLastDraw = 0

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
                throw TerminalError("ncurses could not open the terminal (TERM=\(getenv("TERM").map { String(cString: $0) } ?? "unset")); run fertui in a terminal, or use --headless")
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
        lastDrawn = nil
        pairs = [:]
        nextPair = 1
    }

    /// A screen opened on a file: the SCREEN and the two streams to release on close.
    private var offscreen: (screen: OpaquePointer, output: UnsafeMutablePointer<FILE>, input: UnsafeMutablePointer<FILE>)?

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

    /// Colour pairs allocated so far.
    public var pairsInUse: Int { pairs.count }

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

    /// Sends the cells that differ from the last drawn grid, then refreshes.
    public func draw(_ grid: CellGrid) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isOpen else { return }
        if lastDrawn.map({ $0.width != grid.width || $0.height != grid.height }) ?? true {
            lastDrawn = nil
            erase()
        }
        if !send(grid) {
            // Colour pairs ran out and were recycled: cells already on screen may use a redefined
            // pair, so everything is drawn again with a fresh table.
            pairs = [:]
            nextPair = 1
            lastDrawn = nil
            _ = send(grid)
        }
        lastDrawn = grid
        wrefresh(stdscr)
    }

    /// Writes changed cells; false when the pair table overflowed part-way.
    private func send(_ grid: CellGrid) -> Bool {
        let previous = lastDrawn
        var written = 0
        var character = cchar_t()
        var wide: [wchar_t] = [0, 0]
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if let previous, previous[x, y] == cell { continue }
                guard var pair = pair(for: cell) else { return false }
                wide[0] = wchar_t(bitPattern: cell.glyph.value)
                setcchar(&character, wide, cell.bold ? Self.boldAttribute : 0, 0, &pair)
                mvwadd_wch(stdscr, Int32(y), Int32(x), &character)
                written += 1
            }
        }
        cellsWrittenLastDraw = written
        return true
    }

    /// The pair for a cell's colours, allocated on first use; nil when the table is full.
    private func pair(for cell: Cell) -> Int32? {
        let key = PairKey(foreground: terminalColor(cell.foreground), background: terminalColor(cell.background))
        if key.foreground == -1 && key.background == -1 { return 0 }
        if let p = pairs[key] { return p }
        guard nextPair < COLOR_PAIRS else {
            return nil
        }
        let p = nextPair
        nextPair += 1
        init_extended_pair(p, key.foreground, key.background)
        pairs[key] = p
        return p
    }

    /// A grid colour as this terminal's colour number (-1: the terminal's default).
    private func terminalColor(_ color: CellColor) -> Int32 {
        switch color {
        case .terminalDefault:
            return -1
        case .indexed(let n):
            if colorCount >= 0x100_0000 {
                let (r, g, b) = XtermPalette.rgb(n)
                return Self.direct(r, g, b)
            }
            if colorCount >= 256 { return Int32(n) }
            if colorCount >= 8 { let (r, g, b) = XtermPalette.rgb(n); return Int32(XtermPalette.nearestBasic(r, g, b)) }
            return -1
        case .rgb(let r, let g, let b):
            if colorCount >= 0x100_0000 { return Self.direct(r, g, b) }
            if colorCount >= 256 { return Int32(XtermPalette.nearest256(r, g, b)) }
            if colorCount >= 8 { return Int32(XtermPalette.nearestBasic(r, g, b)) }
            return -1
        }
    }

    /// Direct-colour terminals number colours as 0xRRGGBB; 0...7 are the ANSI colours there.
    private static func direct(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int32 {
        max(8, Int32(r) << 16 | Int32(g) << 8 | Int32(b))
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
