// The monitor's colours, and what is drawn over the video: each face's outline with its label and
// confidence, the primary face highlighted.

import Vision
import Pipeline

/// The colours of the monitor's chrome, as xterm palette entries (every mode can show them).
public enum Palette {
    public static let face = CellColor.indexed(46)          // green
    public static let primaryFace = CellColor.indexed(226)  // yellow
    public static let labelText = CellColor.indexed(16)     // black on the box colour
    public static let bar = CellColor.indexed(39)           // blue
    public static let primaryBar = CellColor.indexed(226)
    public static let dim = CellColor.indexed(245)
    public static let title = CellColor.indexed(231)
    public static let warning = CellColor.indexed(203)
    public static let statusBackground = CellColor.indexed(236)
}

/// Draws face outlines and labels onto video already placed in the grid.
public enum FaceOverlay {
    /// Outlines every face; the primary one in its own colour and bold. Labels sit on the top
    /// edge ("happy 87%"), or above the box when the box is narrower than the label.
    public static func draw(_ faces: [FaceReading], primaryID: Int?, placement: VideoPlacement,
                            into grid: inout CellGrid) {
        // The primary face last, so its outline wins where boxes overlap.
        let ordered = faces.filter { $0.id != primaryID } + faces.filter { $0.id == primaryID }
        for face in ordered {
            let primary = face.id == primaryID
            let color = primary ? Palette.primaryFace : Palette.face
            let b = face.box
            let left = placement.column(forFrameX: b.x)
            var right = placement.lastColumn(forFrameX: b.x + b.width - 1)
            let top = placement.row(forFrameY: b.y)
            var bottom = placement.lastRow(forFrameY: b.y + b.height - 1)
            right = max(right, left + 1)
            bottom = max(bottom, top + 1)
            outline(left: left, top: top, right: right, bottom: bottom, color: color, bold: primary, into: &grid)
            let label = " \(face.label) \(Int((face.confidence * 100).rounded()))% "
            let labelRow = label.count <= right - left - 1 || top == 0 ? top : top - 1
            grid.put(label, x: left + 1, y: labelRow, foreground: Palette.labelText, background: color, bold: primary)
        }
    }

    /// A rectangle of box-drawing characters; the cells keep their video background.
    static func outline(left: Int, top: Int, right: Int, bottom: Int, color: CellColor, bold: Bool,
                        into grid: inout CellGrid) {
        func set(_ x: Int, _ y: Int, _ glyph: Unicode.Scalar) {
            guard grid.contains(x: x, y: y) else { return }
            let under = grid[x, y]
            grid[x, y] = Cell(glyph, foreground: color, background: under.background, bold: bold)
        }
        for x in (left + 1)..<right {
            set(x, top, "─")
            set(x, bottom, "─")
        }
        for y in (top + 1)..<bottom {
            set(left, y, "│")
            set(right, y, "│")
        }
        set(left, top, "┌"); set(right, top, "┐")
        set(left, bottom, "└"); set(right, bottom, "┘")
    }
}
