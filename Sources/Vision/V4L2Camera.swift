// A V4L2 camera through libv4l2: capability query, size and rate negotiation, mmap streaming,
// frames converted to BGR24 by libv4l2 (from YUYV, MJPEG, ...). A camera that disappears is
// reported (`CameraError.disconnected`) and reopened on a later `nextFrame()` once it is back.

import CV4L2
import Foundation

/// A camera problem in words, with what to do about it. `.disconnected` and `.timeout` are
/// recoverable: call `nextFrame()` again and the camera is reopened once it is back.
public struct CameraError: RecoverableSourceError, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case noSuchDevice, notCaptureDevice, busy, permissionDenied, formatNotSupported, disconnected, timeout, failed
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
    public var isRecoverable: Bool { kind == .disconnected || kind == .timeout }
}

/// The size-choosing rules, kept apart from the device so they read (and test) on their own.
public enum V4L2Negotiation {
    /// The offered size closest to the request: least difference in pixel count, then in aspect.
    public static func closestSize(to requested: (width: Int, height: Int), among sizes: [(width: Int, height: Int)])
        -> (width: Int, height: Int)?
    {
        func cost(_ s: (width: Int, height: Int)) -> (Int, Double) {
            (
                abs(s.width * s.height - requested.width * requested.height),
                abs(Double(s.width) / Double(s.height) - Double(requested.width) / Double(requested.height))
            )
        }
        return sizes.min { cost($0) < cost($1) }
    }

    /// A requested size brought into a stepwise range (min...max in steps).
    public static func clamp(_ value: Int, min lo: Int, max hi: Int, step: Int) -> Int {
        let v = Swift.min(Swift.max(value, lo), hi)
        return step > 1 ? lo + (v - lo) / step * step : v
    }

    /// A pixel format code as its four characters ("YUYV", "BGR3").
    public static func fourcc(_ code: UInt32) -> String {
        String((0..<4).map { Character(UnicodeScalar(UInt8((code >> (8 * UInt32($0))) & 0xFF))) })
    }
}

/// A camera at /dev/videoN, delivering BGR frames.
public final class V4L2Camera: FrameSource {
    public let name: String
    public private(set) var nominalFPS: Double?
    /// The size the driver agreed to (may differ from the request).
    public private(set) var width = 0
    public private(set) var height = 0
    /// The driver's name for the camera (VIDIOC_QUERYCAP's card).
    public private(set) var card = ""
    public let requestedWidth: Int
    public let requestedHeight: Int
    public let requestedFPS: Double?
    /// Seconds between attempts to reopen a camera that went away.
    public var reopenInterval = 1.0
    /// Seconds to wait for a frame before `nextFrame()` throws `.timeout`.
    public var frameTimeout = 2.0

    private let device: V4L2Device
    private var fd: Int32 = -1
    private var buffers: [(address: UnsafeMutableRawPointer, length: Int)] = []
    private var bytesPerLine = 0
    private var delivered = 0
    private var nextReopen = 0.0

    /// Opens and starts the camera now, so a wrong path or a busy camera fails at once.
    public init(
        path: String = "/dev/video0", width: Int = 640, height: Int = 480, fps: Double? = 30,
        device: V4L2Device = SystemV4L2()
    ) throws {
        name = path
        requestedWidth = width
        requestedHeight = height
        requestedFPS = fps
        self.device = device
        try start()
    }

    deinit { stop() }

    public var isStreaming: Bool { fd >= 0 }

    public func nextFrame() throws -> Frame? {
        if fd < 0 {
            // The camera went away: try again every `reopenInterval` until it is back.
            sleep(until: nextReopen)
            nextReopen = monotonicSeconds() + reopenInterval
            do {
                try start()
            } catch let e as CameraError where [.noSuchDevice, .busy, .disconnected, .failed].contains(e.kind) {
                throw CameraError(
                    .disconnected, "camera \(name) is disconnected (\(e.message)); retrying every \(reopenInterval) s")
            }
        }
        while true {
            let ready: Bool
            do {
                ready = try device.waitReadable(fd, timeout: frameTimeout)
            } catch let e as V4L2CallError {
                throw lost(e)
            }
            guard ready else {
                throw CameraError(
                    .timeout,
                    "camera \(name) sent no frame for \(frameTimeout) s; is it covered or used by another program?")
            }
            var buf = v4l2_buffer()
            buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buf.memory = V4L2_MEMORY_MMAP.rawValue
            do {
                try device.ioctl(fd, CV4L2_VIDIOC_DQBUF, &buf)
            } catch let e as V4L2CallError where e.errno == EAGAIN {
                continue
            } catch let e as V4L2CallError {
                throw lost(e)
            }
            let frame = copyFrame(buf)
            do {
                try device.ioctl(fd, CV4L2_VIDIOC_QBUF, &buf)
            } catch let e as V4L2CallError {
                throw lost(e)
            }
            return frame
        }
    }

