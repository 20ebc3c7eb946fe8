// How the full-frame search is cut into slices: octave bands of face size, each over the frame
// shrunk for that band, in overlapping tiles small enough to fit a frame's budget.

extension FaceSchedule {
    /// One cascade call: a rectangle of the frame, shrunk by `scale`, searched for faces between
    /// `minSide` and `maxSide` shrunk pixels (0: no upper limit) with pyramid step `scaleFactor`.
    struct Slice: Equatable {
        var rect: FaceBox
        var scale: Double
        var minSide: Int
        var maxSide: Int
        var scaleFactor: Double
    }

    /// The full pass as slices. With a budget: octave bands of face size (minFace...2*minFace,
    /// then double), each over the frame shrunk so its smallest face is 28 px in the first band and
    /// 36 px in the others (never enlarged), in tiles overlapping by the largest face only that
    /// band must find, so each slice is small, with the coarser `fullPassScaleFactor` step.
    /// Without a budget (stills): one call over the whole frame with `scaleFactor`.
    static func fullPassPlan(width: Int, height: Int, settings s: DetectionSettings) -> [Slice] {
        let whole = FaceBox(x: 0, y: 0, width: width, height: height)
        var base = min(1, DetectionSettings.smallestShrunkFace / Double(s.minFace))
        if s.detectWidth > 0 { base = min(1, Double(s.detectWidth) / Double(width)) }
        guard s.fullPassBudget != nil else {
            let scale = s.detectWidth > 0 ? base : 1
            let minSide = max(1, Int((Double(s.minFace) * scale).rounded()))
            return [Slice(rect: whole, scale: scale, minSide: minSide, maxSide: 0, scaleFactor: s.scaleFactor)]
        }
        var slices: [Slice] = []
        let step = max(s.scaleFactor, s.fullPassScaleFactor)
        var lo = Double(s.minFace) / 1.1  // bands overlap a little so no size falls between them
        var scale = base
        while true {
            let minSide = max(Int(DetectionSettings.windowSide), Int((lo * scale).rounded()))
            let shrunkW = Double(width) * scale
            let shrunkH = Double(height) * scale
            let last = lo * 2.2 * scale >= min(shrunkW, shrunkH) || scale * 0.5 * Double(min(width, height)) < 48
            let maxSide = last ? 0 : Int((lo * 2.2 * scale).rounded())
            // Tiles three of the band's largest faces wide, small enough that one fits a frame's
            // budget, overlapping by the largest face this band alone must find (faces from 2x its
            // lower end are also the next band's), so every face lies whole in some tile.
            let tileSide = last ? Int.max : 3 * maxSide
            let overlap = last ? 0 : Int((lo * 2 * scale).rounded())
            for rect in tiles(width: width, height: height, scale: scale, tileSide: tileSide, overlap: overlap) {
                slices.append(Slice(rect: rect, scale: scale, minSide: minSide, maxSide: maxSide, scaleFactor: step))
            }
            if last { break }
            lo *= 2
            // Beyond the first band, faces keep more pixels: at 28 px a face near a band's lower
            // end is found only now and then, and these bands cost little.
            scale = s.detectWidth > 0 ? scale * 0.5 : min(base, DetectionSettings.largerBandsShrunkFace / lo)
        }
        // Largest faces first: their bands are the cheapest, and a near face matters most.
        return slices.enumerated().sorted { ($0.element.scale, $0.offset) < ($1.element.scale, $1.offset) }.map(
            \.element)
    }

    /// Source-pixel rectangles covering the frame: tiles of `tileSide` shrunk pixels with `overlap`.
    static func tiles(width: Int, height: Int, scale: Double, tileSide: Int, overlap: Int) -> [FaceBox] {
        let side = tileSide == Int.max ? max(width, height) : Int(Double(tileSide) / scale)
        let step = max(1, side - Int(Double(overlap) / scale))
        // As few tiles as the overlap allows, spread evenly (no near-duplicate tile at the end).
        func starts(_ length: Int) -> [Int] {
            if length <= side { return [0] }
            let n = (length - side + step - 1) / step + 1
            return (0..<n).map { ((length - side) * $0 + (n - 1) / 2) / (n - 1) }
        }
        var rects: [FaceBox] = []
        for y in starts(height) {
            for x in starts(width) {
                rects.append(FaceBox(x: x, y: y, width: min(side, width - x), height: min(side, height - y)))
            }
        }
        return rects
    }
}
