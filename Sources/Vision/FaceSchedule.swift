// Where and when the Haar cascade looks, and how faces are kept between looks. Each frame:
//   1. a pass over a region around every live track (its box grown `regionGrowth` times, scaled
//      so the face is about `regionFaceSide` px): cheap, and it keeps faces the full pass misses;
//      where the main cascade misses there, a second cascade may confirm the face;
//   2. slices of the full-frame pass, paid from a credit of `fullPassBudget` CPU ms a frame, so
//      the whole frame is searched every frame when that is cheap and over several frames when
//      not (the first frame of a stream is searched whole). Slices whose part of the picture
//      changed since they last ran go first, so a face walking into a still scene is found
//      within a frame or two; the others follow in turn. The pass keeps a `minFace` face findable;
//   3. the boxes go to FaceTracker, which keeps ids and holds faces through short misses.
// Histogram equalisation of the gray frame comes first (it helps most on stage-lit footage).

import Foundation

/// The cascade, scheduled: full-frame passes in slices, region passes around tracks, tracking.
/// Keeps scratch buffers and state: one per stream, used from one thread at a time.
public final class FaceSchedule: FaceFinding {
    public let settings: DetectionSettings
    /// When set, a frame's time is `index * frameInterval` (a file replayed faster or slower than
    /// its rate holds faces for the same stretch of video); otherwise its timestamp.
    public var frameInterval: Double?
    private let cascade: OpenCV.Cascade
    private let confirm: OpenCV.Cascade?
    private let tracker: FaceTracker

    private var plan: [Slice] = []
    private var planSize = (width: 0, height: 0)
    private var searchedWholeFrame = false
    /// Per slice: the frame count when it last ran, and the thumbnail of the picture it saw then.
    private var lastRun: [Int] = []
    private var seenThumbnail: [[UInt8]] = []
    private var frameCount = 0
    /// The gray frame shrunk `thumbnailStep` times, to tell where the picture changed.
    private var thumbnail: [UInt8] = []
    private var thumbnailSize = (width: 0, height: 0)
    static let thumbnailStep = 8
    /// Mean gray-level change over a slice's thumbnail above which its picture counts as changed
    /// (well above a webcam's noise once 8x8 pixels are averaged).
    static let changeThreshold = 3.0
    /// Seconds of CPU the full pass may still spend (negative: it overspent, later frames wait).
    private var credit = 0.0
    private var gray: [UInt8] = []
    private var work: [UInt8] = []
    private var mirrored: [UInt8] = []

    /// What the last `faces(in:)` did, for measurement.
    public private(set) var lastStatistics = Statistics()

    public struct Statistics: Sendable, Equatable {
        public var slices = 0
        public var regions = 0
        public var confirmations = 0
        /// Regions searched again at the finer step after the coarse one missed.
        public var fineLooks = 0
        /// True when the whole frame was searched at once (a still, a stream's first frame).
        public var completedFullPass = false
    }

    /// Loads the cascades; a missing or broken file, or settings that cannot work, throw errors
    /// that name the value and what to give instead.
    public init(settings: DetectionSettings = DetectionSettings()) throws {
        if let problem = settings.problem { throw DetectionSettingsError(problem) }
        cascade = try FaceSchedule.loadCascade(settings.cascadePath, option: "--cascade")
        confirm = try settings.confirmCascadePath.map {
            try FaceSchedule.loadCascade($0, option: "the confirming cascade")
        }
        var tracking = settings.tracker
        if settings.fullPassBudget == nil {
            // Stills: each frame is a new picture; a face that happens to sit where one sat in the
            // last picture keeps its id, but its box is this picture's, not a blend of the two.
            tracking.positionWeight = 1
            tracking.sizeWeight = 1
        }
        tracker = try FaceTracker(settings: tracking)
        self.settings = settings
    }

