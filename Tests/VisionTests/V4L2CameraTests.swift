// V4L2Camera behind the libv4l2 seam: negotiation, streaming and errors with a fake device, and
// the error paths of the real libv4l2 on paths that are not cameras.

import CV4L2
import Foundation
import XCTest

@testable import Vision

/// A camera in memory answering the ioctls V4L2Camera makes, the way a UVC driver would.
final class FakeV4L2Device: V4L2Device {
    var present = true
    var openErrno: Int32?
    var setFormatErrno: Int32?
    var capabilities = UInt32(V4L2_CAP_VIDEO_CAPTURE) | UInt32(V4L2_CAP_STREAMING)
    var sizes: [(Int, Int)] = [(320, 240), (640, 480), (1280, 720)]
    var rates: [Double] = [15, 30]
    /// What S_FMT answers with (libv4l2 converts to BGR24; a format it cannot convert stays put).
    var deliveredFormat = CV4L2_PIX_FMT_BGR24
    var rowPadding = 16
    /// DQBUF fails with ENODEV from this frame on (the camera was unplugged).
    var unplugAfter: Int?
    /// DQBUF fails with this errno from `unplugAfter` on (ENODEV unplugged, EIO a USB hiccup).
    var unplugErrno = ENODEV
    /// The device node stays away for this many more looks, then is back.
    var absentForChecks = 0
    /// waitReadable reports no frame (a select/poll timeout) this many more times.
    var timeouts = 0
    /// Formats ENUM_FMT lists: (code, description).
    var formats: [(UInt32, String)] = [
        (CV4L2_PIX_FMT_YUYV, "YUYV 4:2:2"), (CV4L2_PIX_FMT_MJPEG, "Motion-JPEG"),
        (CV4L2_PIX_FMT_BGR24, "BGR3 (emulated)"),
    ]

    var opens = 0, closes = 0, mapped = 0
    var width = 0, height = 0, timePerFrame = (num: UInt32(1), den: UInt32(30))
    var bytesPerLine: Int { width * 3 + rowPadding }
    var buffers: [Int: (UnsafeMutableRawPointer, Int)] = [:]
    var queue: [UInt32] = []
    var dequeued = 0
    var streaming = false

    func open(_ path: String) throws -> Int32 {
        if let e = openErrno { throw V4L2CallError(call: "v4l2_open", path: path, errno: e) }
        guard present else { throw V4L2CallError(call: "v4l2_open", path: path, errno: ENOENT) }
        opens += 1
        return 42
    }

    func close(_ fd: Int32) { closes += 1 }

    func isCharacterDevice(_ path: String) -> Bool {
        if absentForChecks > 0 {
            absentForChecks -= 1
            return false
        }
        return present
    }

    func fail(_ e: Int32) -> V4L2CallError { V4L2CallError(call: "ioctl", path: "fake", errno: e) }

