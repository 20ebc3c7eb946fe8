// `fertui detect`: the face schedule alone over every frame of a source, one JSON line per frame
// with the faces, their ids, held flags and the detect time: what Training/measure_detection.py reads.

import Foundation
import Pipeline
import Vision

enum DetectCommand {
    static let help = """
        fertui detect: find and track faces in every frame of a source, no model (for measuring)

        Usage: fertui detect --source S [options]

        Options:
          --source S          a video file, an image, or a folder of images (played in name order)
          --log FILE.jsonl    one line per frame (default: standard output):
                              {"frame":…,"origin":…,"ms":…,"cpu_ms":…,"slices":…,"regions":…,
                               "confirmations":…,"fine_looks":…,"faces":[{"id":…,"box":[x,y,w,h],"held":…}]}
          --stills            every frame is a new picture (as predict; the default for images and folders)
          --frames N          stop after N frames
        \(DetectionOptions.help)

        Example:
          fertui detect --source clip.mp4 --log clip.faces.jsonl
        """

    static func run(_ tokens: [String]) throws -> Int32 {
        var args = Arguments(
            tokens, valueOptions: DetectionOptions.valueOptions.union(["--source", "--log", "--frames"]))
        guard let path = try args.value("--source") else {
            throw UsageError(message: "--source is required: a video file, an image or a folder of images")
        }
        let logPath = try args.value("--log")
        let frames = try args.int("--frames", default: Int.max, in: 1...Int.max)
        let spec = try SourceSpec.parse(path)
        let stills = args.flag("--stills") || spec != .videoFile(path)
        let settings = try DetectionOptions.parse(&args, stills: stills)
        try args.finish(command: "detect")
        OpenCV.setThreads(1)  // as in the monitor, where the engine has the other core
        let source = try spec.open(SourceOptions(realtime: false))
        let schedule = try DetectionOptions.schedule(settings, source: source, realtime: false)
        if schedule.frameInterval == nil { schedule.frameInterval = 1 / (source.nominalFPS ?? 30) }

        var out = ""
        var times: [Double] = []
        while times.count < frames, let frame = try source.nextFrame() {
            let t0 = monotonicSeconds()
            let c0 = threadCPUSeconds()
            let faces = try schedule.faces(in: frame)
            let ms = (monotonicSeconds() - t0) * 1000
            let cpuMs = (threadCPUSeconds() - c0) * 1000
            times.append(ms)
            let s = schedule.lastStatistics
            let items = faces.map { f in
                "{\"id\":\(f.id),\"box\":[\(f.box.x),\(f.box.y),\(f.box.width),\(f.box.height)],\"held\":\(f.held)}"
            }
            out +=
                "{\"frame\":\(frame.index),\"origin\":\(PredictionJSON.string(frame.origin)),"
                + "\"ms\":\(PredictionJSON.number(ms, decimals: 3)),"
                + "\"cpu_ms\":\(PredictionJSON.number(cpuMs, decimals: 3)),"
                + "\"slices\":\(s.slices),\"regions\":\(s.regions),\"confirmations\":\(s.confirmations),"
                + "\"fine_looks\":\(s.fineLooks),"
                + "\"faces\":[\(items.joined(separator: ","))]}\n"
        }
        if let logPath {
            guard FileManager.default.createFile(atPath: logPath, contents: Data(out.utf8)) else {
                throw UsageError(message: "cannot write --log \(logPath): check that its folder exists and is writable")
            }
        } else {
            print(out, terminator: "")
        }
        let sorted = times.sorted()
        if !sorted.isEmpty {
            FileHandle.standardError.write(
                String(
                    format: "fertui detect: %d frames, detect median %.2f ms, p90 %.2f ms, max %.2f ms\n",
                    sorted.count, sorted[sorted.count / 2], sorted[sorted.count * 9 / 10],
                    sorted.last!))
        }
        return 0
    }
}
