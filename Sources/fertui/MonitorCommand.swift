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
          --model M          resnet18 | resnet34 | resnet50 | ensemble (the three averaged) |
                             path.safetensors (default resnet18)
          --models-dir DIR   where resnet18/34/50.safetensors live (default: Assets/models)
          --no-detect        treat the whole frame as one face (already-cropped images; the
                             default for a folder of small images, such as FER-2013's)
          --detect           run the face detector even on a folder of small images
          --no-smooth        start with temporal smoothing off (s toggles it; always starts
                             off for images and folders, whose frames are different faces)
          --smooth-window N  predictions averaged per face (default 5)
          --margin X         border added around each face box, fraction of its side
                             (default \(Preprocessor.ferMargin), FER-2013's framing)
          --threads N        engine threads for the forward pass (default 1: on two cores the
                             detector runs beside it; 2 threads there oversubscribe the CPU)
          --random-weights   developer: seeded random-weight models instead of files
          --input-size N     developer: input side for --random-weights (default 48)
        Face detection:
        \(DetectionOptions.help)
        \(ViewOptions.help)
        Screen:
          --color MODE       auto | gray | 256 | truecolor (default auto: truecolor when
                             COLORTERM is truecolor or 24bit, else 256 colours when the
                             terminal has them; gray when NO_COLOR is set)
          --dither           ordered dithering in the 256-colour mode
          --mirror           show the picture mirrored (selfie view); boxes follow it, while
                             dumps, logs and summaries keep the source's coordinates
          --dump-dir DIR     where `d` writes dumps (default ./dumps)
        Headless:
          --headless         run the pipeline without the screen, every frame classified
          --frames N         stop after N classified frames
          --seconds S        stop after S seconds
          --log FILE         FILE.jsonl: one JSON line per classified frame ('-': standard
                             output); FILE.csv: one row per face per frame
          --cycle-models S   switch to the next model every S seconds (soak tests; any mode)
        Summary and timeline:
          --summary FILE     also write the session summary printed at the end as JSON
          --timeline-seconds S  how far back the timeline (t) reaches (default 30)

        Keys: q/Esc quit, space freeze, 1/2/3/4 ResNet18/34/50/ensemble, m next model, Tab next face,
              t timeline, s smoothing, d dump, ? help.

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
        var forceDetect = false
        var detection = DetectionSettings()
        var smoothing = true
        var smoothWindow = 5
        var randomWeights = false
        var threads = 1
        var inputSize = 48
        var color = ColorChoice.auto
        var dither = false
        var mirror = false
        var dumpDir = "dumps"
        var headless = false
        var frames: Int?
        var seconds: Double?
        var log: String?
        var cycleModels: Double?
        var summary: String?
        var timelineSeconds = 30.0
        var views: [FaceClassifier.TestView]? = nil  // nil: each model's own (test_views)
        var margin = Preprocessor.ferMargin
    }

    static func parse(_ tokens: [String]) throws -> Options {
        var args = Arguments(
            tokens,
            valueOptions: DetectionOptions.valueOptions.union([
                "--source", "--size", "--fps", "--model", "--models-dir", "--smooth-window", "--threads",
                "--input-size", "--color", "--views", "--margin",
                "--dump-dir", "--frames", "--seconds", "--log", "--cycle-models", "--summary", "--timeline-seconds",
            ]))
        var o = Options()
        o.source = try args.value("--source")
        (o.width, o.height) = try args.size("--size", default: (o.width, o.height), height: 16...4320)
        if args.contains("--fps") { o.fps = try args.double("--fps", default: 30, in: 0.1...1000) }
        o.realtime = !args.flag("--no-realtime")
        o.loop = args.flag("--loop")
        o.model = try args.value("--model") ?? o.model
        o.modelsDir = try args.value("--models-dir")
        o.detect = !args.flag("--no-detect")
        o.forceDetect = args.flag("--detect")
        o.detection = try DetectionOptions.parse(&args, stills: o.source.map(isStillImages) ?? false)
        o.views = try ViewOptions.parse(&args)
        o.margin = try args.double("--margin", default: Preprocessor.ferMargin, in: 0...1)
        o.smoothing = !args.flag("--no-smooth")
        o.smoothWindow = try args.int("--smooth-window", default: 5, in: 1...100)
        o.randomWeights = args.flag("--random-weights")
        o.threads = try args.int("--threads", default: 1, in: 1...64)
        o.inputSize = try args.int("--input-size", default: 48, in: 32...512)
        if let value = try args.value("--color") {
            let aliases = ["grey": ColorChoice.gray, "grayscale": .gray, "24bit": .truecolor, "256color": .color256]
            guard let choice = ColorChoice(rawValue: value) ?? aliases[value] else {
                throw UsageError(message: "--color \(value): expected auto, gray, 256 or truecolor")
            }
            o.color = choice
        }
        o.dither = args.flag("--dither")
        o.mirror = args.flag("--mirror")
        o.dumpDir = try args.value("--dump-dir") ?? o.dumpDir
        o.headless = args.flag("--headless")
        if args.contains("--frames") { o.frames = try args.int("--frames", default: 0, in: 1...Int.max) }
        if args.contains("--seconds") { o.seconds = try args.double("--seconds", default: 0, in: 0.001...1e9) }
        o.log = try args.value("--log")
        o.summary = try args.value("--summary")
        if let path = o.summary {
            do { try SessionSummary.checkWritable(path) } catch { throw UsageError(message: "\(error)") }
        }
        o.timelineSeconds = try args.double("--timeline-seconds", default: 30, in: 1...3600)
        if args.contains("--cycle-models") {
            o.cycleModels = try args.double("--cycle-models", default: 0, in: 0.1...86400)
        }
        if !args.positionals.isEmpty {
            throw UsageError(
                message:
                    "unexpected argument \(args.positionals[0]); give the source with --source \(args.positionals[0])")
        }
        try args.finish(command: "monitor")
        if o.randomWeights, o.model.hasSuffix(".safetensors") || !ModelCatalog.names.contains(o.model) {
            throw UsageError(
                message:
                    "--random-weights needs --model one of "
                    + "\(ModelCatalog.names.joined(separator: ", ")), not \(o.model)"
            )
        }
        return o
    }

    static func run(_ tokens: [String]) throws -> Int32 {
        if tokens.contains("--list-cameras") {
            print(CameraList.text(paths: CameraList.devicePaths()))
            return 0
        }
        let o = try parse(tokens)
        // Detection runs beside the forward pass: OpenCV's own thread pool would fight the engine.
        OpenCV.setThreads(1)
        let sourceOptions = SourceOptions(
            width: o.width, height: o.height, fps: o.fps, realtime: o.realtime,
            loop: o.loop)
        var (source, notice) = try openSource(o.source, options: sourceOptions)
        // A folder of face crops (FER-2013's layout) is classified whole: the cascade finds little
        // in 48x48 pixels. --detect keeps detection on.
        let crops = o.detect && !o.forceDetect && ((source as? ImageReplay)?.looksLikeFaceCrops() ?? false)
        if crops {
            notice = "the images are small face crops: each is classified whole (--detect to run the face detector)"
        }
        let detector: FaceDetecting
        if o.detect && !crops {
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
        config.timelineSeconds = o.timelineSeconds
        config.modelNames = ExpressionModels.names
        // Headless runs and --no-realtime replays classify every frame; a camera still drops late ones.
        config.backpressure = (o.headless || !o.realtime) && !(source is V4L2Camera) ? .block : .dropOldest
        // The pipeline holds the only reference to the model, so a switch frees the old one.
        let pipeline = MonitorPipeline(
            source: source, detector: detector, model: try loader(o.model), modelName: o.model,
            configuration: config, loadModel: loader)
        let log = try o.log.map { try PredictionLog(path: $0) }
        if let log { pipeline.onProcessed = { log.append($0) } }
        let cycler = o.cycleModels.map { seconds -> DispatchSourceTimer in
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + seconds, repeating: seconds)
            timer.setEventHandler { pipeline.selectNextModel() }
            timer.resume()
            return timer
        }
        defer { cycler?.cancel() }

        if o.headless {
            if let notice { FileHandle.standardError.write("fertui: \(notice)\n") }
            return runHeadless(pipeline, log: log, summaryPath: o.summary)
        }
        if isatty(STDOUT_FILENO) == 0 || isatty(STDIN_FILENO) == 0 {
            throw UsageError(
                message:
                    "the monitor needs a terminal (standard input and output are not one); "
                    + "use --headless, e.g. --headless --frames 100 --log out.jsonl"
            )
        }
        if let notice { pipeline.setMessage(notice) }
        DumpWriter.removeAbandonedPartials(in: o.dumpDir)
        let monitor = LiveMonitor(
            pipeline: pipeline, color: o.color, dither: o.dither, mirror: o.mirror, dumpDirectory: o.dumpDir)
        log?.onFailure = { error in monitor.requestQuit("\(error)") }
        try monitor.run()
        pipeline.stop(waiting: 5)
        var status = report(pipeline.sessionSummary(reason: monitor.quitReasonText), summaryPath: o.summary)
        if let failure = pipeline.failure {
            FileHandle.standardError.write("fertui: \(failure)\n")
            status = 1
        }
        guard let log else { return status }
        do {
            let lines = try log.close()
            if log.path != "-" { print("fertui: \(lines) frames logged to \(log.path)") }
        } catch {
            FileHandle.standardError.write("fertui: \(error)\n")
            status = 1
        }
        return status
    }

    static func runHeadless(_ pipeline: MonitorPipeline, log: PredictionLog?, summaryPath: String?) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        var reason = ""
        pipeline.onFinished = {
            reason = $0
            done.signal()
        }
        log?.onFailure = { _ in
            reason = "log write failed"
            done.signal()
        }
        let signals = QuitSignals(QuitSignals.standard) {
            reason = "signal \($0)"
            done.signal()
        }
        pipeline.start()
        done.wait()
        pipeline.stop(waiting: 10)
        signals.cancel()
        var lines: Int?
        var logFailure: Error?
        do { lines = try log?.close() } catch { logFailure = error }
        var status = report(pipeline.sessionSummary(reason: reason), summaryPath: summaryPath)
        if let lines, let log, log.path != "-" {
            FileHandle.standardError.write("fertui: \(lines) frames logged to \(log.path)\n")
        }
        if let logFailure {
            FileHandle.standardError.write("fertui: \(logFailure)\n")
            status = 1
        }
        return pipeline.failure == nil ? status : 1
    }

    /// Prints the session summary (standard error, after the screen is gone) and writes it to
    /// `summaryPath` when given; 1 when that write fails.
    static func report(_ summary: SessionSummary, summaryPath: String?) -> Int32 {
        FileHandle.standardError.write(summary.text() + "\n")
        guard let summaryPath else { return 0 }
        do {
            try summary.write(to: summaryPath)
            return 0
        } catch {
            FileHandle.standardError.write("fertui: \(error)\n")
            return 1
        }
    }

    /// Loads models by name: their files (or the ensemble of the three), or seeded random weights
    /// with --random-weights.
    static func modelLoader(_ o: Options) -> (String) throws -> ExpressionModel {
        let weights: WeightsChoice = o.randomWeights ? .seeded(inputSize: o.inputSize) : .file
        return { name in
            try ExpressionModels.load(
                name, modelsDir: o.modelsDir, weights: weights, options: EngineOptions(threads: o.threads),
                margin: o.margin, views: o.views)
        }
    }

    /// The source `--source` names (the camera, or the demo when there is none, when it names
    /// none), opened with the checkout's demo faces; and a notice when fertui chose it.
    static func openSource(_ value: String?, options: SourceOptions) throws -> (FrameSource, notice: String?) {
        let (spec, notice) = try SourceSpec.choose(value)
        var options = options
        options.demoAssets = ModelCatalog.assetsDirectory().map { ($0 as NSString).appendingPathComponent("demo") }
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
