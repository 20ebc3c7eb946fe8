// Frame sources made of still images: one file, a folder played in name order, and a folder of
// class folders replayed with each frame's true label (for live accuracy).

import Foundation

/// A source that cannot start or go on; the message names the path and what to do.
public struct SourceError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// File extensions read as images (what OpenCV decodes and FER-style datasets use).
public let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "pgm", "ppm", "tif", "tiff", "webp"]

func isImageFile(_ path: String) -> Bool {
    imageExtensions.contains((path as NSString).pathExtension.lowercased())
}

func isDirectory(_ path: String) -> Bool {
    var dir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
}

/// The entries of a folder in name order, numbers compared as numbers (frame_9 before frame_10);
/// an unreadable folder is a `SourceError`.
func folderEntries(_ path: String) throws -> [String] {
    do {
        return try FileManager.default.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }
            .sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }
    } catch {
        throw SourceError("cannot list folder \(path): \(error.localizedDescription)")
    }
}

/// A file of a folder source that could not be decoded, and why; the replay goes on without it.
public struct SkippedFile: Sendable, Equatable {
    public var path: String
    public var reason: String
}

/// Reads one image file as a BGR frame.
func readFrame(_ path: String, index: Int, truth: String? = nil) throws -> Frame {
    let image = try OpenCV.readImage(path, channels: 3)
    return Frame(
        width: image.width, height: image.height, channels: 3, pixels: image.pixels,
        timestamp: monotonicSeconds(), index: index, truth: truth, origin: path)
}

/// One image file, delivered once (or forever with `repeating`, for a still monitor view).
public final class ImageSource: FrameSource {
    public let name: String
    public let nominalFPS: Double?
    private let frame: Frame
    private let repeating: Bool
    private var delivered = 0

    /// Decodes the file now so a bad path fails before the monitor starts.
    /// `repeating`: deliver the image again at `fps` instead of ending after one frame.
    public init(path: String, repeating: Bool = false, fps: Double = 10) throws {
        name = path
        frame = try readFrame(path, index: 0)
        self.repeating = repeating
        nominalFPS = repeating ? fps : nil
    }

    public func nextFrame() throws -> Frame? {
        guard repeating || delivered == 0 else { return nil }
        if delivered > 0, let fps = nominalFPS { Thread.sleep(forTimeInterval: 1 / fps) }
        var f = frame
        f.index = delivered
        f.timestamp = monotonicSeconds()
        delivered += 1
        return f
    }
}

/// The images of a folder in name order, as a frame sequence (at `fps` when given).
public final class ImageFolderSource: ImageReplay {
    public let name: String
    public let nominalFPS: Double?
    /// Full paths of the images, in the order they are played.
    public let paths: [String]
    public var imagePaths: [String] { paths }
    private var cursor: ReplayCursor

    public init(folder: String, fps: Double? = nil, loop: Bool = false) throws {
        guard isDirectory(folder) else { throw SourceError("\(folder) is not a folder") }
        paths = try folderEntries(folder).filter(isImageFile).map { (folder as NSString).appendingPathComponent($0) }
        guard !paths.isEmpty else {
            throw SourceError("folder \(folder) holds no images (\(imageExtensions.sorted().joined(separator: ", ")))")
        }
        name = folder
        nominalFPS = fps
        cursor = ReplayCursor(fps: fps, loop: loop)
    }

    /// Files that could not be decoded and were passed over, in the order met.
    public var skipped: [SkippedFile] { cursor.skipped }

    public func nextFrame() throws -> Frame? {
        try cursor.next(
            count: paths.count, name: name, path: { paths[$0] }, read: { try readFrame(paths[$0], index: $1) })
    }
}

/// A folder of class folders (`angry/`, `happy/`, ...) replayed with each frame's true label.
public final class LabelledFolderSource: ImageReplay {
    public let name: String
    public let nominalFPS: Double?
    public var imagePaths: [String] { items.map(\.path) }
    /// Class names found (the sub-folder names, sorted).
    public let classes: [String]
    /// (path, class) in the order they are played.
    public let items: [(path: String, truth: String)]
    private var cursor: ReplayCursor

