// What `--source` names, parsed into a kind of source, and the factory that opens it.

import Foundation

/// A frame source as the user names it: a camera, a video, an image, a folder, or the demo.
public enum SourceSpec: Equatable, Sendable {
    case camera(String)
    case videoFile(String)
    case image(String)
    case imageFolder(String)
    case labelledFolder(String)
    case demo

    /// The options a user can give, for messages.
    public static let choices =
        "a camera (/dev/video0), a video file (clip.mp4), an image, a folder of images, "
        + "a folder of class folders, or 'demo'"

    /// The source `--source` names; when it names none (nil or empty), the default: the camera at
    /// `defaultCamera` when it exists, else the demo, with a notice saying why.
    public static func choose(_ value: String?, defaultCamera: String = "/dev/video0") throws
        -> (spec: SourceSpec, notice: String?)
    {
        guard let value, !value.isEmpty else {
            if FileManager.default.fileExists(atPath: defaultCamera) { return (.camera(defaultCamera), nil) }
            return (
                .demo,
                "no camera at \(defaultCamera): showing the demo face "
                    + "(use --source to pick a video, images or a camera)"
            )
        }
        return (try parse(value), nil)
    }

    /// Parses a `--source` value; the error names every option.
    public static func parse(_ value: String) throws -> SourceSpec {
        if value == "demo" { return .demo }
        if value.hasPrefix("/dev/video") { return .camera(value) }
        var dir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: value, isDirectory: &dir) else {
            throw SourceError("--source \(value): no such file, folder or device; give \(choices)")
        }
        if dir.boolValue {
            return LabelledFolderSource.looksLabelled(value) ? .labelledFolder(value) : .imageFolder(value)
        }
        if value.hasPrefix("/dev/") { return .camera(value) }
        return isImageFile(value) ? .image(value) : .videoFile(value)
    }
}

/// How a source is opened: what `--size`, `--fps`, `--no-realtime` and `--loop` say.
public struct SourceOptions: Sendable {
    public var width = 640
    public var height = 480
    /// Camera rate to ask for; image folders are played at this rate when realtime (10 when nil).
    public var fps: Double?
    public var realtime = true
    public var loop = false
    /// The folder holding the demo's faces (the checkout's Assets/demo).
    public var demoAssets: String?
    /// Faces the demo shows (the pipeline benchmark's crowd).
    public var demoFaces = 1

    public init(
        width: Int = 640, height: Int = 480, fps: Double? = nil, realtime: Bool = true, loop: Bool = false,
        demoAssets: String? = nil
    ) {
        self.width = width
        self.height = height
        self.fps = fps
        self.realtime = realtime
        self.loop = loop
        self.demoAssets = demoAssets
    }
}

extension SourceSpec {
    /// Opens the source; errors say what is wrong with the path or device and what to do.
    public func open(_ o: SourceOptions = SourceOptions()) throws -> FrameSource {
        let stillRate = o.realtime ? (o.fps ?? 10) : nil
        switch self {
        case .camera(let path):
            return try V4L2Camera(path: path, width: o.width, height: o.height, fps: o.fps ?? 30)
        case .videoFile(let path):
            do {
                return try VideoFileSource(path: path, realtime: o.realtime, loop: o.loop)
            } catch let e as OpenCVError where e.kind == .undecodable {
                throw SourceError(
                    "--source \(path): not an image, and OpenCV cannot open it as a video (\(e.message)); "
                        + "give \(SourceSpec.choices)"
                )
            }
        case .image(let path):
            return try ImageSource(path: path, repeating: o.loop, fps: o.fps ?? 10)
        case .imageFolder(let path):
            return try ImageFolderSource(folder: path, fps: stillRate, loop: o.loop)
        case .labelledFolder(let path):
            return try LabelledFolderSource(folder: path, fps: stillRate, loop: o.loop)
        case .demo:
            guard let assets = o.demoAssets else {
                throw SourceError(
                    "the demo source needs its faces folder (Assets/demo in the checkout); run fertui from the checkout"
                )
            }
            return try DemoSource(
                assets: assets, width: o.width, height: o.height, fps: o.fps ?? 15, realtime: o.realtime,
                faces: o.demoFaces)
        }
    }
}
