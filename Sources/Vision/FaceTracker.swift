// Stable face ids from frame to frame, and faces held through short misses. A detection joins
// the track whose predicted box it overlaps or sits near (IoU or centre distance, so ids survive
// zoom and fast motion); a track not re-found is held at its predicted place for `hold` seconds,
// then ends, as does one that leaves the frame. Boxes are smoothed in position and size.

import Foundation

/// A face the tracker follows, in frame pixels.
public struct TrackedFace: Equatable, Sendable {
    public var id: Int
    public var box: FaceBox
    /// True when the face was not found in this frame: `box` is where it is expected to be.
    public var held: Bool

    public init(id: Int, box: FaceBox, held: Bool = false) {
        self.id = id
        self.box = box
        self.held = held
    }
}

/// How faces are matched, smoothed and held.
public struct TrackerSettings: Sendable, Equatable {
    /// Seconds a face that is not found stays on screen at its predicted place (0: not held).
    public var hold = 0.5
    /// A detection may join a track when it overlaps the predicted box by at least this IoU...
    public var minIoU = 0.2
    /// ...or its centre lies within this fraction of the box side from the predicted centre.
    public var maxCentreDistance = 0.7
    /// Sizes further apart than this factor never match (a face does not double between frames).
    public var maxSizeRatio = 1.8
    /// Weight of a new detection in the box's position, (0, 1]; 1 = no smoothing.
    public var positionWeight = 0.6
    /// Weight of a new detection in the box's size, (0, 1].
    public var sizeWeight = 0.35
    /// Detections a track needs before it is held through misses: 2 keeps a one-frame false hit
    /// from lingering on screen.
    public var hitsToHold = 2

    public init(hold: Double = 0.5) {
        self.hold = hold
    }

    /// Why these settings cannot be used, or nil when they can.
    public var problem: String? {
        if !(hold >= 0 && hold.isFinite) { return "hold \(hold) s: give 0 or more seconds" }
        if !(positionWeight > 0 && positionWeight <= 1) || !(sizeWeight > 0 && sizeWeight <= 1) {
            return "smoothing weights must be in (0, 1], not \(positionWeight), \(sizeWeight)"
        }
        if !(maxSizeRatio >= 1) { return "maxSizeRatio \(maxSizeRatio) must be at least 1" }
        return nil
    }
}

/// Gives each detected face the id it had in earlier frames and holds faces through short misses.
public final class FaceTracker {
    struct Track {
        var id: Int
        /// Smoothed centre and size, frame pixels.
        var cx: Double, cy: Double, w: Double, h: Double
        /// Centre velocity, pixels per second.
        var vx = 0.0, vy = 0.0
        /// When the state above was last moved forward, and when a detection last joined.
        var time: Double
        var lastSeen: Double
        var hits = 1

        func predicted(at t: Double) -> (cx: Double, cy: Double) {
            let dt = max(0, t - time)
            return (cx + vx * dt, cy + vy * dt)
        }
    }

    public let settings: TrackerSettings
    private(set) var tracks: [Track] = []
    private var nextID = 1

    /// A tracker with the default settings.
    public init() {
        settings = TrackerSettings()
    }

    /// Throws when the settings cannot work (a negative hold, weights outside (0, 1]).
    public init(settings: TrackerSettings) throws {
        if let problem = settings.problem { throw DetectionSettingsError(problem) }
        self.settings = settings
    }

    /// The boxes where live tracks are expected at `time` (for a search around each), with ids.
    public func predictedFaces(at time: Double) -> [TrackedFace] {
        tracks.map { t in
            let p = t.predicted(at: time)
            return TrackedFace(id: t.id, box: FaceTracker.box(cx: p.cx, cy: p.cy, w: t.w, h: t.h), held: false)
        }
    }