    /// `shuffleSeed`: interleave the classes in a repeatable random order (nil: class by class, so
    /// a replay shows all of one class first).
    public init(folder: String, fps: Double? = nil, loop: Bool = false, shuffleSeed: UInt64? = 0) throws {
        guard isDirectory(folder) else { throw SourceError("\(folder) is not a folder") }
        var found: [(String, String)] = []
        var classes: [String] = []
        for sub in try folderEntries(folder) {
            let dir = (folder as NSString).appendingPathComponent(sub)
            guard isDirectory(dir) else { continue }
            let images = try folderEntries(dir).filter(isImageFile)
            guard !images.isEmpty else { continue }
            classes.append(sub)
            found += images.map { ((dir as NSString).appendingPathComponent($0), sub) }
        }
        guard !found.isEmpty else {
            throw SourceError("folder \(folder) has no class folders with images (expected e.g. \(folder)/happy/*.jpg)")
        }
        if let seed = shuffleSeed {
            var rng = SplitMix64(seed: seed)
            found.shuffle(using: &rng)
        }
        name = folder
        nominalFPS = fps
        self.classes = classes
        self.items = found.map { (path: $0.0, truth: $0.1) }
        cursor = ReplayCursor(fps: fps, loop: loop)
    }

    /// True when `folder` looks like a labelled dataset: sub-folders with images, no images of its own.
    public static func looksLabelled(_ folder: String) -> Bool {
        guard let entries = try? folderEntries(folder) else { return false }
        let paths = entries.map { (folder as NSString).appendingPathComponent($0) }
        if paths.contains(where: { isImageFile($0) && !isDirectory($0) }) { return false }
        return paths.contains { dir in
            isDirectory(dir) && ((try? folderEntries(dir))?.contains(where: isImageFile) ?? false)
        }
    }

    /// Files that could not be decoded and were passed over, in the order met.
    public var skipped: [SkippedFile] { cursor.skipped }

    public func nextFrame() throws -> Frame? {
        try cursor.next(
            count: items.count, name: name, path: { items[$0].path },
            read: { try readFrame(items[$0].path, index: $1, truth: items[$0].truth) })
    }
}

/// Where a folder replay is: the next file, frames delivered, the clock for pacing them, and the
/// files passed over because they could not be read.
struct ReplayCursor {
    let fps: Double?
    let loop: Bool
    private var position = 0
    private var delivered = 0
    private var start = 0.0
    private(set) var skipped: [SkippedFile] = []
    private var failuresInARow = 0

    init(fps: Double?, loop: Bool) {
        self.fps = fps
        self.loop = loop
    }

    /// The next readable file's frame (`read` gets a file's position and the frame's index),
    /// paced at `fps`; nil at the end unless looping. An unreadable file is noted and passed over;
    /// when all `count` files in a row have failed, there is nothing left to play and the folder
    /// `name` is an error.
    mutating func next(count: Int, name: String, path: (Int) -> String, read: (Int, Int) throws -> Frame)
        throws -> Frame?
    {
        while true {
            if position == count {
                guard loop else { return nil }
                position = 0
            }
            if delivered == 0 { start = monotonicSeconds() }
            if let fps { sleep(until: start + Double(delivered) / fps) }
            let i = position
            position += 1
            do {
                let frame = try read(i, delivered)
                failuresInARow = 0
                delivered += 1
                return frame
            } catch {
                skipped.append(SkippedFile(path: path(i), reason: "\(error)"))
                failuresInARow += 1
                if failuresInARow >= count {
                    throw SourceError(
                        "none of the \(count) images in \(name) could be read (last: \(path(i)): \(error))")
                }
            }
        }
    }
}

/// A small seeded generator so shuffles and the demo repeat exactly from run to run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
