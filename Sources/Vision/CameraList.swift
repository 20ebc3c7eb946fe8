// `--list-cameras`: the /dev/video* capture devices, their names, pixel formats and frame sizes,
// asked through the V4L2 seam (so tests describe a fake camera the same way).

import CV4L2
import Foundation

/// One video device as the driver describes it.
public struct CameraDescription: Equatable, Sendable {
    public struct Format: Equatable, Sendable {
        /// Four characters ("YUYV", "MJPG").
        public var fourcc: String
        /// The driver's words for it ("YUYV 4:2:2").
        public var name: String
        /// Discrete sizes offered; a stepwise range is given as its smallest and largest.
        public var sizes: [FaceBox]
    }

    public var path: String
    public var card: String
    public var formats: [Format]
}

public enum CameraList {
    /// The /dev/video* nodes (or `folder`'s), in number order.
    public static func devicePaths(in folder: String = "/dev") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix("video") && Int($0.dropFirst(5)) != nil }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    /// What the device at `path` is and offers; nil with a reason when it is not a capture device
    /// (metadata nodes, which UVC cameras add beside each camera) or cannot be opened.
    public static func describe(_ path: String, device: V4L2Device = SystemV4L2()) -> (CameraDescription?, String?) {
        let fd: Int32
        do {
            fd = try device.open(path)
        } catch {
            return (nil, "\(path): cannot open (\(error))")
        }
        defer { device.close(fd) }
        var cap = v4l2_capability()
        guard (try? device.ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap)) != nil else {
            return (nil, "\(path): not a video device")
        }
        let card = withUnsafeBytes(of: cap.card) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let caps = cap.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else {
            return (nil, "\(path) (\(card)): not a capture node")
        }
        var formats: [CameraDescription.Format] = []
        for index in 0..<64 {
            var desc = v4l2_fmtdesc()
            desc.index = UInt32(index)
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard (try? device.ioctl(fd, CV4L2_VIDIOC_ENUM_FMT, &desc)) != nil else { break }
            let name = withUnsafeBytes(of: desc.description) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            formats.append(
                .init(
                    fourcc: V4L2Negotiation.fourcc(desc.pixelformat), name: name,
                    sizes: sizes(fd, desc.pixelformat, device)))
        }
        return (CameraDescription(path: path, card: card, formats: formats), nil)
    }

    static func sizes(_ fd: Int32, _ format: UInt32, _ device: V4L2Device) -> [FaceBox] {
        var out: [FaceBox] = []
        for index in 0..<64 {
            var fs = v4l2_frmsizeenum()
            fs.index = UInt32(index)
            fs.pixel_format = format
            guard (try? device.ioctl(fd, CV4L2_VIDIOC_ENUM_FRAMESIZES, &fs)) != nil else { break }
            if fs.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                out.append(FaceBox(x: 0, y: 0, width: Int(fs.discrete.width), height: Int(fs.discrete.height)))
            } else {
                let s = fs.stepwise
                out.append(FaceBox(x: 0, y: 0, width: Int(s.min_width), height: Int(s.min_height)))
                out.append(FaceBox(x: 0, y: 0, width: Int(s.max_width), height: Int(s.max_height)))
                break
            }
        }
        return out
    }

    /// The listing `--list-cameras` prints: one block per capture device, then the nodes skipped.
    public static func text(paths: [String], device: V4L2Device = SystemV4L2()) -> String {
        guard !paths.isEmpty else {
            return "no /dev/video* devices: is a camera plugged in? (use --source demo without one)"
        }
        var lines: [String] = []
        var skipped: [String] = []
        for path in paths {
            let (found, reason) = describe(path, device: device)
            guard let camera = found else {
                skipped.append(reason ?? path)
                continue
            }
            lines.append("\(camera.path): \(camera.card)")
            for f in camera.formats {
                let sizes = f.sizes.map { "\($0.width)x\($0.height)" }.joined(separator: " ")
                lines.append("  \(f.fourcc) (\(f.name)): \(sizes.isEmpty ? "sizes not listed" : sizes)")
            }
        }
        if lines.isEmpty { lines.append("no capture devices among \(paths.joined(separator: ", "))") }
        return (lines + skipped.map { "  (skipped \($0))" }).joined(separator: "\n")
    }
}
