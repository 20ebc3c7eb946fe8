// `fertui [monitor]`: the live monitor (full screen), or the same pipeline headless with a
// JSON-lines log. Parses options and wires a source, a detector, a model and the pipeline.

import Dispatch
import Engine
import Foundation
import Pipeline
import Terminal
import Vision

enum MonitorCommand {
    static let help = """
        fertui monitor: live facial-expression monitor (the default command)

        Usage: fertui [monitor] [options]

        Source:
          --source S         /dev/videoN (camera), a video file, an image, a folder of images,
                             a labelled folder (<class>/*.jpg: shows running accuracy), or `demo`.
                             Default: /dev/video0 if present, else the demo (with a notice).
          --size WxH         camera or demo frame size (default 640x480)
          --fps N            frames per second asked of the camera / demo, and the most taken
                             from any source (default: the source's own rate)
          --no-realtime      read files as fast as the pipeline takes them (not at their rate)
          --loop             start a finite source again at its end
          --list-cameras     list the /dev/video* capture devices, their formats and sizes, and exit
        Faces and model:
          --model M          resnet18 | resnet34 | resnet50 | path.safetensors (default resnet18)
          --models-dir DIR   where resnet18/34/50.safetensors live (default: Assets/models)
          --no-detect        treat the whole frame as one face (already-cropped images)
          --no-smooth        start with temporal smoothing off (s toggles it; always starts
                             off for images and folders, whose frames are different faces)
          --smooth-window N  predictions averaged per face (default 5)
          --threads N        engine threads for the forward pass (default 1: on two cores the
                             detector runs beside it; 2 threads there oversubscribe the CPU)
          --random-weights   developer: seeded random-weight models instead of files
          --input-size N     developer: input side for --random-weights (default 48)
        Face detection:
        \(DetectionOptions.help)
        Screen:
          --color MODE       auto | gray | truecolor (default auto: truecolor when COLORTERM
                             is truecolor or 24bit)
          --dump-dir DIR     where `d` writes dumps (default ./dumps)
        Headless:
          --headless         run the pipeline without the screen, every frame classified
          --frames N         stop after N classified frames
          --seconds S        stop after S seconds
          --log FILE.jsonl   one JSON line per classified frame ('-' for standard output)

        Keys: q/Esc quit, space freeze, 1/2/3 ResNet18/34/50, m next model, Tab next face,
              s smoothing, d dump, ? help.

        Examples:
          fertui                                   camera, or the demo when there is none
          fertui --source clip.mp4 --model resnet34
          fertui --source ~/fer2013/val            labelled replay with running accuracy
          fertui --headless --source clip.mp4 --frames 300 --log run.jsonl
        """

    struct Options {
        var source: String?
        var width = 640
        var height = 480
        var fps: Double?
        var realtime = true
        var loop = false
        var model = "resnet18"
        var modelsDir: String?
        var detect = true
        var detection = DetectionSettings()
        var smoothing = true
        var smoothWindow = 5
        var randomWeights = false
        var threads = 1
        var inputSize = 48
        var color: ColorMode = .grayscale256
        var dumpDir = "dumps"
        var headless = false
        var frames: Int?
        var seconds: Double?
        var log: String?
    }

