// The JSON fertui writes: one log line per classified frame, and the dump's description.
// Written by hand so keys keep their documented order and numbers stay short.

import Vision

public enum PredictionJSON {
    /// `{"frame":…,"t":…,"model":…,"faces":[…],"truth":…}` (truth only in labelled replays).
    public static func logLine(_ p: ProcessedFrame) -> String {
        var s = "{\"frame\":\(p.frameIndex),\"t\":\(number(p.time, decimals: 3)),\"model\":\(string(p.model)),\"faces\":"
        s += faces(p.faces, classes: p.classes)
        if let truth = p.truth { s += ",\"truth\":" + string(truth) }
        return s + "}"
    }

    /// `[{"id":…,"box":[x,y,w,h],"label":…,"confidence":…,"probs":{class: p, …}}, …]`, and
    /// `"held":true` on a face the tracker holds through a miss.
    public static func faces(_ faces: [FaceReading], classes: [String]) -> String {
        "[" + faces.map { face in
            let b = face.box
            let probs = zip(classes, face.probabilities).map { "\(string($0)):\(number(Double($1), decimals: 6))" }
            return "{\"id\":\(face.id),\"box\":[\(b.x),\(b.y),\(b.width),\(b.height)],\"label\":\(string(face.label)),"
                + "\"confidence\":\(number(Double(face.confidence), decimals: 6)),\"probs\":{\(probs.joined(separator: ","))}"
                + (face.held ? ",\"held\":true}" : "}")
        }.joined(separator: ",") + "]"
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
        let n = Int(scaled), unit = Int(scale)
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