    static func loadCascade(_ path: String?, option: String) throws -> OpenCV.Cascade {
        let file = path ?? DetectionSettings.defaultCascadePath
        guard FileManager.default.fileExists(atPath: file) else {
            throw SourceError(
                path == nil
                    ? "face cascade \(file) not found: install it (apt-get install opencv-data) or pass --cascade FILE"
                    : "face cascade \(file) not found: pass an existing haarcascade XML file to \(option)")
        }
        do {
            return try OpenCV.Cascade(path: file)
        } catch is OpenCVError {
            // OpenCV's own text is a multi-line parser trace; the point is which file and what to give.
            throw SourceError(
                "\(file) is not an OpenCV cascade classifier XML file: pass a haarcascade XML file such as "
                    + "\(CascadeDetector.defaultCascadePath) to \(option)")
        }
    }

    public func reset() {
        tracker.reset()
        searchedWholeFrame = false
        credit = 0
    }

    public func faces(in frame: Frame) throws -> [TrackedFace] {
        let w = frame.width
        let h = frame.height
        let time = frameInterval.map { Double(frame.index) * $0 } ?? frame.timestamp
        var stats = Statistics()
        try prepareGray(frame)
        if planSize != (w, h) {
            plan = FaceSchedule.fullPassPlan(width: w, height: h, settings: settings)
            planSize = (w, h)
            searchedWholeFrame = false
        }
        frameCount += 1

        var found: [FaceBox] = []
        // 1. Around each live track, where the face should be now (stills: each frame is a new
        //    picture, so there is nothing to follow).
        for face in settings.fullPassBudget == nil ? [] : tracker.predictedFaces(at: time) {
            stats.regions += 1
            if let box = try searchRegion(around: face.box, width: w, height: h, stats: &stats) { found.append(box) }
        }
        // 2. The full pass, a slice at a time. Each frame adds its budget to a credit and slices
        //    run while the credit lasts, each paying what it cost (CPU time, so other programs on
        //    the machine do not change the schedule): a slice dearer than the budget runs every few
        //    frames, and the frames between cost only their region passes.
        if let budget = settings.fullPassBudget, searchedWholeFrame {
            credit = min(credit + budget / 1000, budget / 1000)
            if credit > 0 { try makeThumbnail(width: w, height: h) }
            var ran = Set<Int>()
            let changed = credit > 0 ? changedSlices() : ([], false)
            while credit > 0 && ran.count < plan.count {
                let next = nextSlice(excluding: ran, changed: changed)
                ran.insert(next)
                let before = threadCPUSeconds()
                try runSlice(next, width: w, height: h, into: &found, stats: &stats)
                credit -= threadCPUSeconds() - before
            }
        } else {
            // Stills, and the first frame of a stream: there is nothing to follow yet, so the
            // whole frame is searched at once (one slow frame) rather than over a second or more.
            if settings.fullPassBudget != nil { try makeThumbnail(width: w, height: h) }
            lastRun = [Int](repeating: frameCount, count: plan.count)
            seenThumbnail = [[UInt8]](repeating: [], count: plan.count)
            for index in plan.indices {
                try runSlice(index, width: w, height: h, into: &found, stats: &stats)
            }
            stats.completedFullPass = true
            searchedWholeFrame = true
        }

        lastStatistics = stats
        return tracker.update(FaceSchedule.merged(found), time: time, frameWidth: w, frameHeight: h)
    }

    private func runSlice(
        _ index: Int, width: Int, height: Int, into found: inout [FaceBox], stats: inout Statistics
    ) throws {
        found += try search(
            plan[index], width: width, height: height, minNeighbors: settings.minNeighbors, with: cascade)
        stats.slices += 1
        if settings.fullPassBudget != nil {
            lastRun[index] = frameCount
            seenThumbnail[index] = thumbnail
        }
    }