    static func parse(_ tokens: [String]) throws -> Options {
        var args = Arguments(tokens, valueOptions: DetectionOptions.valueOptions.union([
            "--source", "--size", "--fps", "--model", "--models-dir", "--smooth-window", "--threads", "--input-size", "--color",
            "--dump-dir", "--frames", "--seconds", "--log"]))
        var o = Options()
        o.source = try args.value("--source")
        if let size = try args.value("--size") {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (16...7680).contains(parts[0]), (16...4320).contains(parts[1]) else {
                throw UsageError(message: "--size \(size): expected WIDTHxHEIGHT, e.g. 640x480")
            }
            (o.width, o.height) = (parts[0], parts[1])
        }
        if args.contains("--fps") { o.fps = try args.double("--fps", default: 30, in: 0.1...1000) }
        o.realtime = !args.flag("--no-realtime")
        o.loop = args.flag("--loop")
        o.model = try args.value("--model") ?? o.model
        o.modelsDir = try args.value("--models-dir")
        o.detect = !args.flag("--no-detect")
        o.detection = try DetectionOptions.parse(&args, stills: o.source.map(isStillImages) ?? false)
        o.smoothing = !args.flag("--no-smooth")
        o.smoothWindow = try args.int("--smooth-window", default: 5, in: 1...100)
        o.randomWeights = args.flag("--random-weights")
        o.threads = try args.int("--threads", default: 1, in: 1...64)
        o.inputSize = try args.int("--input-size", default: 48, in: 32...512)
        switch try args.value("--color") ?? "auto" {
        case "auto": o.color = ColorMode.fromEnvironment(ProcessInfo.processInfo.environment)
        case "gray", "grey", "grayscale": o.color = .grayscale256
        case "truecolor", "24bit": o.color = .truecolor
        case let other: throw UsageError(message: "--color \(other): expected auto, gray or truecolor")
        }
        o.dumpDir = try args.value("--dump-dir") ?? o.dumpDir
        o.headless = args.flag("--headless")
        if args.contains("--frames") { o.frames = try args.int("--frames", default: 0, in: 1...Int.max) }
        if args.contains("--seconds") { o.seconds = try args.double("--seconds", default: 0, in: 0.001...1e9) }
        o.log = try args.value("--log")
        if !args.positionals.isEmpty {
            throw UsageError(message: "unexpected argument \(args.positionals[0]); give the source with --source \(args.positionals[0])")
        }
        try args.finish(command: "monitor")
        if o.randomWeights, o.model.hasSuffix(".safetensors") || !ModelCatalog.names.contains(o.model) {
            throw UsageError(message: "--random-weights needs --model one of \(ModelCatalog.names.joined(separator: ", ")), not \(o.model)")
        }
        return o
    }

    static func run(_ tokens: [String]) throws -> Int32 {
        if tokens.contains("--list-cameras") { print(CameraList.text(paths: CameraList.devicePaths())); return 0 }
        let o = try parse(tokens)
        setEngineThreads(o.threads)
        // Detection runs beside the forward pass: OpenCV's own thread pool would fight the engine.
        OpenCV.setThreads(1)
        let (source, notice) = try openSource(o)
        let detector: FaceDetecting
        if o.detect {
            detector = try DetectionOptions.schedule(o.detection, source: source, realtime: o.realtime)
        } else {
            detector = WholeFrameDetector()
        }
        // Consecutive images are different faces: averaging across them would be wrong.
        let stillImages = source is ImageFolderSource || source is LabelledFolderSource || source is ImageSource
        let loader = modelLoader(o)

        var config = PipelineConfiguration()
        config.smoothing = o.smoothing && !stillImages
        config.smoothingWindow = o.smoothWindow
        config.maxSourceFPS = o.fps
        config.frameLimit = o.frames
        config.timeLimit = o.seconds
        // Headless replays classify every frame; a camera still drops late ones.
        config.backpressure = o.headless && !(source is V4L2Camera) ? .block : .dropOldest
        // The pipeline holds the only reference to the model, so a switch frees the old one.
        let pipeline = MonitorPipeline(source: source, detector: detector, model: try loader(o.model), modelName: o.model,
                                       configuration: config, loadModel: loader)
        let log = try o.log.map { try PredictionLog(path: $0) }
        if let log { pipeline.onProcessed = { log.append($0) } }

        if o.headless {
            if let notice { FileHandle.standardError.write("fertui: \(notice)\n") }
            return runHeadless(pipeline, log: log)
        }
        if isatty(STDOUT_FILENO) == 0 || isatty(STDIN_FILENO) == 0 {
            throw UsageError(message: "the monitor needs a terminal (standard input and output are not one); use --headless, e.g. --headless --frames 100 --log out.jsonl")
        }
        if let notice { pipeline.setMessage(notice) }
        let monitor = LiveMonitor(pipeline: pipeline, colorMode: o.color, dumpDirectory: o.dumpDir)
        try monitor.run()
        pipeline.stop(waiting: 5)
        let lines = log?.close()
        if let lines, let path = o.log { print("fertui: wrote \(lines) lines to \(path)") }
        if let failure = pipeline.failure { FileHandle.standardError.write("fertui: \(failure)\n") }
        return pipeline.failure == nil ? 0 : 1
    }

