// The one seam to OpenCV: thin Swift wrappers over every fcv_ call of COpenCVShim, turning
// return codes and messages into `OpenCVError`. Nothing else in fertui calls fcv_ directly.

import COpenCVShim

/// An OpenCV call that failed; `message` names the file or value and what went wrong.
public struct OpenCVError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case notFound, invalidArgument, undecodable, opencv, bufferTooSmall
        case other(Int32)
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    init(code: Int32, message: String) {
        switch code {
        case Int32(FCV_ENOTFOUND): kind = .notFound
        case Int32(FCV_EINVAL): kind = .invalidArgument
        case Int32(FCV_EDECODE): kind = .undecodable
        case Int32(FCV_EOPENCV): kind = .opencv
        case Int32(FCV_ECAPACITY): kind = .bufferTooSmall
        default: kind = .other(code)
        }
        self.message = message
    }
}

/// Calls `body` with an error-message buffer; a negative result becomes an `OpenCVError`.
@discardableResult
private func fcvCall(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Int32 {
    var err = [CChar](repeating: 0, count: 512)
    let rc = err.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if rc < 0 {
        throw OpenCVError(code: rc, message: String(cString: err))
    }
    return rc
}

/// OpenCV through the shim: images, video, resizing and Haar cascades.
public enum OpenCV {
    /// How `resize` interpolates: area averaging (shrinking) or bilinear.
    public enum Interpolation: Sendable {
        case area, linear
        var code: Int32 { self == .area ? Int32(FCV_INTER_AREA) : Int32(FCV_INTER_LINEAR) }
    }

    /// Threads OpenCV's parallel loops may use (nil: OpenCV's default, all cores). A pipeline that
    /// runs detection beside the engine may set 1 so the two do not fight over the cores.
    public static func setThreads(_ threads: Int?) {
        fcv_set_threads(Int32(threads ?? 0))
    }

    /// Packed BGR to gray with OpenCV's BT.601 weights.
    public static func bgrToGray(_ bgr: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        var gray = [UInt8](repeating: 0, count: width * height)
        try bgrToGray(bgr, width: width, height: height, into: &gray)
        return gray
    }

    /// Packed BGR to gray into a caller's buffer of width*height bytes.
    public static func bgrToGray(_ bgr: [UInt8], width: Int, height: Int, into gray: inout [UInt8]) throws {
        precondition(bgr.count >= width * height * 3 && gray.count >= width * height)
        _ = try bgr.withUnsafeBufferPointer { src in
            try gray.withUnsafeMutableBufferPointer { dst in
                try fcvCall { fcv_bgr_to_gray(src.baseAddress, Int32(width), Int32(height), dst.baseAddress, $0, $1) }
            }
        }
    }

    /// Resizes a packed 1- or 3-channel image.
    public static func resize(
        _ pixels: [UInt8], width: Int, height: Int, channels: Int, toWidth: Int,
        toHeight: Int, interpolation: Interpolation
    ) throws -> [UInt8] {
        precondition(pixels.count >= width * height * channels)
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
        _ = try pixels.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try fcvCall {
                    fcv_resize(
                        src.baseAddress, Int32(width), Int32(height), Int32(channels), dst.baseAddress,
                        Int32(toWidth), Int32(toHeight), interpolation.code, $0, $1)
                }
            }
        }
        return out
    }

    /// Resizes into a caller's buffer of toWidth*toHeight*channels bytes (no allocation).
    public static func resize(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
        into dst: UnsafeMutableBufferPointer<UInt8>, toWidth: Int, toHeight: Int,
        interpolation: Interpolation
    ) throws {
        precondition(src.count >= width * height * channels && dst.count >= toWidth * toHeight * channels)
        try fcvCall {
            fcv_resize(
                src.baseAddress, Int32(width), Int32(height), Int32(channels), dst.baseAddress,
                Int32(toWidth), Int32(toHeight), interpolation.code, $0, $1)
        }
    }

    /// Cuts `rect` out of a gray image, resizes it to `toWidth` x `toHeight` into `dst` and, with
    /// `equalize`, spreads its histogram (`equalizeHist`): a cascade pass's input.
    public static func grayRegion(
        _ gray: UnsafeBufferPointer<UInt8>, width: Int, height: Int, rect: FaceBox,
        into dst: UnsafeMutableBufferPointer<UInt8>, toWidth: Int, toHeight: Int,
        equalize: Bool
    ) throws {
        precondition(gray.count >= width * height && dst.count >= toWidth * toHeight)
        try fcvCall {
            fcv_gray_region(
                gray.baseAddress, Int32(width), Int32(height), Int32(width), Int32(rect.x), Int32(rect.y),
                Int32(rect.width), Int32(rect.height), dst.baseAddress, Int32(toWidth), Int32(toHeight),
                equalize ? 1 : 0, $0, $1)
        }
    }

    /// Decodes an image file (JPEG, PNG, BMP, PGM, ...) as gray (`channels` 1) or BGR (3).
    public static func readImage(_ path: String, channels: Int = 3) throws -> (pixels: [UInt8], width: Int, height: Int)
    {
        var data: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0
        var h: Int32 = 0
        try fcvCall { fcv_image_read(path, Int32(channels), &data, &w, &h, $0, $1) }
        defer { fcv_free(data) }
        let count = Int(w) * Int(h) * channels
        return (Array(UnsafeBufferPointer(start: data, count: count)), Int(w), Int(h))
    }

    /// Draws a box outline into packed BGR `pixels`; `color` is (B, G, R).
    public static func drawRectangle(
        _ pixels: inout [UInt8], width: Int, height: Int, box: FaceBox,
        color: (UInt8, UInt8, UInt8), thickness: Int
    ) throws {
        precondition(pixels.count >= width * height * 3)
        let bgr = [color.0, color.1, color.2]
        _ = try pixels.withUnsafeMutableBufferPointer { dst in
            try fcvCall {
                fcv_draw_rectangle(
                    dst.baseAddress, Int32(width), Int32(height), Int32(box.x), Int32(box.y),
                    Int32(box.width), Int32(box.height), bgr, Int32(thickness), $0, $1)
            }
        }
    }

    /// Draws `text` on a filled background at (x, y), about `textHeight` pixels high.
    public static func drawLabel(
        _ pixels: inout [UInt8], width: Int, height: Int, text: String, x: Int, y: Int,
        textHeight: Int, color: (UInt8, UInt8, UInt8),
        background: (UInt8, UInt8, UInt8)
    ) throws {
        precondition(pixels.count >= width * height * 3)
        let fg = [color.0, color.1, color.2]
        let bg = [background.0, background.1, background.2]
        _ = try pixels.withUnsafeMutableBufferPointer { dst in
            try fcvCall {
                fcv_draw_label(
                    dst.baseAddress, Int32(width), Int32(height), text, Int32(x), Int32(y),
                    Int32(textHeight), fg, bg, $0, $1)
            }
        }
    }

    /// Writes a packed image; the extension (.png, .jpg, ...) picks the format.
    public static func writeImage(
        _ path: String, pixels: [UInt8], width: Int, height: Int, channels: Int,
        jpegQuality: Int = 95
    ) throws {
        precondition(pixels.count >= width * height * channels)
        _ = try pixels.withUnsafeBufferPointer { src in
            try fcvCall {
                fcv_image_write(
                    path, src.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(jpegQuality), $0, $1)
            }
        }
    }

    /// A loaded Haar cascade (`cv::CascadeClassifier`).
    public final class Cascade {
        private let handle: OpaquePointer
        /// Boxes returned by one call at most; more faces than this in one frame are dropped.
        public static let capacity = 64
        private var rects = [Int32](repeating: 0, count: 4 * Cascade.capacity)

        public init(path: String) throws {
            var h: OpaquePointer?
            try fcvCall { fcv_cascade_create(path, &h, $0, $1) }
            handle = h!
        }

        deinit { fcv_cascade_destroy(handle) }

        /// Runs `detectMultiScale` on a packed gray image; sizes in pixels, maxSize 0 = no limit.
        public func detect(
            gray: UnsafeBufferPointer<UInt8>, width: Int, height: Int, scaleFactor: Double,
            minNeighbors: Int, minSize: Int, maxSize: Int = 0
        ) throws -> [FaceBox] {
            precondition(gray.count >= width * height)
            var count: Int32 = 0
            let cap = Int32(Cascade.capacity)
            _ = try rects.withUnsafeMutableBufferPointer { r in
                try fcvCall {
                    fcv_cascade_detect(
                        handle, gray.baseAddress, Int32(width), Int32(height), Int32(width), scaleFactor,
                        Int32(minNeighbors), Int32(minSize), Int32(maxSize), r.baseAddress, cap,
                        &count, $0, $1)
                }
            }
            var boxes: [FaceBox] = []
            for i in 0..<min(Int(count), Cascade.capacity) {
                let r = rects[(4 * i)..<(4 * i + 4)].map(Int.init)
                boxes.append(FaceBox(x: r[0], y: r[1], width: r[2], height: r[3]))
            }
            return boxes
        }
    }

    /// A video file being decoded (`cv::VideoCapture`).
    public final class VideoCapture {
        private let handle: OpaquePointer
        public let width: Int
        public let height: Int
        /// Frames per second from the container, nil when it does not say.
        public let fps: Double?

        public init(path: String) throws {
            var h: OpaquePointer?
            try fcvCall { fcv_video_open(path, &h, $0, $1) }
            handle = h!
            var w: Int32 = 0
            var hh: Int32 = 0
            var rate = 0.0
            var frames: Int64 = 0  // the frame count goes unused
            fcv_video_info(handle, &w, &hh, &rate, &frames)
            width = Int(w)
            height = Int(hh)
            fps = rate > 0 ? rate : nil
        }

        deinit { fcv_video_close(handle) }

        /// Decodes the next frame into `bgr` (grown when a frame is larger); nil at the end.
        public func read(into bgr: inout [UInt8]) throws -> (width: Int, height: Int)? {
            var w: Int32 = 0
            var h: Int32 = 0
            do {
                let rc = try bgr.withUnsafeMutableBufferPointer { b in
                    try fcvCall { fcv_video_read(handle, b.baseAddress, b.count, &w, &h, $0, $1) }
                }
                return rc == 1 ? (Int(w), Int(h)) : nil
            } catch let e as OpenCVError where e.kind == .bufferTooSmall {
                bgr = [UInt8](repeating: 0, count: Int(w) * Int(h) * 3)
                return try read(into: &bgr)
            }
        }

        /// Starts again from the first frame.
        public func rewind() throws {
            try fcvCall { fcv_video_rewind(handle, $0, $1) }
        }
    }

    /// Writes a video file (`cv::VideoWriter`): the tests make their clips with it.
    public final class VideoWriter {
        private var handle: OpaquePointer?
        public let width: Int
        public let height: Int

        /// `fourcc`: "MJPG" (in .avi, always available), "mp4v", ...
        public init(path: String, fourcc: String = "MJPG", fps: Double, width: Int, height: Int) throws {
            var h: OpaquePointer?
            try fcvCall { fcv_video_writer_open(path, fourcc, fps, Int32(width), Int32(height), &h, $0, $1) }
            handle = h
            self.width = width
            self.height = height
        }

        deinit { close() }

        /// Appends one packed BGR frame of the writer's size.
        public func write(_ bgr: [UInt8]) throws {
            precondition(bgr.count == width * height * 3, "frame of \(bgr.count) bytes for a \(width)x\(height) writer")
            guard let handle else { return }
            _ = try bgr.withUnsafeBufferPointer { b in
                try fcvCall { fcv_video_writer_write(handle, b.baseAddress, $0, $1) }
            }
        }

        /// Finishes the file; further writes are ignored.
        public func close() {
            if let handle { fcv_video_writer_close(handle) }
            handle = nil
        }
    }
}