    /// The slice to run next: the one that waited longest, where a slice whose picture changed
    /// since it last ran counts as having waited one to two passes longer. On a still scene the
    /// changed ones (a face walking in) go first; when everything changes (a pan) it is turn by
    /// turn, edges more often; none waits more than about three passes.
    private func nextSlice(excluding ran: Set<Int>, changed: (slices: [Bool], overall: Bool)) -> Int {
        var best = -1
        var bestPriority = -Double.infinity
        for index in plan.indices where !ran.contains(index) {
            let waited = Double(frameCount - lastRun[index]) / Double(max(1, plan.count))
            // Among changed slices, larger faces' first (the plan's order): they are the cheapest.
            // When most of the picture changed (a pan, the light), change says nothing; then the
            // left and right edges, where a panning camera and people walking bring faces in,
            // count half a pass more.
            let rect = plan[index].rect
            let edge = rect.x == 0 || rect.x + rect.width == planSize.width
            var bonus = 0.0
            if changed.overall {
                bonus = edge ? 0.5 : 0
            } else if changed.slices[index] {
                bonus = 1.5 - Double(index) / Double(plan.count) / 2 + (edge ? 0.5 : 0)
            }
            let priority = waited + bonus
            if priority > bestPriority {
                best = index
                bestPriority = priority
            }
        }
        return best
    }

    /// The gray frame shrunk `thumbnailStep` times (area average), in `thumbnail`.
    private func makeThumbnail(width: Int, height: Int) throws {
        let tw = max(1, width / FaceSchedule.thumbnailStep)
        let th = max(1, height / FaceSchedule.thumbnailStep)
        if thumbnail.count != tw * th { thumbnail = [UInt8](repeating: 0, count: tw * th) }
        thumbnailSize = (tw, th)
        try gray.withUnsafeBufferPointer { src in
            try thumbnail.withUnsafeMutableBufferPointer { dst in
                try OpenCV.grayRegion(
                    src, width: width, height: height, rect: FaceBox(x: 0, y: 0, width: width, height: height),
                    into: dst, toWidth: tw, toHeight: th, equalize: false)
            }
        }
    }

    /// Per slice, whether its picture changed since it last ran (see `changeThreshold`), and
    /// whether most slices did.
    private func changedSlices() -> (slices: [Bool], overall: Bool) {
        let changed = plan.indices.map {
            change(in: plan[$0].rect, since: seenThumbnail[$0]) > FaceSchedule.changeThreshold
        }
        return (changed, 2 * changed.filter { $0 }.count > changed.count)
    }

    /// The mean gray-level change over `rect` between `before` and the current thumbnail
    /// (infinite when there is no earlier thumbnail to compare).
    private func change(in rect: FaceBox, since before: [UInt8]) -> Double {
        guard before.count == thumbnail.count else { return .infinity }
        let step = FaceSchedule.thumbnailStep
        let tw = thumbnailSize.width
        let x0 = min(tw - 1, rect.x / step)
        let x1 = max(x0 + 1, min(tw, (rect.x + rect.width) / step))
        let y0 = min(thumbnailSize.height - 1, rect.y / step)
        let y1 = max(y0 + 1, min(thumbnailSize.height, (rect.y + rect.height) / step))
        var sum = 0
        for y in y0..<y1 {
            for x in x0..<x1 { sum += abs(Int(thumbnail[y * tw + x]) - Int(before[y * tw + x])) }
        }
        return Double(sum) / Double((x1 - x0) * (y1 - y0))
    }

    /// The gray frame, equalised when asked, in `gray`.
    private func prepareGray(_ frame: Frame) throws {
        let w = frame.width
        let h = frame.height
        if gray.count != w * h { gray = [UInt8](repeating: 0, count: w * h) }
        if frame.channels == 3 {
            try OpenCV.bgrToGray(frame.pixels, width: w, height: h, into: &gray)
        } else {
            gray = frame.pixels
        }
        if settings.equalize == .on || settings.equalize == .auto && FaceSchedule.lowContrast(gray) {
            try cutGray(
                FaceBox(x: 0, y: 0, width: w, height: h), width: w, height: h, toWidth: w, toHeight: h,
                equalize: true)
            gray.withUnsafeMutableBufferPointer { g in
                work.withUnsafeBufferPointer { src in g.baseAddress!.update(from: src.baseAddress!, count: w * h) }
            }
        }
    }

