// The JSON fertui writes: one log line per classified frame, the dump's description, and one
// line per image for `fertui predict --json`.
// Written by hand so keys keep their documented order and numbers stay short.

import Foundation
import Vision

public enum PredictionJSON {
    /// `{"frame":…,"t":…,"model":…,"faces":[…],"ms":{"detect":…,"preprocess":…,"forward":…},
    /// "file":…,"truth":…}` (file in folder replays, truth in labelled ones).
    public static func logLine(_ p: ProcessedFrame) -> String {
        var s =
            "{\"frame\":\(p.frameIndex),\"t\":\(number(p.time, decimals: 3)),\"model\":\(string(p.model)),\"faces\":"
        s += faces(p.faces, classes: p.classes)
        let t = p.timings
        s +=
            ",\"ms\":{\"detect\":\(number(t.detect, decimals: 2)),\"preprocess\":\(number(t.preprocess, decimals: 2)),"
            + "\"forward\":\(number(t.forward, decimals: 2))}"
        if !p.file.isEmpty { s += ",\"file\":" + string(p.file) }
        if let truth = p.truth { s += ",\"truth\":" + string(truth) }
        return s + "}"
    }

    /// The CSV log's header: one row per face per frame (a frame without faces has one row with
    /// the face columns empty).
    public static func csvHeader(classes: [String]) -> String {
        (["frame", "t", "model", "file", "face", "x", "y", "w", "h", "label", "confidence"] + classes
            + ["truth", "detect_ms", "preprocess_ms", "forward_ms"]).joined(separator: ",")
    }

    /// The CSV rows of one classified frame, each ending in a newline.
    public static func csvRows(_ p: ProcessedFrame) -> String {
        let head = ["\(p.frameIndex)", number(p.time, decimals: 3), csvField(p.model), csvField(p.file)]
        let tail = [
            csvField(p.truth ?? ""), number(p.timings.detect, decimals: 2),
            number(p.timings.preprocess, decimals: 2), number(p.timings.forward, decimals: 2),
        ]
        guard !p.faces.isEmpty else {
            return (head + [String](repeating: "", count: 7 + p.classes.count) + tail).joined(separator: ",") + "\n"
        }
        return p.faces.map { face in
            let b = face.box
            let probs = face.probabilities.map { number(Double($0), decimals: 6) }
            return
                (head + [
                    "\(face.id)", "\(b.x)", "\(b.y)", "\(b.width)", "\(b.height)", csvField(face.label),
                    number(Double(face.confidence), decimals: 6),
                ] + probs + tail).joined(separator: ",") + "\n"
        }.joined()
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `[{"id":…,"box":[x,y,w,h],"label":…,"confidence":…,"probs":{class: p, …}}, …]`, with
    /// `"held":true` on a face the tracker holds through a miss; without `"id"` when `ids` is
    /// false (faces of a still image, where no tracker numbers them).
    public static func faces(_ faces: [FaceReading], classes: [String], ids: Bool = true) -> String {
        "["
            + faces.map { face in
                let b = face.box
                let probs = zip(classes, face.probabilities).map { "\(string($0)):\(number(Double($1), decimals: 6))" }
                return "{" + (ids ? "\"id\":\(face.id)," : "") + "\"box\":[\(b.x),\(b.y),\(b.width),\(b.height)],"
                    + "\"label\":\(string(face.label)),\"confidence\":\(number(Double(face.confidence), decimals: 6)),"
                    + "\"probs\":{\(probs.joined(separator: ","))}" + (face.held ? ",\"held\":true}" : "}")
            }.joined(separator: ",") + "]"
    }

    /// `fertui predict --json`'s line for one image: `{"image":…,"faces":[…]}` (faces without ids).
    public static func imageLine(_ path: String, faces: [FaceReading], classes: [String]) -> String {
        "{\"image\":\(string(path)),\"faces\":\(self.faces(faces, classes: classes, ids: false))}"
    }

    /// Stage timings as `{"capture":…,…}` in milliseconds.
    public static func timings(_ t: StageTimings) -> String {
        "{" + t.stages.map { "\(string($0.name)):\(number($0.milliseconds, decimals: 3))" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// A JSON number with at most `decimals` decimals, trailing zeros dropped; null when not finite.
    public static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let n = Int(scaled)
        let unit = Int(scale)
        var text = String(n / unit)
        var frac = String(n % unit)
        if decimals > 0 {
            frac = String(repeating: "0", count: decimals - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            if !frac.isEmpty { text += "." + frac }
        }
        return (value < 0 && n != 0 ? "-" : "") + text
    }
}