    /// Closes the device after a failure mid-stream; the next `nextFrame()` tries to reopen it.
    private func lost(_ e: V4L2CallError) -> CameraError {
        stop()
        nextReopen = monotonicSeconds() + reopenInterval
        return CameraError(
            .disconnected, "camera \(name) stopped delivering frames (\(e)); it will be reopened when it is back")
    }

    private func copyFrame(_ buf: v4l2_buffer) -> Frame {
        let rowBytes = width * 3
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        let src = buffers[Int(buf.index)].address.assumingMemoryBound(to: UInt8.self)
        let available = min(Int(buf.bytesused), buffers[Int(buf.index)].length)
        pixels.withUnsafeMutableBufferPointer { dst in
            for y in 0..<height where y * bytesPerLine + rowBytes <= available {
                memcpy(dst.baseAddress! + y * rowBytes, src + y * bytesPerLine, rowBytes)
            }
        }
        defer { delivered += 1 }
        return Frame(
            width: width, height: height, channels: 3, pixels: pixels, timestamp: monotonicSeconds(),
            index: delivered, origin: name)
    }

    /// Opens the device, negotiates BGR24 at the nearest size and rate, maps buffers, streams.
    private func start() throws {
        guard device.isCharacterDevice(name) else {
            if FileManager.default.fileExists(atPath: name) {
                throw CameraError(
                    .notCaptureDevice,
                    "\(name) is not a video device (it is not a character device); "
                        + "give a camera such as /dev/video0, or a video file"
                )
            }
            throw CameraError(
                .noSuchDevice,
                "no such device \(name): is the camera plugged in? list cameras with 'ls /dev/video*', or use --source "
                    + "demo"
            )
        }
        do {
            fd = try device.open(name)
        } catch let e as V4L2CallError {
            throw openError(e)
        }
        do {
            try negotiate()
            try startStreaming()
        } catch {
            stop()
            throw error
        }
    }

    private func openError(_ e: V4L2CallError) -> CameraError {
        switch e.errno {
        case ENOENT, ENODEV, ENXIO:
            return CameraError(
                .noSuchDevice,
                "no such device \(name): is the camera plugged in? list cameras with 'ls /dev/video*', or use --source "
                    + "demo"
            )
        case EACCES, EPERM:
            return CameraError(
                .permissionDenied,
                "permission denied opening \(name): "
                    + "add your user to the 'video' group (sudo usermod -aG video $USER) and log in again"
            )
        case EBUSY:
            return busyError()
        case ENOTTY, EINVAL:
            return CameraError(
                .notCaptureDevice,
                "\(name) is not a video capture device (it does not answer VIDIOC_QUERYCAP); give a camera such as "
                    + "/dev/video0"
            )
        default:
            return CameraError(.failed, "cannot open camera \(name): \(e)")
        }
    }

    private func busyError() -> CameraError {
        CameraError(.busy, "camera \(name) is busy: another program is using it; close that program and try again")
    }

    private func negotiate() throws {
        var cap = v4l2_capability()
        do {
            try device.ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap)
        } catch {
            throw CameraError(
                .notCaptureDevice,
                "\(name) is not a video capture device (it does not answer VIDIOC_QUERYCAP); give a camera such as "
                    + "/dev/video0"
            )
        }
        card = withUnsafeBytes(of: cap.card) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let caps = cap.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else {
            throw CameraError(
                .notCaptureDevice,
                "\(name) (\(card)) is not a video capture device (a metadata or output node?); try another /dev/videoN")
        }
        guard caps & UInt32(V4L2_CAP_STREAMING) != 0 else {
            throw CameraError(
                .formatNotSupported, "\(name) (\(card)) does not support streaming I/O, which fertui needs")
        }

