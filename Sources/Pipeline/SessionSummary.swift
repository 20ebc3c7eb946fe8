// The session summary fertui prints when a run ends (after the terminal is restored): per face,
// how long it was tracked, its share of time per dominant expression and its mean probabilities;
// for the run, frames, faces, frame rate and accuracy when the source is labelled. `--summary
// FILE.json` writes the same as a JSON document, atomically.

import Foundation

public struct SessionSummary: Sendable {
    public var source: String
    public var model: String
    public var classes: [String]
    public var seconds: Double
    public var framesClassified: Int
    public var faces: [FaceHistory]
    public var accuracy: RunningAccuracy?
    public var skippedFiles: Int
    /// The first unreadable file of a folder replay, to name in the text.
    public var firstSkipped: String?
    /// Late frames a live source dropped.
    public var droppedFrames: Int
    /// Why the run ended ("key", "end of source ...").
    public var reason: String

    public init(
        source: String, model: String, classes: [String], seconds: Double, framesClassified: Int,
        history: ExpressionHistory, accuracy: RunningAccuracy?, skippedFiles: Int, firstSkipped: String? = nil,
        droppedFrames: Int = 0, reason: String
    ) {
        self.source = source
        self.model = model
        self.classes = classes
        self.seconds = seconds
        self.framesClassified = framesClassified
        self.faces = history.faces.values.sorted { $0.id < $1.id }
        self.accuracy = accuracy
        self.skippedFiles = skippedFiles
        self.firstSkipped = firstSkipped
        self.droppedFrames = droppedFrames
        self.reason = reason
    }

    /// Faces classified in fewer frames than this are counted but not listed in `text()`.
    public static let minimumFramesListed = 3

    public var framesPerSecond: Double { seconds > 0 ? Double(framesClassified) / seconds : 0 }

    /// Per class, the share of the face's tracked time it was the top class.
    public func shares(_ face: FaceHistory) -> [Double] {
        let total = face.dominantSeconds.reduce(0, +)
        return face.dominantSeconds.map { total > 0 ? $0 / total : 0 }
    }

    /// The summary for people: a line for the run, then one per face (most tracked first, at most
    /// `maxFaces`) with its three largest shares of dominant expression.
    public func text(maxFaces: Int = 12) -> String {
        var lines: [String] = []
        var head =
            "fertui: \(reason); \(framesClassified) frames classified in \(format(seconds, 2)) s "
            + "(\(format(framesPerSecond, 1)) fps) with \(model), "
            + "\(faces.count) face\(faces.count == 1 ? "" : "s") seen"
        if droppedFrames > 0 { head += ", \(droppedFrames) late frames dropped" }
        if let accuracy {
            head += ", accuracy \(accuracy.correct)/\(accuracy.total) = \(format(accuracy.fraction * 100, 1))%"
        }
        if skippedFiles > 0 {
            head += ", \(skippedFiles) unreadable file\(skippedFiles == 1 ? "" : "s") skipped"
            if let firstSkipped { head += " (first: \(firstSkipped))" }
        }
        lines.append(head)
        // Faces seen for a moment only (mostly one-frame false detections) are counted above but
        // not listed; --summary keeps them all.
        let listed = faces.filter { $0.frames >= SessionSummary.minimumFramesListed }
        let shown = listed.sorted {
            $0.secondsTracked != $1.secondsTracked ? $0.secondsTracked > $1.secondsTracked : $0.id < $1.id
        }
        for face in shown.prefix(maxFaces) {
            let top = zip(classes, shares(face)).sorted { $0.1 > $1.1 }.prefix(3).filter { $0.1 > 0 }
                .map { "\($0.0) \(format($0.1 * 100, 0))%" }.joined(separator: ", ")
            lines.append(
                "  face #\(face.id): \(format(face.secondsTracked, 1)) s tracked, \(face.frames) frames"
                    + (top.isEmpty ? "" : "; \(top)"))
        }
        let unlisted = faces.count - min(shown.count, maxFaces)
        if unlisted > 0 {
            let brief = faces.count - listed.count
            lines.append(
                "  (\(unlisted) more face\(unlisted == 1 ? "" : "s") in --summary"
                    + (brief > 0 ? ", \(brief) seen in fewer than \(SessionSummary.minimumFramesListed) frames)" : ")"))
        }
        return lines.joined(separator: "\n")
    }

    /// The summary as one JSON document.
    public func json() -> String {
        let facesJSON = faces.map { face -> String in
            let shares = zip(classes, self.shares(face)).map {
                "\(PredictionJSON.string($0.0)):\(PredictionJSON.number($0.1, decimals: 4))"
            }
            let means = zip(classes, face.meanProbabilities).map {
                "\(PredictionJSON.string($0.0)):\(PredictionJSON.number($0.1, decimals: 4))"
            }
            return "{\"id\":\(face.id),\"seconds_tracked\":\(PredictionJSON.number(face.secondsTracked, decimals: 3)),"
                + "\"frames\":\(face.frames),\"dominant_share\":{\(shares.joined(separator: ","))},"
                + "\"mean_probs\":{\(means.joined(separator: ","))}}"
        }
        var s = "{\"source\":\(PredictionJSON.string(source)),\"model\":\(PredictionJSON.string(model)),"
        s += "\"reason\":\(PredictionJSON.string(reason)),\"seconds\":\(PredictionJSON.number(seconds, decimals: 3)),"
        s += "\"frames\":\(framesClassified),\"dropped_frames\":\(droppedFrames),"
        s += "\"fps\":\(PredictionJSON.number(framesPerSecond, decimals: 2)),"
        s += "\"faces_seen\":\(faces.count),\"skipped_files\":\(skippedFiles),"
        if let accuracy {
            s +=
                "\"accuracy\":{\"correct\":\(accuracy.correct),\"total\":\(accuracy.total),"
                + "\"fraction\":\(PredictionJSON.number(accuracy.fraction, decimals: 4))},"
        }
        s += "\"classes\":[\(classes.map(PredictionJSON.string).joined(separator: ","))],"
        s += "\"faces\":[\(facesJSON.joined(separator: ","))]}\n"
        return s
    }

    /// Writes `json()` to `path` atomically: a temporary file in the same folder, then a rename,
    /// so a reader sees the old document or the new one, never half of one.
    public func write(to path: String) throws {
        try SessionSummary.writeAtomically(json(), to: path)
    }

    /// Fails unless a document can be written at `path` (its folder exists and is writable, and
    /// it is not a folder): checked before a run starts, so the user hears of it at once.
    public static func checkWritable(_ path: String) throws {
        let folder =
            (path as NSString).deletingLastPathComponent.isEmpty
            ? "." : (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PipelineError(
                "--summary \(path): the folder \(folder) does not exist; create it or pick another path")
        }
        guard access(folder, W_OK) == 0 else {
            throw PipelineError("--summary \(path): the folder \(folder) is not writable; pick another path")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw PipelineError("--summary \(path) is a folder; name a file, e.g. \(path)/summary.json")
        }
    }

    static func writeAtomically(_ text: String, to path: String) throws {
        let folder =
            (path as NSString).deletingLastPathComponent.isEmpty
            ? "." : (path as NSString).deletingLastPathComponent
        let temporary = (folder as NSString).appendingPathComponent(
            ".\((path as NSString).lastPathComponent).partial-\(getpid())")
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                throw PipelineError(String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw PipelineError("could not write the summary \(path): \(error)")
        }
    }

    private func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}
