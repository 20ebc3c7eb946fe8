// The detect stage's seam: one call per frame gives the faces with ids. FaceSchedule is the real
// one; TrackedDetections puts any plain box detector in front of the tracker.

/// Faces in each frame of a stream, with ids: the detect stage's one call.
public protocol FaceFinding: AnyObject {
    /// The faces in `frame` (largest first), found or held.
    func faces(in frame: Frame) throws -> [TrackedFace]
    /// Forgets the faces it follows (a new source).
    func reset()
}

/// Any box detector followed by the tracker: for detectors that are not scheduled (a whole-frame
/// "detector" for pre-cropped faces, the tests' scripted ones).
public final class TrackedDetections: FaceFinding {
    private let detect: (Frame) throws -> [FaceBox]
    private let tracker: FaceTracker

    public init(tracker: FaceTracker = FaceTracker(), detect: @escaping (Frame) throws -> [FaceBox]) {
        self.detect = detect
        self.tracker = tracker
    }

    public func faces(in frame: Frame) throws -> [TrackedFace] {
        tracker.update(try detect(frame), time: frame.timestamp, frameWidth: frame.width, frameHeight: frame.height)
    }

    public func reset() { tracker.reset() }
}
