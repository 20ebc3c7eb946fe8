// The seam every frame source sits behind (cameras, video files, images, folders, the demo), and
// the kind of source error a reader may retry after.

/// A sequence of frames. `nextFrame()` blocks until a frame is ready (a camera's next frame, or
/// the next decoded frame paced to the file's rate) and returns nil at the end of a finite source.
public protocol FrameSource: AnyObject {
    /// What the user named, for the screen, dumps and logs ("/dev/video0", "clip.mp4", "demo").
    var name: String { get }
    /// Frames per second the source delivers, when it knows.
    var nominalFPS: Double? { get }
    func nextFrame() throws -> Frame?
    /// Files passed over because they could not be read (folder replays); empty elsewhere.
    var skipped: [SkippedFile] { get }
}

extension FrameSource {
    public var skipped: [SkippedFile] { [] }
}

/// A source error after which `nextFrame()` may be called again: a camera that went away and is
/// being reopened, or a frame that came late. (MonitorPipeline still ends the source on any error.)
public protocol RecoverableSourceError: Error {
    var isRecoverable: Bool { get }
}
