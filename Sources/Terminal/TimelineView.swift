// `t` in the monitor: the primary face's expression over the last seconds, one sparkline row per
// class (▁ to █ by mean probability in each column's slice of time, blank where the face was not
// seen), the slice's top class bright and the rest dim, with a time axis under it.

import Pipeline

public enum TimelineView {
    /// Rows the timeline takes for `classes`: a title, a row per class, the axis.
    public static func height(classes: Int) -> Int { classes + 2 }

    static let levels: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let labelWidth = 9

    /// Draws the timeline of `snapshot` into `area` (at least `height(classes:)` rows).
    public static func draw(_ snapshot: MonitorSnapshot, in area: CellRect, into grid: inout CellGrid) {
        grid.fill(area, with: .blank)
        let classes = snapshot.classes
        let span = snapshot.timelineSeconds
        let title =
            snapshot.timelineFaceID.map { "timeline  face #\($0)  last \(Int(span.rounded())) s" }
            ?? "timeline  (no face)"
        grid.put(title, x: area.x, y: area.y, foreground: Palette.title, bold: true, maxWidth: area.width)
        let columns = area.width - labelWidth
        guard columns > 0, area.height >= height(classes: classes.count) else { return }
        let end = snapshot.timelineEnd
        let start = end - span
        // Mean probability per column and class; nil where no reading falls in the column.
        var sums = [[Float]](repeating: [Float](repeating: 0, count: classes.count), count: columns)
        var counts = [Int](repeating: 0, count: columns)
        for sample in snapshot.timeline where sample.time >= start && sample.time <= end {
            let c = min(columns - 1, Int((sample.time - start) / span * Double(columns)))
            guard c >= 0, sample.probabilities.count == classes.count else { continue }
            for k in 0..<classes.count { sums[c][k] += sample.probabilities[k] }
            counts[c] += 1
        }
        for (k, name) in classes.enumerated() {
            let y = area.y + 1 + k
            grid.put(
                String(name.prefix(labelWidth - 1)), x: area.x, y: y, foreground: Palette.dim,
                maxWidth: labelWidth - 1)
            for c in 0..<columns where counts[c] > 0 {
                let means = sums[c].map { $0 / Float(counts[c]) }
                let p = means[k]
                let top = means.indices.max { means[$0] < means[$1] } == k
                let level = levels[min(levels.count - 1, max(0, Int(p * Float(levels.count))))]
                grid[area.x + labelWidth + c, y] = Cell(level, foreground: top ? Palette.primaryBar : Palette.dim)
            }
        }
        // The axis: where -span, -span/2 and now fall.
        let y = area.y + 1 + classes.count
        let left = "-\(Int(span.rounded()))s"
        let middle = "-\(Int((span / 2).rounded()))s"
        let right = "now"
        let leftX = area.x + labelWidth
        let rightX = area.x + area.width - right.count
        let middleX = leftX + columns / 2 - middle.count / 2
        grid.put(left, x: leftX, y: y, foreground: Palette.dim, maxWidth: columns)
        if middleX > leftX + left.count && middleX + middle.count < rightX {  // only with room on both sides
            grid.put(middle, x: middleX, y: y, foreground: Palette.dim)
        }
        if rightX > leftX + left.count { grid.put(right, x: rightX, y: y, foreground: Palette.dim) }
    }
}