    func ioctl(_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer) throws {
        switch request {
        case CV4L2_VIDIOC_QUERYCAP:
            let cap = arg.assumingMemoryBound(to: v4l2_capability.self)
            cap.pointee.capabilities = capabilities
            withUnsafeMutableBytes(of: &cap.pointee.card) { b in
                for (i, c) in "Fake Cam".utf8.enumerated() { b[i] = c }
            }
        case CV4L2_VIDIOC_ENUM_FRAMESIZES:
            let fs = arg.assumingMemoryBound(to: v4l2_frmsizeenum.self)
            guard formats.contains(where: { $0.0 == fs.pointee.pixel_format }), Int(fs.pointee.index) < sizes.count
            else {
                throw fail(EINVAL)
            }
            fs.pointee.type = V4L2_FRMSIZE_TYPE_DISCRETE.rawValue
            fs.pointee.discrete.width = UInt32(sizes[Int(fs.pointee.index)].0)
            fs.pointee.discrete.height = UInt32(sizes[Int(fs.pointee.index)].1)
        case CV4L2_VIDIOC_ENUM_FMT:
            let d = arg.assumingMemoryBound(to: v4l2_fmtdesc.self)
            guard Int(d.pointee.index) < formats.count else { throw fail(EINVAL) }
            let (code, text) = formats[Int(d.pointee.index)]
            d.pointee.pixelformat = code
            withUnsafeMutableBytes(of: &d.pointee.description) { b in
                for (i, c) in text.utf8.prefix(31).enumerated() { b[i] = c }
            }
        case CV4L2_VIDIOC_S_FMT:
            if let e = setFormatErrno { throw fail(e) }
            let f = arg.assumingMemoryBound(to: v4l2_format.self)
            // Like a driver: the supported size nearest the request.
            let w = Int(f.pointee.fmt.pix.width)
            let h = Int(f.pointee.fmt.pix.height)
            let best = sizes.min { abs($0.0 * $0.1 - w * h) < abs($1.0 * $1.1 - w * h) }!
            (width, height) = best
            f.pointee.fmt.pix.width = UInt32(width)
            f.pointee.fmt.pix.height = UInt32(height)
            f.pointee.fmt.pix.pixelformat = deliveredFormat
            f.pointee.fmt.pix.bytesperline = UInt32(bytesPerLine)
            f.pointee.fmt.pix.sizeimage = UInt32(bytesPerLine * height)
        case CV4L2_VIDIOC_G_PARM:
            let p = arg.assumingMemoryBound(to: v4l2_streamparm.self)
            p.pointee.parm.capture.capability = UInt32(V4L2_CAP_TIMEPERFRAME)
            p.pointee.parm.capture.timeperframe = v4l2_fract(numerator: timePerFrame.num, denominator: timePerFrame.den)
        case CV4L2_VIDIOC_S_PARM:
            let p = arg.assumingMemoryBound(to: v4l2_streamparm.self)
            let t = p.pointee.parm.capture.timeperframe
            let asked = Double(t.denominator) / Double(t.numerator)
            let rate = rates.min { abs($0 - asked) < abs($1 - asked) }!
            timePerFrame = (1, UInt32(rate))
            p.pointee.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(rate))
        case CV4L2_VIDIOC_REQBUFS:
            let r = arg.assumingMemoryBound(to: v4l2_requestbuffers.self)
            XCTAssertEqual(r.pointee.memory, V4L2_MEMORY_MMAP.rawValue)
            r.pointee.count = min(r.pointee.count, 3)
        case CV4L2_VIDIOC_QUERYBUF:
            let b = arg.assumingMemoryBound(to: v4l2_buffer.self)
            b.pointee.length = UInt32(bytesPerLine * height)
            b.pointee.m.offset = b.pointee.index * 1_000_000
        case CV4L2_VIDIOC_QBUF:
            queue.append(arg.assumingMemoryBound(to: v4l2_buffer.self).pointee.index)
        case CV4L2_VIDIOC_DQBUF:
            if let n = unplugAfter, dequeued >= n { throw fail(unplugErrno) }
            guard !queue.isEmpty else { throw fail(EAGAIN) }
            let b = arg.assumingMemoryBound(to: v4l2_buffer.self)
            let index = queue.removeFirst()
            let (address, length) = buffers[Int(index) * 1_000_000]!
            // Frame n: every pixel (n, row, 200); padding bytes 255 so a stride mistake shows.
            let p = address.assumingMemoryBound(to: UInt8.self)
            for y in 0..<height {
                for x in 0..<bytesPerLine {
                    let c = x < width * 3 ? [UInt8(dequeued & 255), UInt8(y & 255), 200][x % 3] : 255
                    p[y * bytesPerLine + x] = c
                }
            }
            b.pointee.index = index
            b.pointee.bytesused = UInt32(length)
            dequeued += 1
        case CV4L2_VIDIOC_STREAMON: streaming = true
        case CV4L2_VIDIOC_STREAMOFF: streaming = false
        default:
            throw fail(ENOTTY)
        }
    }

    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 16)
        buffers[offset] = (p, length)
        mapped += 1
        return p
    }

    func munmap(_ address: UnsafeMutableRawPointer, length: Int) {
        mapped -= 1
        if let key = buffers.first(where: { $0.value.0 == address })?.key { buffers[key] = nil }
        address.deallocate()
    }

    func waitReadable(_ fd: Int32, timeout: Double) throws -> Bool {
        if timeouts > 0 {
            timeouts -= 1
            return false
        }
        if let n = unplugAfter, dequeued >= n { return true }  // poll wakes with the error
        return !queue.isEmpty
    }
}

