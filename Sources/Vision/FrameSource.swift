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

/// A source made of image files played in order (a folder, or a folder of class folders).
public protocol ImageReplay: FrameSource {
    /// Every image, in the order played.
    var imagePaths: [String] { get }
}

extension ImageReplay {
    /// True when the replay looks like pre-cropped faces (FER-2013's 48x48 layout): every one of
    /// up to `sample` images spread over the folder is at most `maxSide` pixels on both sides. A
    /// cascade finds little in such crops, so they are classified whole.
    public func looksLikeFaceCrops(sample: Int = 8, maxSide: Int = 96) -> Bool {
        let paths = imagePaths
        guard !paths.isEmpty else { return false }
        let step = max(1, paths.count / sample)
        var checked = 0
        for i in stride(from: 0, to: paths.count, by: step).prefix(sample) {
            guard let image = try? OpenCV.readImage(paths[i], channels: 1) else { continue }
            if image.width > maxSide || image.height > maxSide { return false }
            checked += 1
        }
        return checked > 0
    }
}

/// A source error after which `nextFrame()` may be called again: a camera that went away and is
/// being reopened, or a frame that came late. (MonitorPipeline still ends the source on any error.)
public protocol RecoverableSourceError: Error {
    var isRecoverable: Bool { get }
}
