// `d` in the monitor: the shown prediction as a folder holding prediction.json, frame.png, the
// frame with boxes and labels drawn (annotated.png), one face-<id>.png crop per face, and any
// extra files the caller adds (the monitor adds screen.ans, the screen as shown). The folder is
// written under a temporary name and renamed, so a reader never sees half a dump.

import Foundation
import Vision

public enum DumpWriter {
    /// Writes the dump into a new folder of `directory` (created if missing); returns its path.
    public static func write(
        frame: Frame, faces: [FaceReading], classes: [String], model: String, source: String,
        timings: StageTimings, elapsed: Double, to directory: String,
        extraFiles: [(name: String, contents: Data)] = [],
        now: Date = Date()
    ) throws -> String {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw PipelineError(
                "cannot create the dump folder \(directory): \(error.localizedDescription); "
                    + "pass --dump-dir to a writable folder"
            )
        }
        let stamp = timestamp(now)
        var name = "dump-\(stamp.file)-frame\(frame.index)"
        var n = 2
        while fm.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            name = "dump-\(stamp.file)-frame\(frame.index)-\(n)"
            n += 1
        }
        let final = (directory as NSString).appendingPathComponent(name)
        let temporary = (directory as NSString).appendingPathComponent(".\(name).partial-\(getpid())")
        try? fm.removeItem(atPath: temporary)
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            try OpenCV.writeImage(
                (temporary as NSString).appendingPathComponent("frame.png"), pixels: frame.pixels,
                width: frame.width, height: frame.height, channels: frame.channels)
            try writeAnnotated(frame, faces: faces, to: (temporary as NSString).appendingPathComponent("annotated.png"))
            for extra in extraFiles {
                try extra.contents.write(
                    to: URL(fileURLWithPath: (temporary as NSString).appendingPathComponent(extra.name)))
            }
            var crops: [String] = []
            for face in faces {
                guard let crop = crop(frame, face.box) else { continue }
                let file = "face-\(face.id).png"
                try OpenCV.writeImage(
                    (temporary as NSString).appendingPathComponent(file), pixels: crop.pixels,
                    width: crop.width, height: crop.height, channels: frame.channels)
                crops.append(file)
            }
            let fileNames = ["frame.png", "annotated.png"] + extraFiles.map(\.name) + crops
            let json = """
                {"time":\(PredictionJSON.string(stamp.iso)),"elapsed":\(PredictionJSON.number(elapsed, decimals: 3)),\
                "source":\(PredictionJSON.string(source)),"origin":\(PredictionJSON.string(frame.origin)),\
                "frame":\(frame.index),"frame_size":[\(frame.width),\(frame.height)],\
                "model":\(PredictionJSON.string(model)),\
                "classes":[\(classes.map(PredictionJSON.string).joined(separator: ","))],\
                "timings_ms":\(PredictionJSON.timings(timings)),\
                "faces":\(PredictionJSON.faces(faces, classes: classes)),\
                "files":[\(fileNames.map(PredictionJSON.string).joined(separator: ","))]\
                \(frame.truth.map { ",\"truth\":" + PredictionJSON.string($0) } ?? "")}

                """
            try json.write(
                toFile: (temporary as NSString).appendingPathComponent("prediction.json"), atomically: false,
                encoding: .utf8)
            try fm.moveItem(atPath: temporary, toPath: final)
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw PipelineError("could not write the dump in \(directory): \(error)")
        }
        return final
    }

    /// Removes the half-written dumps a killed fertui left in `directory` (only folders named as
    /// `write` names its temporary ones, `.dump-….partial-PID`): those whose process is gone, and
    /// any older than `staleAfter` seconds (a dump takes milliseconds; the PID may have been
    /// reused). Returns the paths removed; a folder that cannot be read removes nothing.
    @discardableResult
    public static func removeAbandonedPartials(
        in directory: String, staleAfter: Double = 60,
        now: Date = Date()
    ) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".dump-") {
            guard let marker = name.range(of: ".partial-", options: .backwards),
                let pid = Int32(name[marker.upperBound...]), pid > 0, pid != getpid()
            else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            let modified = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
            let ownerGone = kill(pid, 0) != 0 && errno == ESRCH
            guard ownerGone || now.timeIntervalSince(modified) > staleAfter else { continue }
            if (try? fm.removeItem(atPath: path)) != nil { removed.append(path) }
        }
        return removed
    }

    /// The frame in colour with each face's box and "label 87%" drawn, as the screen shows them.
    static func writeAnnotated(_ frame: Frame, faces: [FaceReading], to path: String) throws {
        var bgr: [UInt8]
        if frame.channels == 3 {
            bgr = frame.pixels
        } else {
            bgr = [UInt8](repeating: 0, count: frame.width * frame.height * 3)
            for (i, v) in frame.pixels.enumerated() {
                bgr[3 * i] = v
                bgr[3 * i + 1] = v
                bgr[3 * i + 2] = v
            }
        }
        let thickness = max(1, min(frame.width, frame.height) / 240)
        let textHeight = max(8, min(frame.width, frame.height) / 40)
        for face in faces {
            try OpenCV.drawRectangle(
                &bgr, width: frame.width, height: frame.height, box: face.box,
                color: (0, 255, 0), thickness: thickness)
            let label = "#\(face.id) \(face.label) \(Int((face.confidence * 100).rounded()))%"
            try OpenCV.drawLabel(
                &bgr, width: frame.width, height: frame.height, text: label, x: face.box.x,
                y: max(0, face.box.y - textHeight - 6), textHeight: textHeight, color: (0, 0, 0),
                background: (0, 255, 0))
        }
        try OpenCV.writeImage(path, pixels: bgr, width: frame.width, height: frame.height, channels: 3)
    }

    /// The part of the frame inside `box`, clipped to the frame; nil when nothing is left.
    public static func crop(_ frame: Frame, _ box: FaceBox) -> (pixels: [UInt8], width: Int, height: Int)? {
        let x0 = max(0, box.x)
        let y0 = max(0, box.y)
        let x1 = min(frame.width, box.x + box.width)
        let y1 = min(frame.height, box.y + box.height)
        guard x1 > x0, y1 > y0 else { return nil }
        let c = frame.channels
        let w = x1 - x0
        var out = [UInt8]()
        out.reserveCapacity(w * (y1 - y0) * c)
        for y in y0..<y1 {
            let start = (y * frame.width + x0) * c
            out.append(contentsOf: frame.pixels[start..<(start + w * c)])
        }
        return (out, w, y1 - y0)
    }

    /// UTC time as ISO 8601 with milliseconds, and as a file-name-safe stamp.
    static func timestamp(_ date: Date) -> (iso: String, file: String) {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        iso.timeZone = TimeZone(identifier: "UTC")
        let text = iso.string(from: date)
        let file = text.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "Z", with: "")
        return (text, file)
    }
}
