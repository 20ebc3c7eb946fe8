// Stable face ids from frame to frame: each detection is matched to the track it overlaps most
// (IoU), new faces get fresh ids, and boxes can be smoothed so the overlay does not jitter.

/// Gives each detected face the id it had in earlier frames.
public final class FaceTracker {
    private struct Track {
        var id: Int
        var box: (x: Double, y: Double, w: Double, h: Double)
        var missed: Int
    }

    /// A detection must overlap its track by at least this IoU to keep the track's id.
    public let minIoU: Double
    /// Frames a face may go undetected before its id is retired.
    public let maxMissed: Int
    /// Weight of the previous box in the smoothed one, 0 (no smoothing) up to below 1.
    public let smoothing: Double
    private var tracks: [Track] = []
    private var nextID = 1

    public init(minIoU: Double = 0.3, maxMissed: Int = 5, smoothing: Double = 0) {
        precondition((0..<1).contains(smoothing), "smoothing must be in 0..<1, not \(smoothing)")
        self.minIoU = minIoU
        self.maxMissed = maxMissed
        self.smoothing = smoothing
    }

    /// The frame's detections with their ids, in the order given (largest first from the
    /// detector); boxes are smoothed when `smoothing` > 0.
    public func update(_ detections: [FaceBox]) -> [(id: Int, box: FaceBox)] {
        // Greedy matching, best overlap first: with a handful of faces this is what Hungarian
        // matching would give in all but contrived cases.
        var pairs: [(iou: Double, det: Int, track: Int)] = []
        for (d, box) in detections.enumerated() {
            for (t, track) in tracks.enumerated() {
                let iou = box.iou(FaceTracker.rounded(track.box))
                if iou >= minIoU { pairs.append((iou, d, t)) }
            }
        }
        pairs.sort { $0.iou > $1.iou }
        var trackOf = [Int?](repeating: nil, count: detections.count)
        var taken = Set<Int>()
        for p in pairs where trackOf[p.det] == nil && !taken.contains(p.track) {
            trackOf[p.det] = p.track
            taken.insert(p.track)
        }
        var result: [(id: Int, box: FaceBox)] = []
        var kept: [Track] = []
        for (d, box) in detections.enumerated() {
            let b = (x: Double(box.x), y: Double(box.y), w: Double(box.width), h: Double(box.height))
            if let t = trackOf[d] {
                var track = tracks[t]
                let a = smoothing, p = track.box
                track.box = (p.x * a + b.x * (1 - a), p.y * a + b.y * (1 - a), p.w * a + b.w * (1 - a), p.h * a + b.h * (1 - a))
                track.missed = 0
                kept.append(track)
                result.append((track.id, FaceTracker.rounded(track.box)))
            } else {
                kept.append(Track(id: nextID, box: b, missed: 0))
                result.append((nextID, box))
                nextID += 1
            }
        }
        for (t, track) in tracks.enumerated() where !taken.contains(t) && track.missed < maxMissed {
            var t2 = track
            t2.missed += 1
            kept.append(t2)
        }
        tracks = kept
        return result
    }

    /// Forgets every track (a new source, a seek).
    public func reset() {
        tracks = []
    }

    private static func rounded(_ b: (x: Double, y: Double, w: Double, h: Double)) -> FaceBox {
        FaceBox(x: Int(b.x.rounded()), y: Int(b.y.rounded()), width: Int(b.w.rounded()), height: Int(b.h.rounded()))
    }
}
