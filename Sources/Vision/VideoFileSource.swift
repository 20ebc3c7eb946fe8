// Frames decoded from a video file (mp4, avi, mkv, ... whatever OpenCV's backends open), played
// at the file's own rate or as fast as the pipeline asks, optionally looping.

/// A video file as a frame source.
public final class VideoFileSource: FrameSource {
    public let name: String
    public let nominalFPS: Double?
    public let width: Int
    public let height: Int
    private let capture: OpenCV.VideoCapture
    private let realtime: Bool
    private let loop: Bool
    private var buffer: [UInt8]
    /// Frames delivered since the file was (re)started, for pacing.
    private var sinceStart = 0
    private var delivered = 0
    private var start = 0.0

    /// `realtime`: wait so frames come at the file's rate (30 fps when the file does not say);
    /// false delivers each frame as soon as it is decoded. `loop`: start again at the end.
    public init(path: String, realtime: Bool = true, loop: Bool = false) throws {
        capture = try OpenCV.VideoCapture(path: path)
        name = path
        nominalFPS = capture.fps
        width = capture.width
        height = capture.height
        self.realtime = realtime
        self.loop = loop
        buffer = [UInt8](repeating: 0, count: max(1, capture.width * capture.height * 3))
    }

    public func nextFrame() throws -> Frame? {
        var size = try capture.read(into: &buffer)
        if size == nil, loop, delivered > 0 {
            try capture.rewind()
            sinceStart = 0
            size = try capture.read(into: &buffer)
        }
        guard let (w, h) = size else { return nil }
        if sinceStart == 0 { start = monotonicSeconds() }
        if realtime { sleep(until: start + Double(sinceStart) / (nominalFPS ?? 30)) }
        let pixels = buffer.count == w * h * 3 ? buffer : Array(buffer[0..<(w * h * 3)])
        let frame = Frame(
            width: w, height: h, channels: 3, pixels: pixels, timestamp: monotonicSeconds(),
            index: delivered, origin: name)
        sinceStart += 1
        delivered += 1
        return frame
    }
}
