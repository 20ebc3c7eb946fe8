// The live pipeline's face to the monitor, the headless run and the bench: it wires the stages
// (PipelineStages), the monitor's state (MonitorState), the measurements (PipelineMetrics) and
// the model switch (ModelSwitcher), and turns keys into state changes.

import Dispatch
import Engine
import Foundation
import Vision

/// How the pipeline runs.
public struct PipelineConfiguration: Sendable {
    /// dropOldest for live viewing; block to process every frame of a replay.
    public var backpressure: BackpressurePolicy = .dropOldest
    /// Start with temporal smoothing on.
    public var smoothing = true
    /// Predictions averaged per face when smoothing.
    public var smoothingWindow = 5
    /// Cap on frames taken from the source per second (nil: as fast as it delivers).
    public var maxSourceFPS: Double?
    /// Stop after this many classified frames.
    public var frameLimit: Int?
    /// Stop after this many seconds.
    public var timeLimit: Double?
    /// Models that keys 1, 2, 3 and m pick from, by name.
    public var modelNames: [String] = ModelCatalog.names
    /// How far back the expression timeline reaches, seconds.
    public var timelineSeconds = 30.0

    public init() {}
}

/// One classified frame, as the log writes it.
public struct ProcessedFrame: Sendable {
    public var frameIndex: Int
    /// Seconds since the pipeline started.
    public var time: Double
    public var model: String
    public var classes: [String]
    public var faces: [FaceReading]
    public var truth: String?
    public var timings: StageTimings
    /// The file the frame came from in a folder replay (empty for cameras, videos, the demo).
    public var file: String = ""

    public init(
        frameIndex: Int, time: Double, model: String, classes: [String], faces: [FaceReading], truth: String?,
        timings: StageTimings, file: String = ""
    ) {
        self.frameIndex = frameIndex
        self.time = time
        self.model = model
        self.classes = classes
        self.faces = faces
        self.truth = truth
        self.timings = timings
        self.file = file
    }
}

/// Capture → detect → preprocess → forward → render, on Dispatch queues.
public final class MonitorPipeline: @unchecked Sendable {
    public let source: FrameSource
    public let configuration: PipelineConfiguration

    /// Called on the render queue with each snapshot to draw (set before `start`).
    public var render: ((MonitorSnapshot) -> Void)?
    /// Called on the forward queue after each classified frame (the log).
    public var onProcessed: ((ProcessedFrame) -> Void)?
    /// Called once when the pipeline stops on its own: frame or time limit, or end of source.
    public var onFinished: ((String) -> Void)?

    let detector: FaceDetecting
    /// The detector and the tracker: one call per frame gives the faces with ids.
    let faceFinder: FaceFinding
    /// Why the source stopped when it failed for good (an unrecoverable error).
    let failureText = Locked<String?>(nil)
    let models: ModelSwitcher
    let state: Locked<MonitorState>
    let metrics = Locked(PipelineMetrics())
    /// Whether the capture loop should go on, and whether the pipeline has finished.
    private let run = Locked((running: false, finished: false))

    private(set) var detectStage: LatestValueStage<Frame>!
    private(set) var preprocessStage: LatestValueStage<DetectedFrame>!
    private(set) var forwardStage: LatestValueStage<PreparedBatch>!
    private var renderStage: LatestValueStage<Bool>!
    private let captureQueue = DispatchQueue(label: "fertui.capture", qos: .userInitiated)
    /// Entered while the capture loop runs, so `stop(waiting:)` can wait for it to leave the source.
    private let captureRunning = DispatchGroup()
    private let dumpQueue = DispatchQueue(label: "fertui.dump", qos: .utility)

    /// `model` is the one to start with, known as `modelName`; `loadModel` loads another by name
    /// (keys 1, 2, 3, m), off the render queue.
    public init(
        source: FrameSource, detector: FaceDetecting, model: ExpressionModel, modelName: String,
        configuration: PipelineConfiguration = PipelineConfiguration(),
        loadModel: @escaping (String) throws -> ExpressionModel
    ) {
        self.source = source
        self.detector = detector
        self.faceFinder = (detector as? FaceFinding) ?? TrackedDetections(detect: detector.detect)
        self.configuration = configuration
        models = ModelSwitcher(model: model, name: modelName, load: loadModel)
        state = Locked(
            MonitorState(
                modelName: modelName, smoothing: configuration.smoothing,
                smoothingWindow: configuration.smoothingWindow, timelineSeconds: configuration.timelineSeconds))
        let policy = configuration.backpressure
        detectStage = LatestValueStage(label: "fertui.detect", policy: policy) { [weak self] in self?.detect($0) }
        preprocessStage = LatestValueStage(label: "fertui.preprocess", policy: policy) { [weak self] in
            self?.preprocess($0)
        }
        forwardStage = LatestValueStage(label: "fertui.forward", policy: policy) { [weak self] in self?.forward($0) }
        renderStage = LatestValueStage(label: "fertui.render", policy: .dropOldest) { [weak self] _ in self?.draw() }
    }