    /// True when most of the frame's gray levels sit in a narrow band (the 5th to 95th percentile
    /// less than 80 levels apart: dim, flat light), where equalisation pays. Dark pictures with
    /// bright parts (most flash photos) do not count: on them it added false faces.
    static func lowContrast(_ gray: [UInt8]) -> Bool {
        var histogram = [Int](repeating: 0, count: 256)
        let step = 7  // a sample is enough for percentiles
        var n = 0
        for i in stride(from: 0, to: gray.count, by: step) {
            histogram[Int(gray[i])] += 1
            n += 1
        }
        func percentile(_ p: Double) -> Int {
            var sum = 0
            for (level, count) in histogram.enumerated() {
                sum += count
                if Double(sum) >= p * Double(n) { return level }
            }
            return 255
        }
        return percentile(0.95) - percentile(0.05) < 80
    }

    /// The face near `expected`, searched in a region around it; nil when neither cascade sees one.
    private func searchRegion(around expected: FaceBox, width: Int, height: Int, stats: inout Statistics) throws
        -> FaceBox?
    {
        let side = Double(max(expected.width, expected.height))
        guard side >= 8 else { return nil }
        let grown = side * settings.regionGrowth
        let cx = Double(expected.x) + Double(expected.width) / 2
        let cy = Double(expected.y) + Double(expected.height) / 2
        let x0 = max(0, Int(cx - grown / 2))
        let y0 = max(0, Int(cy - grown / 2))
        let x1 = min(width, Int(cx + grown / 2))
        let y1 = min(height, Int(cy + grown / 2))
        guard x1 - x0 >= 12, y1 - y0 >= 12 else { return nil }
        // Scaled so the face is about regionFaceSide; never enlarged past 2x (a small face gains
        // little from more pixels and the pass would cost more).
        let scale = min(2, Double(settings.regionFaceSide) / side)
        // Sizes from 0.75x to 1.35x the track's: a face does not change more between two looks.
        let minSide = max(Int(DetectionSettings.windowSide), Int(side * scale * 0.75))
        let maxSide = Int(side * scale * 1.35) + 1
        let slice = Slice(
            rect: FaceBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0), scale: scale, minSide: minSide,
            maxSide: maxSide, scaleFactor: max(settings.scaleFactor, settings.regionScaleFactor))
        var boxes = try search(
            slice, width: width, height: height, minNeighbors: settings.regionMinNeighbors, with: cascade)
        if boxes.isEmpty, slice.scaleFactor > settings.scaleFactor {
            // A blurred face often gathers its neighbours only on the finer pyramid, where
            // adjacent sizes also fire: look again at the stills' step before giving up on it.
            stats.fineLooks += 1
            var fine = slice
            fine.scaleFactor = settings.scaleFactor
            boxes = try search(
                fine, width: width, height: height, minNeighbors: settings.regionMinNeighbors, with: cascade)
        }
        if boxes.isEmpty, let confirm {
            stats.confirmations += 1
            boxes = try search(
                slice, width: width, height: height, minNeighbors: settings.regionMinNeighbors, with: confirm,
                alsoMirrored: settings.confirmMirrored)
        }
        return boxes.max { $0.iou(expected) < $1.iou(expected) }
    }

    /// `rect` of the gray frame, resized to `toWidth` x `toHeight` (equalised when asked), into `work`.
    private func cutGray(_ rect: FaceBox, width: Int, height: Int, toWidth: Int, toHeight: Int, equalize: Bool) throws {
        if work.count < toWidth * toHeight { work = [UInt8](repeating: 0, count: toWidth * toHeight) }
        try gray.withUnsafeBufferPointer { src in
            try work.withUnsafeMutableBufferPointer { dst in
                try OpenCV.grayRegion(
                    src, width: width, height: height, rect: rect, into: dst, toWidth: toWidth, toHeight: toHeight,
                    equalize: equalize)
            }
        }
    }

    /// Runs one cascade call over `slice`; boxes in frame pixels.
    private func search(
        _ slice: Slice, width: Int, height: Int, minNeighbors: Int, with cascade: OpenCV.Cascade,
        alsoMirrored: Bool = false
    ) throws -> [FaceBox] {
        let r = slice.rect
        let sw = max(1, Int((Double(r.width) * slice.scale).rounded()))
        let sh = max(1, Int((Double(r.height) * slice.scale).rounded()))
        guard sw >= slice.minSide, sh >= slice.minSide else { return [] }
        try cutGray(r, width: width, height: height, toWidth: sw, toHeight: sh, equalize: false)
        var boxes = try work.withUnsafeBufferPointer {
            try cascade.detect(
                gray: $0, width: sw, height: sh, scaleFactor: slice.scaleFactor, minNeighbors: minNeighbors,
                minSize: slice.minSide, maxSize: slice.maxSide)
        }
        if alsoMirrored && boxes.isEmpty {
            if mirrored.count < sw * sh { mirrored = [UInt8](repeating: 0, count: sw * sh) }
            for y in 0..<sh {
                for x in 0..<sw { mirrored[y * sw + x] = work[y * sw + sw - 1 - x] }
            }
            boxes = try mirrored.withUnsafeBufferPointer {
                try cascade.detect(
                    gray: $0, width: sw, height: sh, scaleFactor: slice.scaleFactor,
                    minNeighbors: minNeighbors, minSize: slice.minSide, maxSize: slice.maxSide)
            }.map { FaceBox(x: sw - $0.x - $0.width, y: $0.y, width: $0.width, height: $0.height) }
        }
        let sx = Double(r.width) / Double(sw)
        let sy = Double(r.height) / Double(sh)
        return boxes.map { b in
            let x = r.x + Int((Double(b.x) * sx).rounded())
            let y = r.y + Int((Double(b.y) * sy).rounded())
            return FaceBox(
                x: x, y: y, width: Int((Double(b.width) * sx).rounded()), height: Int((Double(b.height) * sy).rounded())
            )
        }
    }

    /// One box per face: boxes that overlap much (neighbouring tiles, a region and a full-pass
    /// slice finding the same face) are averaged.
    static func merged(_ boxes: [FaceBox]) -> [FaceBox] {
        var groups: [[FaceBox]] = []
        for b in boxes {
            if let g = groups.firstIndex(where: { $0[0].iou(b) >= 0.4 || contains($0[0], b) }) {
                groups[g].append(b)
            } else {
                groups.append([b])
            }
        }
        return groups.map { g in
            let n = Double(g.count)
            func mean(_ f: (FaceBox) -> Int) -> Int { Int((Double(g.map(f).reduce(0, +)) / n).rounded()) }
            return FaceBox(x: mean(\.x), y: mean(\.y), width: mean(\.width), height: mean(\.height))
        }
    }

    /// True when one box's centre lies in the other and their sizes are within 1.5x.
    static func contains(_ a: FaceBox, _ b: FaceBox) -> Bool {
        let ratio = Double(a.width) / Double(max(1, b.width))
        guard ratio < 1.5 && ratio > 1 / 1.5 else { return false }
        let bx = b.x + b.width / 2
        let by = b.y + b.height / 2
        let ax = a.x + a.width / 2
        let ay = a.y + a.height / 2
        return (a.x..<(a.x + a.width)).contains(bx) && (a.y..<(a.y + a.height)).contains(by)
            || (b.x..<(b.x + b.width)).contains(ax) && (b.y..<(b.y + b.height)).contains(ay)
    }
}