    static func runHeadless(_ pipeline: MonitorPipeline, log: PredictionLog?) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        var reason = ""
        pipeline.onFinished = { reason = $0; done.signal() }
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signals = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: number, queue: .global())
            s.setEventHandler { reason = "signal \(number)"; done.signal() }
            s.resume()
            return s
        }
        let start = monotonicSeconds()
        pipeline.start()
        done.wait()
        pipeline.stop(waiting: 10)
        signals.forEach { $0.cancel() }
        let elapsed = monotonicSeconds() - start
        let lines = log?.close()
        let stats = pipeline.statistics
        let snap = pipeline.snapshot()
        var summary = "fertui: \(reason); \(stats.processed) frames classified in \(String(format: "%.2f", elapsed)) s "
            + "(\(String(format: "%.1f", Double(stats.processed) / max(elapsed, 1e-9))) fps) with \(pipeline.currentModelName)"
        let dropped = stats.droppedBeforeDetect + stats.droppedBeforePreprocess + stats.droppedBeforeForward
        if dropped > 0 { summary += ", \(dropped) late frames dropped" }
        if let acc = snap.accuracy {
            summary += ", accuracy \(acc.correct)/\(acc.total) = \(String(format: "%.1f", acc.fraction * 100))%"
        }
        if let lines, let log, log.path != "-" { summary += ", \(lines) log lines in \(log.path)" }
        FileHandle.standardError.write(summary + "\n")
        return pipeline.failure == nil ? 0 : 1
    }

    /// Loads models by name: files from the catalog, or seeded random weights for development.
    static func modelLoader(_ o: Options) -> (String) throws -> ExpressionModel {
        { name in
            if o.randomWeights {
                guard ModelCatalog.names.contains(name) else {
                    throw EngineError("--random-weights builds \(ModelCatalog.names.joined(separator: ", ")), not \(name)")
                }
                let info = ModelInfo(arch: name, inputSize: o.inputSize, classes: ModelInfo.ferClasses,
                                     mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
                                     metadata: ["weights": "seeded random (developer mode)"])
                return ResNetExpressionModel(ResNet(arch: name, info: info, seed: 2024))
            }
            return try ResNetExpressionModel(contentsOf: try ModelCatalog.resolve(name, modelsDir: o.modelsDir))
        }
    }

    /// The source `--source` names, and a notice to show when the choice was made for the user.
    static func openSource(_ o: Options) throws -> (FrameSource, String?) {
        var notice: String?
        var value = o.source
        if value == nil || value == "", !FileManager.default.fileExists(atPath: "/dev/video0") {
            value = "demo"
            notice = "no camera at /dev/video0: showing the demo face (use --source to pick a video, images or a camera)"
        }
        let spec = try SourceSpec.parse(value)
        let options = SourceOptions(width: o.width, height: o.height, fps: o.fps, realtime: o.realtime, loop: o.loop,
                                    demoAssets: ModelCatalog.assetsDirectory().map { ($0 as NSString).appendingPathComponent("demo") })
        return (try spec.open(options), notice)
    }
}

/// True when `--source` names images (a file or folders of them): each frame a new picture.
func isStillImages(_ source: String) -> Bool {
    guard let spec = try? SourceSpec.parse(source) else { return false }
    switch spec {
    case .image, .imageFolder, .labelledFolder: return true
    case .camera, .videoFile, .demo: return false
    }
}

extension Arguments {
    /// True when `--name` or `--name=...` is among the unread options.
    func contains(_ name: String) -> Bool {
        var copy = self
        return copy.flag(name) || ((try? copy.value(name)) ?? nil) != nil
    }
}