        // Size: the offered size nearest the request (libv4l2 lists the sizes it can convert to BGR24).
        var sizes: [(width: Int, height: Int)] = []
        var target = (width: requestedWidth, height: requestedHeight)
        for index in 0..<64 {
            var fs = v4l2_frmsizeenum()
            fs.index = UInt32(index)
            fs.pixel_format = CV4L2_PIX_FMT_BGR24
            guard (try? device.ioctl(fd, CV4L2_VIDIOC_ENUM_FRAMESIZES, &fs)) != nil else { break }
            if fs.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append((Int(fs.discrete.width), Int(fs.discrete.height)))
            } else {
                let s = fs.stepwise
                target = (
                    V4L2Negotiation.clamp(
                        requestedWidth, min: Int(s.min_width), max: Int(s.max_width), step: Int(s.step_width)),
                    V4L2Negotiation.clamp(
                        requestedHeight, min: Int(s.min_height), max: Int(s.max_height), step: Int(s.step_height))
                )
                break
            }
        }
        if let best = V4L2Negotiation.closestSize(to: (requestedWidth, requestedHeight), among: sizes) { target = best }

        var fmt = v4l2_format()
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        fmt.fmt.pix.width = UInt32(target.width)
        fmt.fmt.pix.height = UInt32(target.height)
        fmt.fmt.pix.pixelformat = CV4L2_PIX_FMT_BGR24
        fmt.fmt.pix.field = V4L2_FIELD_ANY.rawValue
        do {
            try device.ioctl(fd, CV4L2_VIDIOC_S_FMT, &fmt)
        } catch let e as V4L2CallError where e.errno == EBUSY {
            throw busyError()
        } catch let e as V4L2CallError {
            throw CameraError(
                .formatNotSupported,
                "\(name) (\(card)) refused BGR24 at \(target.width)x\(target.height): \(e); try another --size")
        }
        guard fmt.fmt.pix.pixelformat == CV4L2_PIX_FMT_BGR24 else {
            throw CameraError(
                .formatNotSupported,
                "\(name) (\(card)) offers \(V4L2Negotiation.fourcc(fmt.fmt.pix.pixelformat)), "
                    + "which libv4l2 cannot convert to BGR24; this camera's format is not supported"
            )
        }
        width = Int(fmt.fmt.pix.width)
        height = Int(fmt.fmt.pix.height)
        guard width > 0, height > 0 else {
            throw CameraError(
                .formatNotSupported, "\(name) (\(card)) agreed to a \(width)x\(height) frame; try another --size")
        }
        bytesPerLine = max(Int(fmt.fmt.pix.bytesperline), width * 3)

        // Rate: asked for when the driver lets us; what it answers is what we report.
        nominalFPS = nil
        var parm = v4l2_streamparm()
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        if (try? device.ioctl(fd, CV4L2_VIDIOC_G_PARM, &parm)) != nil {
            if let fps = requestedFPS, fps > 0, parm.parm.capture.capability & UInt32(V4L2_CAP_TIMEPERFRAME) != 0 {
                parm.parm.capture.timeperframe = v4l2_fract(
                    numerator: 1000, denominator: UInt32((fps * 1000).rounded()))
                _ = try? device.ioctl(fd, CV4L2_VIDIOC_S_PARM, &parm)
            }
            let t = parm.parm.capture.timeperframe
            if t.numerator > 0 && t.denominator > 0 { nominalFPS = Double(t.denominator) / Double(t.numerator) }
        }
    }

    private func startStreaming() throws {
        var req = v4l2_requestbuffers()
        req.count = 4
        req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        req.memory = V4L2_MEMORY_MMAP.rawValue
        do {
            try device.ioctl(fd, CV4L2_VIDIOC_REQBUFS, &req)
        } catch let e as V4L2CallError where e.errno == EBUSY {
            throw busyError()
        } catch let e as V4L2CallError {
            throw CameraError(.formatNotSupported, "\(name) cannot stream through mmap buffers: \(e)")
        }
        guard req.count >= 2 else {
            throw CameraError(.failed, "\(name) granted \(req.count) capture buffer(s); at least 2 are needed")
        }
        for i in 0..<req.count {
            var buf = v4l2_buffer()
            buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buf.memory = V4L2_MEMORY_MMAP.rawValue
            buf.index = i
            try failingAsBufferSetup { try device.ioctl(fd, CV4L2_VIDIOC_QUERYBUF, &buf) }
            let address = try failingAsBufferSetup {
                try device.mmap(fd, length: Int(buf.length), offset: Int(buf.m.offset))
            }
            buffers.append((address, Int(buf.length)))
            try failingAsBufferSetup { try device.ioctl(fd, CV4L2_VIDIOC_QBUF, &buf) }
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        do {
            try device.ioctl(fd, CV4L2_VIDIOC_STREAMON, &type)
        } catch let e as V4L2CallError where e.errno == EBUSY {
            throw busyError()
        } catch let e as V4L2CallError {
            throw CameraError(.failed, "\(name) would not start streaming: \(e)")
        }
    }

    /// Runs a buffer-setup call; its failure becomes a CameraError naming the device.
    private func failingAsBufferSetup<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as V4L2CallError {
            throw CameraError(.failed, "setting up capture buffers on \(name) failed: \(e)")
        }
    }

    /// Stops streaming, unmaps the buffers and closes the device (safe to call twice).
    public func stop() {
        guard fd >= 0 else { return }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        _ = try? device.ioctl(fd, CV4L2_VIDIOC_STREAMOFF, &type)
        for b in buffers { device.munmap(b.address, length: b.length) }
        buffers = []
        device.close(fd)
        fd = -1
    }
}