final class V4L2CameraTests: XCTestCase {
    func testNegotiatesNearestSizeAndRate() throws {
        let fake = FakeV4L2Device()
        let camera = try V4L2Camera(path: "/dev/video-fake", width: 600, height: 450, fps: 20, device: fake)
        XCTAssertEqual(camera.width, 640)
        XCTAssertEqual(camera.height, 480)
        XCTAssertEqual(camera.nominalFPS, 15, "the driver's answer (15 of 15/30 nearest 20) is what is reported")
        XCTAssertEqual(camera.card, "Fake Cam")
        XCTAssertTrue(fake.streaming)
        XCTAssertEqual(fake.mapped, 3)

        let camera720 = try V4L2Camera(
            path: "/dev/video-fake", width: 1280, height: 720, fps: 30, device: FakeV4L2Device())
        XCTAssertEqual(camera720.width, 1280)
        XCTAssertEqual(camera720.nominalFPS, 30)
    }

    func testStreamsFramesThroughMappedBuffersHonouringStride() throws {
        let fake = FakeV4L2Device()
        let camera = try V4L2Camera(path: "/dev/video-fake", width: 320, height: 240, device: fake)
        for n in 0..<7 {  // more frames than buffers: each is queued back
            let f = try XCTUnwrap(camera.nextFrame())
            XCTAssertEqual(f.index, n)
            XCTAssertEqual(f.width, 320)
            XCTAssertEqual(f.channels, 3)
            XCTAssertEqual(f.origin, "/dev/video-fake")
            XCTAssertEqual(Array(f.pixels[0..<3]), [UInt8(n), 0, 200])
            let last = (239 * 320 + 319) * 3
            XCTAssertEqual(
                Array(f.pixels[last..<(last + 3)]), [UInt8(n), 239, 200], "rows copied with the wrong stride")
            XCTAssertFalse(f.pixels.contains(255), "padding bytes leaked into the frame")
        }
        camera.stop()
        XCTAssertEqual(fake.mapped, 0, "buffers left mapped")
        XCTAssertEqual(fake.closes, 1)
        XCTAssertFalse(fake.streaming)
    }

    func testErrorsInWords() {
        func error(_ configure: (FakeV4L2Device) -> Void) -> CameraError? {
            let fake = FakeV4L2Device()
            configure(fake)
            do {
                _ = try V4L2Camera(path: "/dev/video-fake", device: fake)
                return nil
            } catch {
                XCTAssertEqual(fake.mapped, 0)
                return error as? CameraError
            }
        }
        let busy = error { $0.openErrno = EBUSY }
        XCTAssertEqual(busy?.kind, .busy)
        XCTAssertEqual(busy?.isRecoverable, false, "a busy camera at start is a failure to report, not to wait on")
        XCTAssertTrue(busy?.message.contains("another program") ?? false)
        XCTAssertEqual(error { $0.setFormatErrno = EBUSY }?.kind, .busy)
        let denied = error { $0.openErrno = EACCES }
        XCTAssertEqual(denied?.kind, .permissionDenied)
        XCTAssertTrue(denied?.message.contains("video' group") ?? false, denied?.message ?? "")
        XCTAssertEqual(error { $0.present = false }?.kind, .noSuchDevice)
        let output = error { $0.capabilities = UInt32(V4L2_CAP_VIDEO_OUTPUT) | UInt32(V4L2_CAP_STREAMING) }
        XCTAssertEqual(output?.kind, .notCaptureDevice)
        let format = error { $0.deliveredFormat = CV4L2_PIX_FMT_YUYV }
        XCTAssertEqual(format?.kind, .formatNotSupported)
        XCTAssertTrue(format?.message.contains("YUYV") ?? false, format?.message ?? "")
        XCTAssertEqual(error { $0.setFormatErrno = EINVAL }?.kind, .formatNotSupported)
    }

