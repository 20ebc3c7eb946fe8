// `fertui bench --pipeline`: the live pipeline measured end to end without a terminal: a
// 640x480 30 fps source, the real detector and model, the screen composed at 200x60 for every
// frame; then rendering alone, the screen's output in each colour mode, and resident memory
// after all three models have run once.

import Dispatch
import Engine
import Foundation
import Pipeline
import Terminal
import Vision

enum PipelineBench {
    static let help = """
        fertui bench --pipeline: the live pipeline's rates, latency, render time and memory

        Usage: fertui bench --pipeline [options]

        Options:
          --source S        frame source (default: demo at 640x480, 30 fps)
          --size WxH        demo frame size (default 640x480)
          --fps N           source rate (default 30)
          --model M         resnet18 | resnet34 | resnet50 | path (default resnet18); shipped
                            weights when present, else seeded random weights
          --models-dir DIR  where the .safetensors files live
          --seconds S       how long the pipeline runs (default 10)
          --screen WxH      grid composed per frame (default 200x60)
          --threads T       engine threads (default 1, as the monitor: detection has the other core)
          --faces N         faces the demo shows, 1 to 8 (default 1; e.g. --faces 5 --size 1280x720)
          detection options as the monitor's (--min-face, --detect-budget, --hold, ...), and --views
          --no-memory       skip loading the three models for the memory figure
          --json            one JSON object instead of text

        Targets (2 cores, ResNet18 at 48): screen >= 25 fps, inference >= 20 fps, source-to-screen
        median <= 60 ms, one 200x60 render <= 3 ms, resident memory <= 250 MB with all three models used.
        """

