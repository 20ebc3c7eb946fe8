// The monitor's colours, and what is drawn over the video: each face's outline with its label and
// confidence, the primary face highlighted.

import Pipeline
import Vision

/// The colours of the monitor's chrome, as xterm palette entries (every mode can show them).
public enum Palette {
    public static let face = CellColor.indexed(46)  // green
    public static let primaryFace = CellColor.indexed(226)  // yellow
    public static let labelText = CellColor.indexed(16)  // black on the box colour
    public static let bar = CellColor.indexed(39)  // blue
    public static let primaryBar = CellColor.indexed(226)
    public static let dim = CellColor.indexed(245)
    public static let title = CellColor.indexed(231)
    public static let warning = CellColor.indexed(203)
    public static let statusBackground = CellColor.indexed(236)
}

/// Draws face outlines and labels onto video already placed in the grid.
public enum FaceOverlay {
    /// Outlines every face; the primary one in its own colour and bold. Labels ("happy 87%") sit
    /// on the top edge, or above the box when it is narrower, or below it; a label never covers
    /// another (the primary face's is placed first), and is cut short when no place is free.
    public static func draw(
        _ faces: [FaceReading], primaryID: Int?, placement: VideoPlacement,
        into grid: inout CellGrid
    ) {
        // The primary face last, so its outline wins where boxes overlap.
        let ordered = faces.filter { $0.id != primaryID } + faces.filter { $0.id == primaryID }
        var boxes: [(face: FaceReading, left: Int, top: Int, right: Int, bottom: Int)] = []
        for face in ordered {
            let primary = face.id == primaryID
            let b = face.box
            let (left, lastColumn) = placement.columns(forFrameX: b.x, through: b.x + b.width - 1)
            var right = lastColumn
            let top = placement.row(forFrameY: b.y)
            var bottom = placement.lastRow(forFrameY: b.y + b.height - 1)
            right = max(right, left + 1)
            bottom = max(bottom, top + 1)
            // A held face (not found in this frame, boxed where it is expected) is drawn dim.
            let color = face.held ? Palette.dim : primary ? Palette.primaryFace : Palette.face
            outline(left: left, top: top, right: right, bottom: bottom, color: color, bold: primary, into: &grid)
            boxes.append((face, left, top, right, bottom))
        }
        var taken: [(y: Int, x0: Int, x1: Int)] = []  // label cells already used: row, [x0, x1)
        for box in boxes.reversed() {  // the primary face's label first
            let primary = box.face.id == primaryID
            // An uncertain reading says so: its label asks ("fear? 34%") on a dim background.
            let uncertain = box.face.isUncertain
            let label =
                " \(box.face.label)\(uncertain ? "?" : "") \(Int((box.face.confidence * 100).rounded()))%"
                + (box.face.held ? " held " : " ")
            let x = box.left + 1
            let rows =
                label.count <= box.right - box.left - 1
                ? [box.top, box.top - 1, box.bottom + 1, box.bottom] : [box.top - 1, box.top, box.bottom + 1]
            func free(_ y: Int, _ width: Int) -> Bool {
                y >= 0 && y < grid.height && !taken.contains { $0.y == y && $0.x0 < x + width && x < $0.x1 }
            }
            var place: (y: Int, text: String)?
            if let y = rows.first(where: { free($0, label.count) }) {
                place = (y, label)
            } else if box.top >= 0 {
                // Cut short at the first label in the way on the top edge, if a few characters fit.
                let blocker = taken.filter { $0.y == box.top && $0.x0 >= x }.map(\.x0).min() ?? x + label.count
                let room = min(label.count, blocker - x)
                if room >= 4, free(box.top, room) { place = (box.top, String(label.prefix(room - 1)) + "…") }
            }
            guard let place else { continue }
            grid.put(
                place.text, x: x, y: place.y, foreground: Palette.labelText,
                background: uncertain || box.face.held ? Palette.dim : primary ? Palette.primaryFace : Palette.face,
                bold: primary)
            taken.append((place.y, x, x + place.text.count))
        }
    }

    /// A rectangle of box-drawing characters; the cells keep their video background.
    static func outline(
        left: Int, top: Int, right: Int, bottom: Int, color: CellColor, bold: Bool,
        into grid: inout CellGrid
    ) {
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
        set(left, top, "┌")
        set(right, top, "┐")
        set(left, bottom, "└")
        set(right, bottom, "┘")
    }
}
