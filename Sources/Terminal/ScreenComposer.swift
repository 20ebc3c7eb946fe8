// The whole monitor screen as a grid: video with face overlays on the left, the panel on the
// right, the status line at the bottom, and the help overlay or "too small" notice when needed.

import Pipeline

/// Composes a MonitorSnapshot into a CellGrid of a given size. Pure: the same snapshot and size
/// give the same grid, which is what the tests and the snapshot files rely on.
public struct ScreenComposer: Sendable {
    public var rasterizer: HalfBlockRasterizer
    public var showHelp = false
    /// The primary face's expression timeline under the video (`t`).
    public var showTimeline = false

    /// Smallest usable terminal; anything smaller shows a notice instead of a garbled screen.
    public static let minimumWidth = 60
    public static let minimumHeight = 16
    public static let panelWidth = 32

    public init(colorMode: ColorMode = .grayscale256) {
        self.rasterizer = HalfBlockRasterizer(colorMode: colorMode)
    }

    /// The key hints on the status line, also the content of the help overlay.
    public static let keys: [(key: String, action: String)] = [
        ("q Esc", "quit"),
        ("space", "freeze / unfreeze the frame and its prediction"),
        ("1 2 3 4", "switch to ResNet18 / 34 / 50 / the ensemble"),
        ("m", "cycle the models"),
        ("Tab", "choose the primary face"),
        ("t", "expression timeline of the primary face"),
        ("s", "temporal smoothing on / off"),
        ("d", "dump the prediction, frame and crops"),
        ("?", "this help"),
    ]

    public static let statusHints = "q quit  space freeze  1-4 m model  tab face  t timeline  s smooth  d dump  ? help"

    /// Where the video goes in a grid of this size.
    public static func videoArea(width: Int, height: Int) -> CellRect {
        CellRect(x: 0, y: 0, width: width - panelWidth - 1, height: height - 1)
    }

    /// Where the panel goes in a grid of this size.
    public static func panelArea(width: Int, height: Int) -> CellRect {
        CellRect(x: width - panelWidth, y: 0, width: panelWidth, height: height - 1)
    }

    public func compose(_ snapshot: MonitorSnapshot, width: Int, height: Int) -> CellGrid {
        var grid = CellGrid(width: width, height: height)
        compose(snapshot, into: &grid)
        return grid
    }

    /// Draws everything into `grid` (whose size is the terminal's); every cell is written.
    public func compose(_ snapshot: MonitorSnapshot, into grid: inout CellGrid) {
        let width = grid.width
        let height = grid.height
        grid.fill(grid.bounds, with: .blank)
        guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
            Self.drawTooSmall(into: &grid)
            return
        }
        var video = Self.videoArea(width: width, height: height)
        let timelineRows = TimelineView.height(classes: snapshot.classes.count)
        if showTimeline {
            // Under the video, when the video keeps at least a few rows.
            if video.height >= timelineRows + 4 {
                video.height -= timelineRows + 1
                TimelineView.draw(
                    snapshot, in: CellRect(x: 0, y: video.maxY + 1, width: video.width, height: timelineRows),
                    into: &grid)
            } else {
                grid.put(
                    "timeline: enlarge the terminal", x: 0, y: video.maxY - 1, foreground: Palette.warning,
                    maxWidth: video.width)
                video.height -= 1
            }
        }
        if let frame = snapshot.frame {
            if let placement = rasterizer.draw(frame, into: &grid, area: video) {
                FaceOverlay.draw(snapshot.faces, primaryID: snapshot.primaryFace?.id, placement: placement, into: &grid)
            }
        } else {
            let text = "waiting for the first frame from \(snapshot.sourceName)"
            grid.put(
                text, x: max(0, (video.width - text.count) / 2), y: video.height / 2, foreground: Palette.dim,
                maxWidth: video.width)
        }
        for y in 0..<(height - 1) {
            grid[width - Self.panelWidth - 1, y] = Cell("│", foreground: Palette.dim)
        }
        SidePanel.draw(snapshot, in: Self.panelArea(width: width, height: height), into: &grid)
        drawStatus(snapshot, into: &grid)
        if showHelp { Self.drawHelp(into: &grid) }
    }

    func drawStatus(_ snapshot: MonitorSnapshot, into grid: inout CellGrid) {
        let y = grid.height - 1
        grid.fill(CellRect(x: 0, y: y, width: grid.width, height: 1), with: Cell(background: Palette.statusBackground))
        var x = 1
        if let message = snapshot.message {
            x +=
                grid.put(
                    message, x: x, y: y, foreground: Palette.primaryFace, background: Palette.statusBackground,
                    bold: true, maxWidth: grid.width - 2) + 2
        }
        if x < grid.width - 1 {
            grid.put(
                Self.statusHints, x: x, y: y, foreground: Palette.title, background: Palette.statusBackground,
                maxWidth: grid.width - 1 - x)
        }
    }

    static func drawHelp(into grid: inout CellGrid) {
        let lines = ["fertui keys", ""] + keys.map { pad($0.key, 7) + $0.action } + ["", "press any key to close"]
        let w = min(grid.width - 2, (lines.map(\.count).max() ?? 0) + 4)
        let h = min(grid.height - 2, lines.count + 2)
        let box = CellRect(x: (grid.width - w) / 2, y: (grid.height - h) / 2, width: w, height: h)
        grid.fill(box, with: Cell(background: Palette.statusBackground))
        FaceOverlay.outline(
            left: box.x, top: box.y, right: box.maxX - 1, bottom: box.maxY - 1,
            color: Palette.title, bold: false, into: &grid)
        for (i, line) in lines.enumerated() where box.y + 1 + i < box.maxY - 1 {
            grid.put(
                line, x: box.x + 2, y: box.y + 1 + i, foreground: Palette.title,
                background: Palette.statusBackground, bold: i == 0, maxWidth: w - 4)
        }
    }

    static func drawTooSmall(into grid: inout CellGrid) {
        let lines = [
            "terminal too small", "\(grid.width)x\(grid.height), need \(minimumWidth)x\(minimumHeight)",
            "enlarge it, or q to quit",
        ]
        let top = max(0, (grid.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            grid.put(
                line, x: max(0, (grid.width - line.count) / 2), y: top + i, foreground: Palette.warning,
                bold: i == 0, maxWidth: grid.width)
        }
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