    func testReopensAfterTheCameraDisappears() throws {
        let fake = FakeV4L2Device()
        fake.unplugAfter = 3
        let camera = try V4L2Camera(path: "/dev/video-fake", width: 320, height: 240, device: fake)
        camera.reopenInterval = 0
        for _ in 0..<3 { XCTAssertNotNil(try camera.nextFrame()) }
        XCTAssertThrowsError(try camera.nextFrame()) { error in
            XCTAssertEqual((error as? CameraError)?.kind, .disconnected)
            XCTAssertTrue((error as? RecoverableSourceError)?.isRecoverable ?? false, "a pipeline must keep asking")
        }
        XCTAssertFalse(camera.isStreaming)
        XCTAssertEqual(fake.mapped, 0)
        // Still unplugged: each call reports it.
        fake.present = false
        XCTAssertThrowsError(try camera.nextFrame()) { error in
            XCTAssertEqual((error as? CameraError)?.kind, .disconnected)
            XCTAssertTrue("\(error)".contains("retrying"), "\(error)")
        }
        // Plugged back in: frames again from a reopened device.
        fake.present = true
        fake.unplugAfter = nil
        let f = try XCTUnwrap(camera.nextFrame())
        XCTAssertEqual(f.width, 320)
        XCTAssertEqual(fake.opens, 2)
        XCTAssertTrue(camera.isStreaming)
    }

    /// Unplugged after 4 frames (ENODEV; EIO the second time), away for 3 looks: every call in
    /// between is a recoverable error; then frames resume from a reopened device.
    func testVanishesAndReturnsWithFramesResuming() throws {
        for errno in [ENODEV, EIO] {
            let fake = FakeV4L2Device()
            fake.unplugAfter = 4
            fake.unplugErrno = errno
            let camera = try V4L2Camera(path: "/dev/video-fake", width: 320, height: 240, device: fake)
            camera.reopenInterval = 0
            for _ in 0..<4 { XCTAssertNotNil(try camera.nextFrame()) }
            XCTAssertThrowsError(try camera.nextFrame()) { error in
                XCTAssertTrue((error as? CameraError)?.isRecoverable ?? false, "\(error)")
            }
            fake.unplugAfter = nil
            fake.absentForChecks = 3
            var errors = 0
            var frame: Frame?
            for _ in 0..<10 {
                do {
                    frame = try camera.nextFrame()
                    break
                } catch let e as CameraError {
                    XCTAssertTrue(e.isRecoverable, "\(e)")
                    errors += 1
                }
            }
            XCTAssertEqual(errors, 3, "one error for each look while the device is away")
            XCTAssertEqual(frame?.width, 320, "frames resume")
            XCTAssertEqual(fake.opens, 2)
        }
    }

    func testTimeoutIsRecoverableAndFramesResume() throws {
        let fake = FakeV4L2Device()
        let camera = try V4L2Camera(path: "/dev/video-fake", width: 320, height: 240, device: fake)
        XCTAssertNotNil(try camera.nextFrame())
        fake.timeouts = 2
        for _ in 0..<2 {
            XCTAssertThrowsError(try camera.nextFrame()) { error in
                XCTAssertEqual((error as? CameraError)?.kind, .timeout)
                XCTAssertTrue((error as? CameraError)?.isRecoverable ?? false)
            }
        }
        XCTAssertNotNil(try camera.nextFrame())
        XCTAssertEqual(fake.opens, 1, "a timeout keeps the device open")
    }