    static func run(_ tokens: [String]) throws -> Int32 {
        var args = Arguments(
            tokens.filter { $0 != "--pipeline" },
            valueOptions: DetectionOptions.valueOptions.union([
                "--source", "--size", "--fps", "--model", "--models-dir", "--seconds", "--screen", "--threads",
                "--faces", "--views",
            ]))
        let sourceName = try args.value("--source") ?? "demo"
        let (width, height) = try args.size("--size", default: (640, 480))
        let fps = try args.double("--fps", default: 30, in: 1...240)
        let modelName = try args.value("--model") ?? "resnet18"
        let modelsDir = try args.value("--models-dir")
        let seconds = try args.double("--seconds", default: 10, in: 1...3600)
        let (screenW, screenH) = try args.size("--screen", default: (200, 60))
        let threads = try args.int("--threads", default: 1, in: 1...64)
        let faces = try args.int("--faces", default: 1, in: 1...8)
        let detection = try DetectionOptions.parse(&args, stills: false)
        let views = try ViewOptions.parse(&args)
        let measureMemory = !args.flag("--no-memory")
        let json = args.flag("--json")
        try args.finish(command: "bench --pipeline")
        OpenCV.setThreads(1)  // as the monitor: detection beside the forward pass, one thread each

        var options = SourceOptions(width: width, height: height, fps: fps, realtime: true, loop: true)
        options.demoFaces = faces
        let (source, _) = try MonitorCommand.openSource(sourceName, options: options)
        var weights: [String: WeightsOrigin] = [:]
        let load: (String) throws -> ExpressionModel = { name in
            // The ensemble's members are the catalog's three; each is shipped or seeded.
            for member in name == ExpressionModels.ensembleName ? ModelCatalog.names : [name] {
                let shipped = (try? ModelCatalog.resolve(member, modelsDir: modelsDir)) != nil
                weights[member] = shipped ? (ModelCatalog.names.contains(member) ? .shipped : .file) : .random
            }
            return try ExpressionModels.load(
                name, modelsDir: modelsDir, weights: .seededWhenMissing(inputSize: 48),
                options: EngineOptions(threads: threads), views: views)
        }
        var config = PipelineConfiguration()
        config.backpressure = .dropOldest
        let pipeline = MonitorPipeline(
            source: source, detector: try DetectionOptions.schedule(detection, source: source, realtime: true),
            model: try load(modelName), modelName: modelName,
            configuration: config, loadModel: load)
        // The render stage composes the whole screen as the monitor does; only the terminal write is left out.
        let screen = ScreenComposer(colorMode: .grayscale256)
        var grid = CellGrid(width: screenW, height: screenH)
        var facesSeen = 0
        pipeline.render = { snapshot in
            screen.compose(snapshot, into: &grid)
            facesSeen = max(facesSeen, snapshot.faces.count)
        }
        pipeline.start()
        Thread.sleep(forTimeInterval: min(2, seconds / 4))  // warm-up: first forwards size their buffers
        let warm = pipeline.statistics
        Thread.sleep(forTimeInterval: seconds)
        let stats = pipeline.statistics
        let snap = pipeline.snapshot()

        // Rendering alone: one 640x480 frame with its faces into 200x60, many times.
        var renderTimes: [Double] = []
        if snap.frame != nil {
            var g = CellGrid(width: 200, height: 60)
            for _ in 0..<300 {
                let t0 = monotonicSeconds()
                screen.compose(snap, into: &g)
                renderTimes.append((monotonicSeconds() - t0) * 1000)
            }
        }
        renderTimes.sort()
        let renderMedian = renderTimes.isEmpty ? 0 : renderTimes[renderTimes.count / 2]

        // The screen's output per colour mode, on the next 3 s of the source at its rate.
        var outputRows: [ScreenOutputBench.Row] = []
        if let replay = try? MonitorCommand.openSource(
            sourceName,
            options: {
                var o = options
                o.realtime = false
                return o
            }()
        ).0 {
            var frames: [Frame] = []
            while frames.count < Int(fps * 3), let f = try? replay.nextFrame() { frames.append(f) }
            outputRows = ScreenOutputBench.measure(frames: frames, snapshot: snap, width: 200, height: 60, fps: fps)
        }

        // Memory: every model switched to and used for a few frames, then resident set size.
        var memory: ProcessMemory?
        var perModel: [(String, Double)] = []
        if measureMemory {
            if let m = ProcessMemory.current() { perModel.append((pipeline.currentModelName, m.residentMB)) }
            for name in ModelCatalog.names where name != pipeline.currentModelName {
                pipeline.selectModel(named: name)
                pipeline.waitForModelSwitch()
                let before = pipeline.statistics.processed
                let deadline = monotonicSeconds() + 30
                while pipeline.statistics.processed < before + 3, monotonicSeconds() < deadline {
                    Thread.sleep(forTimeInterval: 0.02)
                }
                if let m = ProcessMemory.current() { perModel.append((name, m.residentMB)) }
            }
            memory = ProcessMemory.current()
        }
        pipeline.stop(waiting: 5)

        let elapsed = seconds
        let screenFPS = Double(stats.framesShown - warm.framesShown) / elapsed
        let inferenceFPS = Double(stats.processed - warm.processed) / elapsed
        let sourceFPS = Double(stats.captured - warm.captured) / elapsed
        let t = snap.timings
        let weightNote = weights.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rawValue)" }
            .joined(separator: ", ")
        if json {
            var s = "{\"source\":\(PredictionJSON.string(source.name)),\"frame\":[\(width),\(height)],"
            s += "\"model\":\(PredictionJSON.string(modelName)),\"seconds\":\(seconds),"
            s += "\"source_fps\":\(oneDecimal(sourceFPS)),\"inference_fps\":\(oneDecimal(inferenceFPS)),"
            s += "\"screen_fps\":\(oneDecimal(screenFPS)),\"latency_median_ms\":\(oneDecimal(stats.latencyMedian)),"
            s += "\"prediction_latency_median_ms\":\(oneDecimal(stats.predictionLatencyMedian)),"
            s += "\"stage_ms\":\(PredictionJSON.timings(t)),\"render_200x60_ms\":\(oneDecimal(renderMedian)),"
            s += "\"faces\":\(facesSeen),\"dropped\":\(stats.dropped),\"screen_output\":["
            s +=
                outputRows.map {
                    "{\"mode\":\(PredictionJSON.string($0.mode)),\"compose_ms\":\(twoDecimals($0.composeMedianMs)),"
                        + "\"encode_ms\":\(twoDecimals($0.encodeMedianMs)),\"bytes_per_s\":\(Int($0.bytesPerSecond)),"
                        + "\"cells_per_frame\":\(Int($0.cellsPerFrame))}"
                }.joined(separator: ",") + "]"
            if let memory {
                s += ",\"rss_mb\":\(oneDecimal(memory.residentMB)),\"peak_rss_mb\":\(oneDecimal(memory.peakResidentMB))"
            }
            print(s + "}")
        } else {
            print(
                "pipeline: \(source.name) \(width)x\(height) at \(oneDecimal(fps)) fps, \(modelName), "
                    + "\(threads) threads, \(faces) demo face\(faces == 1 ? "" : "s"), face schedule "
                    + "(min face \(detection.minFace) px, budget \(oneDecimal(detection.fullPassBudget ?? 0)) ms), "
                    + "\(oneDecimal(seconds)) s (weights: \(weightNote))")
            print(
                "  rates     source \(oneDecimal(sourceFPS)) fps   inference \(oneDecimal(inferenceFPS)) fps   "
                    + "screen \(oneDecimal(screenFPS)) fps   (target screen >= 25, inference >= 20)")
            print(
                "  latency   source to screen median \(oneDecimal(stats.latencyMedian)) ms "
                    + "over \(stats.latencySamples) frames   (target <= 60)")
            print(
                "            source to that frame's prediction ready: median "
                    + "\(oneDecimal(stats.predictionLatencyMedian)) ms (its boxes reach the screen with the next frame)"
            )
            print(
                "  stages    "
                    + t.stages.map { "\($0.name) \(oneDecimal($0.milliseconds)) ms" }.joined(separator: "   "))
            print(
                "  dropped   \(stats.droppedBeforeDetect) before detect, "
                    + "\(stats.droppedBeforePreprocess) before preprocess, "
                    + "\(stats.droppedBeforeForward) before forward; at most \(facesSeen) faces per frame")
            print(
                "  render    one 200x60 screen from a \(width)x\(height) frame: "
                    + "median \(oneDecimal(renderMedian)) ms over \(renderTimes.count)   (target <= 3)")
            for row in outputRows {
                print(
                    "  screen    \(row.mode.padding(toLength: 13, withPad: " ", startingAt: 0)) compose "
                        + "\(twoDecimals(row.composeMedianMs)) ms + encode "
                        + "\(twoDecimals(row.encodeMedianMs)) ms a frame, "
                        + "\(Int(row.cellsPerFrame)) cells changed, \(oneDecimal(row.bytesPerSecond / 1024)) KiB/s at "
                        + "\(oneDecimal(fps)) fps   (target <= 5 ms)")
            }
            if let memory {
                print(
                    "  memory    resident \(oneDecimal(memory.residentMB)) MB, "
                        + "peak \(oneDecimal(memory.peakResidentMB)) MB "
                        + "after using \(ModelCatalog.names.joined(separator: ", "))   (target <= 250)")
                print(
                    "            resident while each model runs: "
                        + perModel.map { "\($0.0) \(oneDecimal($0.1)) MB" }.joined(separator: ", "))
            }
        }
        return 0
    }

    /// One decimal, as most figures of the report are shown.
    static func oneDecimal(_ v: Double) -> String { String(format: "%.1f", v) }
    static func twoDecimals(_ v: Double) -> String { String(format: "%.2f", v) }
}