    /// The queue the render callback runs on: the screen's one serial queue.
    public var renderQueue: DispatchQueue { renderStage.queue }

    // MARK: Running

    /// Starts capturing; returns at once.
    public func start() {
        let starting = run.withLock { run -> Bool in
            defer { run.running = true }
            return !run.running
        }
        guard starting else { return }
        metrics.withLock { $0.startTime = monotonicSeconds() }
        captureRunning.enter()
        captureQueue.async {
            self.captureLoop()
            self.captureRunning.leave()
        }
        if let seconds = configuration.timeLimit {
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                self.finish("time limit of \(seconds) s reached")
            }
        }
    }

    /// Stops taking frames; stages finish the item they hold.
    public func stop() {
        run.withLock { $0.running = false }
    }

    /// Stops, waits up to `timeout` seconds for the capture loop to leave the source (a camera
    /// read can block), then until the stages, a model load and a dump in flight have finished,
    /// however long that takes (a forward always ends): call before the process exits, so no
    /// thread is inside OpenCV or the engine while their globals are torn down.
    public func stop(waiting timeout: Double) {
        stop()
        _ = captureRunning.wait(timeout: .now() + timeout)
        waitUntilIdle(timeout: 3600)
        models.waitUntilDone()
        dumpQueue.sync {}
    }

    /// Blocks until the stages hold no work (after `stop` or the end of a source).
    public func waitUntilIdle(timeout: Double = 10) {
        let deadline = monotonicSeconds() + timeout
        for stage in [detectStage.waitUntilIdle, preprocessStage.waitUntilIdle, forwardStage.waitUntilIdle] {
            _ = stage(max(0, deadline - monotonicSeconds()))
        }
    }

    var isRunning: Bool { run.withLock { $0.running } }

    /// Why the source stopped when it failed for good (an unrecoverable error); nil otherwise.
    public var failure: String? { failureText.withLock { $0 } }

    /// Stops for `reason`; only the first call reports it.
    func finish(_ reason: String) {
        let first = run.withLock { run -> Bool in
            defer { run = (running: false, finished: true) }
            return !run.finished
        }
        if first { onFinished?(reason) }
    }

    // MARK: Render

    /// Asks for a redraw with the newest state (after a key, a resize, a message).
    public func requestRender() {
        if render != nil { renderStage.submit(true) }
    }

    /// What the screen should show now.
    public func snapshot() -> MonitorSnapshot {
        makeSnapshot(markingDrawn: false).snapshot
    }

    /// The snapshot, and whether its live frame is new to the screen; `markingDrawn`: the render
    /// stage is about to draw it.
    func makeSnapshot(markingDrawn: Bool) -> (snapshot: MonitorSnapshot, fresh: Bool) {
        var snap = MonitorSnapshot()
        let fresh = state.withLock { state -> Bool in
            if let frozen = state.frozen {
                snap.frame = frozen.frame
                snap.faces = frozen.faces
            } else {
                snap.frame = state.newestFrame
                snap.faces = state.prediction?.faces ?? []
            }
            snap.frozen = state.frozen != nil
            snap.primaryFaceID = state.selectedFaceID
            snap.modelName = state.modelName
            snap.loadingModel = state.loadingModel
            snap.accuracy = state.accuracy
            snap.smoothing = state.smoothing
            snap.message = state.message
            snap.sourceFinished = state.sourceFinished
            let history = state.shownHistory
            let timelineFace = snap.primaryFace?.id
            snap.timeline = timelineFace.flatMap { history.faces[$0]?.recent } ?? []
            snap.timelineFaceID = timelineFace
            snap.timelineSeconds = history.timelineSeconds
            snap.timelineEnd = state.frozen?.frame.timestamp ?? state.prediction?.frame.timestamp ?? 0
            let fresh = !state.newestFrameDrawn
            if markingDrawn { state.newestFrameDrawn = true }
            return fresh
        }
        let info = models.model.model.info
        snap.classes = info.classes
        snap.inputSize = info.inputSize
        snap.sourceName = source.name
        snap.sourceLength = (source as? ImageReplay)?.imagePaths.count
        snap.skippedFiles = source.skipped.count
        let now = monotonicSeconds()
        (snap.timings, snap.rates) = metrics.withLock { ($0.timings, $0.rates(at: now)) }
        return (snap, fresh)
    }

    /// The session so far, for the summary printed when the run ends; `reason` says why it ended.
    public func sessionSummary(reason: String) -> SessionSummary {
        let (history, accuracy) = state.withLock { ($0.history, $0.accuracy) }
        let (processed, startTime) = metrics.withLock { ($0.processed, $0.startTime) }
        let (_, name) = models.model
        return SessionSummary(
            source: source.name, model: name, classes: models.model.model.info.classes,
            seconds: startTime > 0 ? monotonicSeconds() - startTime : 0, framesClassified: processed,
            history: history, accuracy: accuracy, skippedFiles: source.skipped.count,
            firstSkipped: source.skipped.first?.path, droppedFrames: statistics.dropped, reason: reason)
    }

    // MARK: Controls

    /// Freezes the shown frame and its prediction, or resumes the live view; returns the new state.
    @discardableResult
    public func toggleFreeze() -> Bool {
        changeState { $0.toggleFreeze() }
    }

    /// Temporal smoothing on or off; returns the new state.
    @discardableResult
    public func toggleSmoothing() -> Bool {
        changeState { $0.toggleSmoothing() }
    }

    /// Makes the next (or previous) face, by id, the primary one.
    public func selectNextFace(backwards: Bool = false) {
        changeState { $0.selectNextFace(backwards: backwards) }
    }

    /// Shows a one-line notice on the status line.
    public func setMessage(_ text: String?) {
        changeState { $0.message = text }
    }

    /// Applies `change` to the state and redraws.
    private func changeState<Result>(_ change: (inout MonitorState) -> Result) -> Result {
        let result = state.withLock(change)
        requestRender()
        return result
    }

    /// The model in use.
    public var currentModelName: String { state.withLock { $0.modelName } }

    /// Loads model `index` of `configuration.modelNames` off the render queue; it takes over at
    /// the next frame. The feed keeps running meanwhile.
    public func selectModel(index: Int) {
        guard configuration.modelNames.indices.contains(index) else { return }
        selectModel(named: configuration.modelNames[index])
    }

    /// The model after the current one in `configuration.modelNames`.
    public func selectNextModel() {
        let names = configuration.modelNames
        guard !names.isEmpty else { return }
        let current = names.firstIndex(of: currentModelName) ?? -1
        selectModel(index: (current + 1) % names.count)
    }

    /// Loads `name` in the background and switches to it.
    public func selectModel(named name: String) {
        guard changeState({ $0.beginLoading(name) }) else { return }
        models.switchTo(name) { result in
            switch result {
            case .success(let milliseconds): self.changeState { $0.finishLoading(name, milliseconds: milliseconds) }
            case .failure(let error): self.changeState { $0.failLoading(name, error: error) }
            }
        }
    }

    /// Blocks until a model switch in progress has finished (tests, benchmarks).
    public func waitForModelSwitch() {
        models.waitUntilDone()
    }

    // MARK: Dump

    /// Writes the shown prediction (frozen, or the newest) into a new folder of `directory` and
    /// returns the folder's path. Runs on the caller's thread.
    public func writeDump(to directory: String, extraFiles: [(name: String, contents: Data)] = []) throws -> String {
        let shown = state.withLock { $0.shown }
        let (timings, startTime) = metrics.withLock { ($0.timings, $0.startTime) }
        guard let shown else {
            throw PipelineError("nothing to dump yet: no frame has been classified; wait for the first prediction")
        }
        return try DumpWriter.write(
            frame: shown.frame, faces: shown.faces, classes: models.model.model.info.classes,
            model: shown.model, source: source.name,
            timings: timings, elapsed: monotonicSeconds() - startTime, to: directory, extraFiles: extraFiles)
    }

    /// Writes a dump on the dump queue and shows where it went (or why it failed).
    public func requestDump(to directory: String, extraFiles: [(name: String, contents: Data)] = []) {
        dumpQueue.async {
            do {
                let path = try self.writeDump(to: directory, extraFiles: extraFiles)
                self.setMessage("dumped to \(path)")
            } catch {
                self.setMessage("dump failed: \(error)")
            }
        }
    }

    // MARK: Statistics

    /// Counters for tests and the benchmark.
    public var statistics: PipelineStatistics {
        let m = metrics.withLock { $0 }
        return PipelineStatistics(
            captured: m.captured, processed: m.processed,
            droppedBeforeDetect: detectStage.dropped,
            droppedBeforePreprocess: preprocessStage.dropped,
            droppedBeforeForward: forwardStage.dropped, renders: renderStage.processed,
            framesShown: m.framesShown, latencyMedian: m.latency.median,
            latencySamples: m.latency.count, predictionLatencyMedian: m.predictionLatency.median)
    }
}

/// A pipeline operation that could not be done.
public struct PipelineError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