    /// The faces in a frame taken at `time` (seconds): `detections` matched to tracks, new faces
    /// with new ids, and tracks not re-found held (`held` true) or ended. Largest first.
    public func update(_ detections: [FaceBox], time: Double, frameWidth: Int, frameHeight: Int) -> [TrackedFace] {
        let s = settings
        // Candidate pairs scored by overlap and closeness; greedy best-first matching is what
        // Hungarian matching gives with a handful of well-separated faces.
        var pairs: [(score: Double, det: Int, track: Int)] = []
        for (d, box) in detections.enumerated() {
            let dcx = Double(box.x) + Double(box.width) / 2
            let dcy = Double(box.y) + Double(box.height) / 2
            for (t, track) in tracks.enumerated() {
                let p = track.predicted(at: time)
                let ratio = Double(box.width) / track.w
                guard ratio <= s.maxSizeRatio && ratio >= 1 / s.maxSizeRatio else { continue }
                let iou = box.iou(FaceTracker.box(cx: p.cx, cy: p.cy, w: track.w, h: track.h))
                let distance = hypot(dcx - p.cx, dcy - p.cy) / max(track.w, Double(box.width))
                guard iou >= s.minIoU || distance <= s.maxCentreDistance else { continue }
                pairs.append((iou + max(0, 1 - distance / s.maxCentreDistance), d, t))
            }
        }
        pairs.sort { $0.score > $1.score }
        var trackOf = [Int?](repeating: nil, count: detections.count)
        var taken = Set<Int>()
        for p in pairs where trackOf[p.det] == nil && !taken.contains(p.track) {
            trackOf[p.det] = p.track
            taken.insert(p.track)
        }

        // Tracks that stay on screen this frame: re-found, or held.
        let live = tracks.indices.filter { t in
            taken.contains(t) || tracks[t].hits >= s.hitsToHold && time - tracks[t].lastSeen <= s.hold
        }.map { tracks[$0] }
        var kept: [Track] = []
        var out: [TrackedFace] = []
        for (d, box) in detections.enumerated() {
            let dcx = Double(box.x) + Double(box.width) / 2
            let dcy = Double(box.y) + Double(box.height) / 2
            var track: Track
            if let t = trackOf[d] {
                track = tracks[t]
                let p = track.predicted(at: time)
                let cx = p.cx + s.positionWeight * (dcx - p.cx)
                let cy = p.cy + s.positionWeight * (dcy - p.cy)
                let dt = time - track.time
                if dt > 1e-6 {
                    // Velocity from the smoothed motion, itself averaged so one jumpy box does not fling it.
                    track.vx = 0.5 * track.vx + 0.5 * (cx - track.cx) / dt
                    track.vy = 0.5 * track.vy + 0.5 * (cy - track.cy) / dt
                }
                track.cx = cx
                track.cy = cy
                track.w += s.sizeWeight * (Double(box.width) - track.w)
                track.h += s.sizeWeight * (Double(box.height) - track.h)
                track.hits += 1
            } else if FaceTracker.duplicate(box, of: live, at: time) {
                // A second box on a followed face (another pass, another size) is not a new face.
                continue
            } else {
                track = Track(
                    id: nextID, cx: dcx, cy: dcy, w: Double(box.width), h: Double(box.height), time: time,
                    lastSeen: time)
                nextID += 1
            }
            track.time = time
            track.lastSeen = time
            guard let shown = FaceTracker.clipped(track, frameWidth, frameHeight) else { continue }
            kept.append(track)
            out.append(TrackedFace(id: track.id, box: shown, held: false))
        }
        for (t, var track) in tracks.enumerated() where !taken.contains(t) {
            guard track.hits >= s.hitsToHold, time - track.lastSeen <= s.hold else { continue }
            let p = track.predicted(at: time)
            // A face that has left the frame is gone, not held at the edge.
            guard p.cx >= 0, p.cy >= 0, p.cx < Double(frameWidth), p.cy < Double(frameHeight) else { continue }
            (track.cx, track.cy) = p
            // Unseen motion is a guess: let it die down rather than carry the box off.
            track.vx *= 0.7
            track.vy *= 0.7
            track.time = time
            guard let shown = FaceTracker.clipped(track, frameWidth, frameHeight) else { continue }
            kept.append(track)
            out.append(TrackedFace(id: track.id, box: shown, held: true))
        }
        tracks = kept
        return out.sorted { $0.box.area != $1.box.area ? $0.box.area > $1.box.area : $0.id < $1.id }
    }

    /// True when `box`'s centre lies inside one of `tracks`' predicted boxes, or the two overlap
    /// by IoU 0.3 or more: a box of the same face (faces do not sit centre-inside each other).
    static func duplicate(_ box: FaceBox, of tracks: [Track], at time: Double) -> Bool {
        let cx = Double(box.x) + Double(box.width) / 2
        let cy = Double(box.y) + Double(box.height) / 2
        return tracks.contains { t in
            let p = t.predicted(at: time)
            let predicted = FaceTracker.box(cx: p.cx, cy: p.cy, w: t.w, h: t.h)
            return abs(cx - p.cx) < t.w / 2 && abs(cy - p.cy) < t.h / 2 || predicted.iou(box) >= 0.3
        }
    }

    /// Forgets every track (a new source, a seek); ids keep counting up.
    public func reset() {
        tracks = []
    }

    static func box(cx: Double, cy: Double, w: Double, h: Double) -> FaceBox {
        let x = Int((cx - w / 2).rounded())
        let y = Int((cy - h / 2).rounded())
        return FaceBox(x: x, y: y, width: Int(w.rounded()), height: Int(h.rounded()))
    }

    /// The track's box inside the frame, nil when too little of it is left to show.
    static func clipped(_ t: Track, _ width: Int, _ height: Int) -> FaceBox? {
        let b = box(cx: t.cx, cy: t.cy, w: t.w, h: t.h)
        let x0 = max(0, b.x)
        let y0 = max(0, b.y)
        let x1 = min(width, b.x + b.width)
        let y1 = min(height, b.y + b.height)
        guard x1 - x0 >= 4, y1 - y0 >= 4 else { return nil }
        return FaceBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

/// Detection or tracking settings that cannot work; the message names the value.
public struct DetectionSettingsError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
