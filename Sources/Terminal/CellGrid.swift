// The screen as a value: a grid of cells (glyph, foreground, background) that every drawing
// function writes into and tests read back. Only CursesScreen turns it into terminal output.

/// A colour as the grid stores it; the terminal adapter maps it to what the terminal can show.
public enum CellColor: Hashable, Sendable {
    /// The terminal's own default foreground or background.
    case terminalDefault
    /// One of the xterm 256-colour palette entries (0-15 system, 16-231 cube, 232-255 grays).
    case indexed(UInt8)
    /// 24-bit colour, for terminals that announce COLORTERM=truecolor or 24bit.
    case rgb(UInt8, UInt8, UInt8)
}

/// One character cell.
public struct Cell: Hashable, Sendable {
    public var glyph: Unicode.Scalar
    public var foreground: CellColor
    public var background: CellColor
    public var bold: Bool

    public init(
        _ glyph: Unicode.Scalar = " ", foreground: CellColor = .terminalDefault,
        background: CellColor = .terminalDefault, bold: Bool = false
    ) {
        self.glyph = glyph
        self.foreground = foreground
        self.background = background
        self.bold = bold
    }

    /// An empty cell in the terminal's default colours.
    public static let blank = Cell()
}

/// A rectangle of cells: column `x`, row `y`, `width` columns, `height` rows.
public struct CellRect: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }
}

/// A width x height grid of cells, row-major. Writes outside the grid are clipped, never trapped,
/// so overlays near the edges need no bounds arithmetic of their own.
public struct CellGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, filling cell: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: cell, count: self.width * self.height)
    }

    public var bounds: CellRect { CellRect(x: 0, y: 0, width: width, height: height) }

    @inlinable public func contains(x: Int, y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < height
    }

    /// The cell at column x, row y; reading outside the grid gives a blank cell.
    public subscript(x: Int, y: Int) -> Cell {
        get { contains(x: x, y: y) ? cells[y * width + x] : .blank }
        set { if contains(x: x, y: y) { cells[y * width + x] = newValue } }
    }

    /// Fills a rectangle (clipped to the grid) with one cell.
    public mutating func fill(_ rect: CellRect, with cell: Cell) {
        let x0 = max(0, rect.x)
        let x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y)
        let y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { cells[y * width + x] = cell }
        }
    }

    /// Writes `text` from (x, y) rightwards, one scalar per cell, stopping at `maxWidth` cells or
    /// the grid's edge. A nil background keeps each cell's background (text over video).
    /// Returns the number of cells written.
    @discardableResult
    public mutating func put(
        _ text: String, x: Int, y: Int, foreground: CellColor = .terminalDefault,
        background: CellColor? = .terminalDefault, bold: Bool = false,
        maxWidth: Int = .max
    ) -> Int {
        guard y >= 0, y < height else { return 0 }
        var column = x
        var written = 0
        for scalar in text.unicodeScalars {
            if written >= maxWidth || column >= width { break }
            if column >= 0 {
                let i = y * width + column
                cells[i] = Cell(
                    scalar, foreground: foreground, background: background ?? cells[i].background, bold: bold)
            }
            column += 1
            written += 1
        }
        return written
    }

    /// The glyphs of each row as strings: what tests compare against.
    public var rows: [String] {
        (0..<height).map { y in
            var s = String.UnicodeScalarView()
            s.append(contentsOf: cells[(y * width)..<((y + 1) * width)].map(\.glyph))
            return String(s)
        }
    }

    /// The glyphs of one row as a string.
    public func row(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: cells[(y * width)..<((y + 1) * width)].map(\.glyph))
        return String(s)
    }

    /// The grid framed by a ruler, for failure messages.
    public var debugDescription: String {
        let ruler = String((0..<width).map { Character(String($0 % 10)) })
        return
            (["   " + ruler]
            + rows.enumerated().map { ($0.offset < 10 ? " " : "") + "\($0.offset)|" + $0.element + "|" })
            .joined(separator: "\n")
    }
}
