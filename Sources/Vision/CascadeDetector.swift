// Face detection as in the paper: OpenCV's Haar cascade (haarcascade_frontalface_default.xml),
// run on a downscaled gray copy of the frame for speed; boxes come back in frame pixels.

import Foundation

/// How the cascade searches; the defaults suit a webcam at 640x480.
public struct DetectorSettings: Sendable, Equatable {
    /// Scale step between pyramid levels (OpenCV's scaleFactor), above 1.
    public var scaleFactor: Double = 1.1
    /// Neighbouring hits needed to keep a face (OpenCV's minNeighbors); higher = fewer false faces.
    public var minNeighbors: Int = 5
    /// Smallest face side in frame pixels.
    public var minFaceSize: Int = 40
    /// The frame is shrunk to at most this width before detection (0: never shrink).
    public var detectionWidth: Int = 320

    public init(scaleFactor: Double = 1.1, minNeighbors: Int = 5, minFaceSize: Int = 40, detectionWidth: Int = 320) {
        self.scaleFactor = scaleFactor
        self.minNeighbors = minNeighbors
        self.minFaceSize = minFaceSize
        self.detectionWidth = detectionWidth
    }
}

/// Finds faces with a Haar cascade. Keeps its scratch buffers, so use one per thread.
public final class CascadeDetector {
    /// Where Debian/Ubuntu's opencv-data installs the paper's cascade.
    public static let defaultCascadePath = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

    public let cascadePath: String
    public var settings: DetectorSettings
    private let cascade: OpenCV.Cascade
    private var gray: [UInt8] = []
    private var small: [UInt8] = []

    /// Loads the cascade (nil: the opencv-data default); a missing file says how to get one.
    public init(cascadePath: String? = nil, settings: DetectorSettings = DetectorSettings()) throws {
        let path = cascadePath ?? CascadeDetector.defaultCascadePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw SourceError(
                cascadePath == nil
                    ? "face cascade \(path) not found: install it (apt-get install opencv-data) or pass --cascade FILE"
                    : "face cascade \(path) not found: pass an existing haarcascade XML file to --cascade")
        }
        guard settings.scaleFactor > 1 else {
            throw DetectionSettingsError("scale factor \(settings.scaleFactor): give a number above 1 (e.g. 1.1)")
        }
        guard settings.minFaceSize >= 1 else {
            throw DetectionSettingsError(
                "minimum face size \(settings.minFaceSize) px: give a side of 1 px or more (e.g. 32)")
        }
        cascade = try FaceSchedule.loadCascade(path, option: "--cascade")
        self.cascadePath = path
        self.settings = settings
    }

    /// All faces in the frame, in frame pixels, largest first.
    public func detect(_ frame: Frame) throws -> [FaceBox] {
        let w = frame.width
        let h = frame.height
        if frame.channels == 3 {
            if gray.count != w * h { gray = [UInt8](repeating: 0, count: w * h) }
            try OpenCV.bgrToGray(frame.pixels, width: w, height: h, into: &gray)
        } else {
            gray = frame.pixels
        }
        // Shrink for speed: the cascade's cost grows with the pixel count.
        let shrink =
            settings.detectionWidth > 0 && w > settings.detectionWidth
            ? Double(settings.detectionWidth) / Double(w) : 1
        let sw = max(1, Int((Double(w) * shrink).rounded()))
        let sh = max(1, Int((Double(h) * shrink).rounded()))
        var boxes: [FaceBox]
        let minSize = max(1, Int((Double(settings.minFaceSize) * shrink).rounded()))
        if shrink < 1 {
            if small.count != sw * sh { small = [UInt8](repeating: 0, count: sw * sh) }
            try gray.withUnsafeBufferPointer { src in
                try small.withUnsafeMutableBufferPointer { dst in
                    try OpenCV.resize(
                        src, width: w, height: h, channels: 1, into: dst, toWidth: sw, toHeight: sh,
                        interpolation: .area)
                }
            }
            boxes = try small.withUnsafeBufferPointer {
                try cascade.detect(
                    gray: $0, width: sw, height: sh, scaleFactor: settings.scaleFactor,
                    minNeighbors: settings.minNeighbors, minSize: minSize)
            }
            let sx = Double(w) / Double(sw)
            let sy = Double(h) / Double(sh)
            boxes = boxes.map { b in
                let x = Int((Double(b.x) * sx).rounded())
                let y = Int((Double(b.y) * sy).rounded())
                let x2 = Int((Double(b.x + b.width) * sx).rounded())
                let y2 = Int((Double(b.y + b.height) * sy).rounded())
                return FaceBox(x: x, y: y, width: min(x2, w) - x, height: min(y2, h) - y)
            }
        } else {
            boxes = try gray.withUnsafeBufferPointer {
                try cascade.detect(
                    gray: $0, width: w, height: h, scaleFactor: settings.scaleFactor,
                    minNeighbors: settings.minNeighbors, minSize: minSize)
            }
        }
        return boxes.sorted { $0.area != $1.area ? $0.area > $1.area : ($0.x, $0.y) < ($1.x, $1.y) }
    }
}
