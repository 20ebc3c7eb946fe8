// A grid as the bytes a terminal needs: for every cell that differs from what is on screen, a
// cursor move (only where the run breaks), the colour changes (only when they change), and the
// glyph in UTF-8. Colours go out as SGR codes at the depth the terminal takes, 24-bit included,
// whatever its terminfo says (most truecolor terminals announce plain xterm-256color).

/// How many colours the terminal can show.
public enum ColorDepth: Sendable, Equatable {
    /// No colour at all: glyphs only.
    case none
    /// The 8 ANSI colours.
    case basic
    /// The xterm 256-colour palette.
    case palette256
    /// 24-bit colour (SGR 38;2;r;g;b).
    case direct
}

/// Turns grids into terminal output; keeps no state between calls.
public enum AnsiEncoder {
    /// Appends to `out` what turns a screen showing `previous` (nil: unknown, send everything)
    /// into `grid`; returns the number of cells sent. The output ends with attributes reset.
    @discardableResult
    public static func encode(_ grid: CellGrid, previous: CellGrid?, depth: ColorDepth, into out: inout [UInt8]) -> Int
    {
        let previous = previous.flatMap { $0.width == grid.width && $0.height == grid.height ? $0 : nil }
        var sent = 0
        // What the terminal's cursor and pen are now (unknown at the start: forces the first codes).
        var cursor: (x: Int, y: Int)? = nil
        var pen: (fg: CellColor, bg: CellColor, bold: Bool)? = nil
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if let previous, previous[x, y] == cell { continue }
                if cursor == nil || cursor! != (x, y) {
                    // CUP is 1-based: ESC [ row ; col H
                    out.append(contentsOf: [0x1B, 0x5B])
                    appendNumber(y + 1, to: &out)
                    out.append(0x3B)
                    appendNumber(x + 1, to: &out)
                    out.append(0x48)
                }
                if pen == nil || pen!.fg != cell.foreground || pen!.bg != cell.background || pen!.bold != cell.bold {
                    appendPen(cell, changedFrom: pen, depth: depth, to: &out)
                    pen = (cell.foreground, cell.background, cell.bold)
                }
                appendUTF8(cell.glyph, to: &out)
                // Every glyph the grid holds is one column wide, so the cursor moves one right.
                cursor = (x + 1, y)
                sent += 1
            }
        }
        if pen != nil { out.append(contentsOf: [0x1B, 0x5B, 0x30, 0x6D]) }  // ESC [ 0 m
        return sent
    }

    /// The whole grid as a text document that `cat` shows as the screen looked: each row's colour
    /// changes and glyphs, then a reset and a newline (no cursor moves).
    public static func document(_ grid: CellGrid, depth: ColorDepth) -> [UInt8] {
        var out: [UInt8] = []
        for y in 0..<grid.height {
            var pen: (fg: CellColor, bg: CellColor, bold: Bool)? = nil
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if pen == nil || pen!.fg != cell.foreground || pen!.bg != cell.background || pen!.bold != cell.bold {
                    appendPen(cell, changedFrom: pen, depth: depth, to: &out)
                    pen = (cell.foreground, cell.background, cell.bold)
                }
                appendUTF8(cell.glyph, to: &out)
            }
            out.append(contentsOf: [0x1B, 0x5B, 0x30, 0x6D, 0x0A])  // ESC [ 0 m, newline
        }
        return out
    }

    /// SGR for the cell's colours and weight; a full reset first when bold goes off.
    static func appendPen(
        _ cell: Cell, changedFrom pen: (fg: CellColor, bg: CellColor, bold: Bool)?,
        depth: ColorDepth, to out: inout [UInt8]
    ) {
        out.append(contentsOf: [0x1B, 0x5B])  // ESC [
        var first = true
        func separator() {
            if !first { out.append(0x3B) }
            first = false
        }
        if pen == nil || (pen!.bold && !cell.bold) {
            separator()
            out.append(0x30)  // 0: reset, then set everything below
        }
        if cell.bold && (pen == nil || !pen!.bold) {
            separator()
            out.append(0x31)
        }
        let reset = pen == nil || (pen!.bold && !cell.bold)
        if reset || pen!.fg != cell.foreground {
            separator()
            appendColor(cell.foreground, background: false, depth: depth, to: &out)
        }
        if reset || pen!.bg != cell.background {
            separator()
            appendColor(cell.background, background: true, depth: depth, to: &out)
        }
        out.append(0x6D)  // m
    }

    /// One colour's SGR parameters at `depth` (39/49: the terminal's default).
    static func appendColor(_ color: CellColor, background: Bool, depth: ColorDepth, to out: inout [UInt8]) {
        let base = background ? 40 : 30
        switch (color, depth) {
        case (.terminalDefault, _), (_, .none):
            appendNumber(base + 9, to: &out)
        case (.indexed(let n), .palette256), (.indexed(let n), .direct):
            appendNumber(base + 8, to: &out)
            out.append(contentsOf: [0x3B, 0x35, 0x3B])  // ;5;
            appendNumber(Int(n), to: &out)
        case (.rgb(let r, let g, let b), .direct):
            appendNumber(base + 8, to: &out)
            out.append(contentsOf: [0x3B, 0x32, 0x3B])  // ;2;
            appendNumber(Int(r), to: &out)
            out.append(0x3B)
            appendNumber(Int(g), to: &out)
            out.append(0x3B)
            appendNumber(Int(b), to: &out)
        case (.rgb(let r, let g, let b), .palette256):
            appendNumber(base + 8, to: &out)
            out.append(contentsOf: [0x3B, 0x35, 0x3B])
            appendNumber(Int(XtermPalette.nearest256(r, g, b)), to: &out)
        case (.indexed(let n), .basic):
            let (r, g, b) = XtermPalette.rgb(n)
            appendNumber(base + Int(XtermPalette.nearestBasic(r, g, b)), to: &out)
        case (.rgb(let r, let g, let b), .basic):
            appendNumber(base + Int(XtermPalette.nearestBasic(r, g, b)), to: &out)
        }
    }

    static func appendNumber(_ value: Int, to out: inout [UInt8]) {
        if value >= 100 { out.append(UInt8(0x30 + value / 100)) }
        if value >= 10 { out.append(UInt8(0x30 + (value / 10) % 10)) }
        out.append(UInt8(0x30 + value % 10))
    }

    static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(contentsOf: [UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F))])
        case 0x800..<0x10000:
            out.append(contentsOf: [UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))])
        default:
            out.append(contentsOf: [
                UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)),
                UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F)),
            ])
        }
    }
}