    func testBusyOnReopenIsRetriedUntilFree() throws {
        let fake = FakeV4L2Device()
        fake.unplugAfter = 1
        let camera = try V4L2Camera(path: "/dev/video-fake", width: 320, height: 240, device: fake)
        camera.reopenInterval = 0
        XCTAssertNotNil(try camera.nextFrame())
        XCTAssertThrowsError(try camera.nextFrame())  // lost
        fake.unplugAfter = nil
        fake.openErrno = EBUSY  // another program grabbed it meanwhile
        for _ in 0..<2 {
            XCTAssertThrowsError(try camera.nextFrame()) { error in
                XCTAssertTrue((error as? CameraError)?.isRecoverable ?? false, "\(error)")
                XCTAssertTrue("\(error)".contains("another program"), "\(error)")
            }
        }
        fake.openErrno = nil
        XCTAssertNotNil(try camera.nextFrame())
    }

    func testListsCaptureDevicesThroughTheSeam() throws {
        let fake = FakeV4L2Device()
        let text = CameraList.text(paths: ["/dev/video0"], device: fake)
        XCTAssertEqual(
            text,
            """
            /dev/video0: Fake Cam
              YUYV (YUYV 4:2:2): 320x240 640x480 1280x720
              MJPG (Motion-JPEG): 320x240 640x480 1280x720
              BGR3 (BGR3 (emulated)): 320x240 640x480 1280x720
            """)
        fake.capabilities = UInt32(V4L2_CAP_META_CAPTURE)
        XCTAssertTrue(CameraList.text(paths: ["/dev/video1"], device: fake).contains("not a capture node"))
        fake.openErrno = EACCES
        XCTAssertTrue(CameraList.text(paths: ["/dev/video1"], device: fake).contains("cannot open"))
        XCTAssertTrue(CameraList.text(paths: [], device: fake).contains("no /dev/video"))
        // Node names in number order; other files ignored.
        let dir = try scratchFolder(self)
        for name in ["video10", "video2", "video0", "videox", "vbi0"] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: nil)
        }
        XCTAssertEqual(CameraList.devicePaths(in: dir), [dir + "/video0", dir + "/video2", dir + "/video10"])
    }

    func testNegotiationRules() {
        let sizes = [
            (width: 160, height: 120), (width: 640, height: 480), (width: 848, height: 480), (width: 1280, height: 720),
        ]
        XCTAssertTrue(V4L2Negotiation.closestSize(to: (640, 480), among: sizes)! == (640, 480))
        XCTAssertTrue(V4L2Negotiation.closestSize(to: (1920, 1080), among: sizes)! == (1280, 720))
        XCTAssertTrue(V4L2Negotiation.closestSize(to: (100, 100), among: sizes)! == (160, 120))
        XCTAssertNil(V4L2Negotiation.closestSize(to: (640, 480), among: []))
        XCTAssertEqual(V4L2Negotiation.clamp(650, min: 160, max: 1280, step: 16), 640)
        XCTAssertEqual(V4L2Negotiation.clamp(5000, min: 160, max: 1280, step: 16), 1280)
        XCTAssertEqual(V4L2Negotiation.fourcc(CV4L2_PIX_FMT_YUYV), "YUYV")
    }

    // The real libv4l2 on paths that are not cameras.

    func testMissingDeviceIsNoSuchDevice() {
        XCTAssertThrowsError(try V4L2Camera(path: "/dev/video-fertui-missing-99")) { error in
            XCTAssertEqual((error as? CameraError)?.kind, .noSuchDevice, "\(error)")
            XCTAssertTrue("\(error)".contains("/dev/video-fertui-missing-99"))
        }
    }

    func testDevNullIsNotACaptureDevice() {
        XCTAssertThrowsError(try V4L2Camera(path: "/dev/null")) { error in
            XCTAssertEqual((error as? CameraError)?.kind, .notCaptureDevice, "\(error)")
            XCTAssertTrue("\(error)".contains("/dev/null"))
        }
    }

    func testRegularFileIsNotAVideoDevice() throws {
        let path = try scratchFolder(self) + "/video0"
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try V4L2Camera(path: path)) { error in
            XCTAssertEqual((error as? CameraError)?.kind, .notCaptureDevice, "\(error)")
        }
    }
}
