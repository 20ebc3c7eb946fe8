// The live pipeline. Each stage runs on its own named serial queue and holds at most one
// waiting item, so a slow stage makes the stages before it drop frames (latest wins) instead
// of queueing them; the screen never waits for inference.
//
//   source ──Frame──▶ capture ──Frame──▶ detect ──Frame + [(id, FaceBox)]──▶ preprocess
//   (fertui.capture)  │         (fertui.detect: cascade + tracker)      (fertui.preprocess: crops → tensor)
//                     │                                                             │
//                     │                       Frame + faces + tensor + model ◀──────┘
//                     │                                   ▼
//                     │                          forward (fertui.forward: ResNet → probabilities,
//                     │                                   smoothing, accuracy, log line)
//                     │                                   │ newest Prediction (frame + [FaceReading])
//                     ▼                                   ▼
//               render (fertui.render): newest frame + newest prediction → MonitorSnapshot → screen
//
// Model switches load on fertui.model-loader and take over between two forwards; dumps are
// written on fertui.dump.

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
}

/// The newest prediction and the frame it was made on (boxes belong to that frame).
struct Prediction {
    var frame: Frame
    var faces: [FaceReading]
    var model: String
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

    private let detector: FaceDetecting
    private let loadModel: (String) throws -> ExpressionModel
    /// The detector and the tracker: one call per frame gives the faces with ids.
    private let faceFinder: FaceFinding

    private var detectStage: LatestValueStage<Frame>!
    private var preprocessStage: LatestValueStage<DetectedFrame>!
    private var forwardStage: LatestValueStage<PreparedBatch>!
    private var renderStage: LatestValueStage<Bool>!
    private let captureQueue = DispatchQueue(label: "fertui.capture", qos: .userInitiated)
    /// Entered while the capture loop runs, so `stop(waiting:)` can wait for it to leave the source.
    private let captureRunning = DispatchGroup()
    private let loaderQueue = DispatchQueue(label: "fertui.model-loader", qos: .userInitiated)
    private let dumpQueue = DispatchQueue(label: "fertui.dump", qos: .utility)

    /// Everything below is shared between stages and guarded by `lock`.
    private let lock = NSLock()
    private var model: ExpressionModel
    private var modelName: String
    private var loadingModel: String?
    private var newestFrame: Frame?
    private var newestFrameDrawn = true
    private var prediction: Prediction?
    private var frozen: Prediction?
    private var smoothing: Bool
    private var smoother: ProbabilitySmoother
    private var selectedFaceID: Int?
    private var message: String?
    private var accuracy: RunningAccuracy?
    private var sourceFinished = false
    private var running = false
    private var finished = false
    private var startTime = 0.0
    private var processedCount = 0
    private var capturedCount = 0
    private var framesShown = 0
    private var averages = (capture: MovingAverage(), detect: MovingAverage(), preprocess: MovingAverage(),
                            forward: MovingAverage(), render: MovingAverage())
    private var sourceRate = RateMeter(), inferenceRate = RateMeter(), displayRate = RateMeter()
    private var latency = RollingMedian()
    private var predictionLatency = RollingMedian()

    struct DetectedFrame {
        var frame: Frame
        var faces: [TrackedFace]
        var detectMs: Double
    }

    struct PreparedBatch {
        var detected: DetectedFrame
        var tensor: [Float]
        var model: ExpressionModel
        var modelName: String
        var preprocessMs: Double
    }

    /// `model` is the one to start with, known as `modelName`; `loadModel` loads another by name
    /// (keys 1, 2, 3, m), off the render queue.
    public init(source: FrameSource, detector: FaceDetecting, model: ExpressionModel, modelName: String,
                configuration: PipelineConfiguration = PipelineConfiguration(),
                loadModel: @escaping (String) throws -> ExpressionModel) {
        self.source = source
        self.detector = detector
        self.faceFinder = (detector as? FaceFinding) ?? TrackedDetections(detect: detector.detect)
        self.model = model
        self.modelName = modelName
        self.configuration = configuration
        self.loadModel = loadModel
        self.smoothing = configuration.smoothing
        self.smoother = ProbabilitySmoother(window: configuration.smoothingWindow)
        let policy = configuration.backpressure
        detectStage = LatestValueStage(label: "fertui.detect", policy: policy) { [weak self] in self?.detect($0) }
        preprocessStage = LatestValueStage(label: "fertui.preprocess", policy: policy) { [weak self] in self?.preprocess($0) }
        forwardStage = LatestValueStage(label: "fertui.forward", policy: policy) { [weak self] in self?.forward($0) }
        renderStage = LatestValueStage(label: "fertui.render", policy: .dropOldest) { [weak self] _ in self?.draw() }
    }

    /// The queue the render callback runs on: the screen's one serial queue.
    public var renderQueue: DispatchQueue { renderStage.queue }

    // MARK: Running

    /// Starts capturing; returns at once.
    public func start() {
        lock.lock()
        guard !running else { lock.unlock(); return }
        running = true
        startTime = monotonicSeconds()
        lock.unlock()
        captureRunning.enter()
        captureQueue.async {
            self.captureLoop()
            self.captureRunning.leave()
        }
        if let seconds = configuration.timeLimit {
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { self.finish("time limit of \(seconds) s reached") }
        }
    }

    /// Stops taking frames; stages finish the item they hold.
    public func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }

    /// Stops, then waits (up to `timeout` seconds) until the capture loop has left the source and
    /// the stages are idle: call before the process exits, so no thread is inside OpenCV or the
    /// engine while their globals are torn down.
    public func stop(waiting timeout: Double) {
        stop()
        let deadline = monotonicSeconds() + timeout
        _ = captureRunning.wait(timeout: .now() + timeout)
        waitUntilIdle(timeout: max(0, deadline - monotonicSeconds()))
    }

    /// Blocks until the stages hold no work (after `stop` or the end of a source).
    public func waitUntilIdle(timeout: Double = 10) {
        let deadline = monotonicSeconds() + timeout
        for stage in [detectStage.waitUntilIdle, preprocessStage.waitUntilIdle, forwardStage.waitUntilIdle] {
            _ = stage(max(0, deadline - monotonicSeconds()))
        }
    }

    private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }

    /// Why the source stopped when it failed for good (an unrecoverable error); nil otherwise.
    public var failure: String? { lock.lock(); defer { lock.unlock() }; return failureText }
    private var failureText: String?

    /// Sleeps `seconds` in short steps, returning early once the pipeline is stopped.
    private func sleepWhileRunning(_ seconds: Double) {
        let deadline = monotonicSeconds() + seconds
        while isRunning && monotonicSeconds() < deadline { Thread.sleep(forTimeInterval: min(0.02, seconds)) }
    }

    private func finish(_ reason: String) {
        lock.lock()
        let first = !finished
        finished = true
        running = false
        lock.unlock()
        if first { onFinished?(reason) }
    }

    private func captureLoop() {
        var lastTaken = 0.0
        var retry = SourceRetry()
        while isRunning {
            let before = monotonicSeconds()
            let frame: Frame?
            do {
                frame = try source.nextFrame()
                if let notice = retry.succeeded() { setMessage(notice) }
            } catch {
                // A camera that went away: keep the last frame on screen and ask again, backing off.
                if let wait = retry.failed(error, source: source.name) {
                    setMessage(retry.message)
                    sleepWhileRunning(wait)
                    continue
                }
                let text = "source \(source.name) failed: \(error)"
                lock.lock()
                failureText = text
                lock.unlock()
                setMessage(text)
                frame = nil
            }
            guard let frame else {
                lock.lock()
                sourceFinished = true
                lock.unlock()
                requestRender()
                // Let the frames in flight be classified before saying the replay is over.
                waitUntilIdle(timeout: 30)
                finish(failure ?? "end of source \(source.name)")
                return
            }
            let after = monotonicSeconds()
            if let cap = configuration.maxSourceFPS, after - lastTaken < 1 / cap { continue }
            lastTaken = after
            lock.lock()
            // From the source's timestamp (when the frame existed) to having it in hand.
            let captureMs = (frame.timestamp >= before - 1 && frame.timestamp <= after ? after - frame.timestamp : after - before) * 1000
            averages.capture.add(captureMs)
            sourceRate.tick(at: after)
            capturedCount += 1
            newestFrame = frame
            newestFrameDrawn = false
            lock.unlock()
            if render != nil { renderStage.submit(true) }
            detectStage.submit(frame)
        }
    }

    private func detect(_ frame: Frame) {
        let t0 = monotonicSeconds()
        var tracked: [TrackedFace] = []
        do {
            tracked = try faceFinder.faces(in: frame)
        } catch {
            setMessage("face detection failed: \(error)")
        }
        preprocessStage.submit(DetectedFrame(frame: frame, faces: tracked, detectMs: (monotonicSeconds() - t0) * 1000))
    }

    private func preprocess(_ detected: DetectedFrame) {
        let t0 = monotonicSeconds()
        lock.lock()
        let model = self.model, name = self.modelName
        lock.unlock()
        var tensor: [Float] = []
        if !detected.faces.isEmpty {
            do {
                tensor = try model.preprocess(detected.frame, boxes: detected.faces.map(\.box))
            } catch {
                setMessage("preprocessing failed: \(error)")
                return
            }
        }
        forwardStage.submit(PreparedBatch(detected: detected, tensor: tensor, model: model, modelName: name,
                                          preprocessMs: (monotonicSeconds() - t0) * 1000))
    }

    private func forward(_ batch: PreparedBatch) {
        let t0 = monotonicSeconds()
        let faces = batch.detected.faces
        var probabilities: [[Float]] = []
        if !faces.isEmpty {
            do {
                probabilities = try batch.model.probabilities(batch.tensor, batch: faces.count)
            } catch {
                setMessage("\(batch.modelName) failed: \(error)")
                return
            }
        }
        let forwardMs = (monotonicSeconds() - t0) * 1000
        let classes = batch.model.info.classes
        let frame = batch.detected.frame

        lock.lock()
        var readings: [FaceReading] = []
        for (i, face) in faces.enumerated() {
            let raw = probabilities[i]
            let smoothed = smoother.add(raw, for: face.id)
            var reading = FaceReading(id: face.id, box: face.box, probabilities: smoothing ? smoothed : raw, classes: classes)
            reading.held = face.held
            readings.append(reading)
        }
        smoother.keepOnly(Set(faces.map(\.id)))
        if let truth = frame.truth {
            var acc = accuracy ?? RunningAccuracy()
            acc.total += 1
            if readings.max(by: { $0.box.area < $1.box.area })?.label == truth { acc.correct += 1 }
            accuracy = acc
        }
        prediction = Prediction(frame: frame, faces: readings, model: batch.modelName)
        averages.detect.add(batch.detected.detectMs)
        averages.preprocess.add(batch.preprocessMs)
        averages.forward.add(forwardMs)
        inferenceRate.tick()
        predictionLatency.add((monotonicSeconds() - frame.timestamp) * 1000)
        processedCount += 1
        let processed = ProcessedFrame(frameIndex: frame.index, time: monotonicSeconds() - startTime, model: batch.modelName,
                                       classes: classes, faces: readings, truth: frame.truth, timings: currentTimings())
        let limitReached = configuration.frameLimit.map { processedCount >= $0 } ?? false
        lock.unlock()
        onProcessed?(processed)
        if render != nil { renderStage.submit(true) }
        if limitReached { finish("\(processedCount) frames processed") }
    }

    // MARK: Render

    /// Asks for a redraw with the newest state (after a key, a resize, a message).
    public func requestRender() {
        if render != nil { renderStage.submit(true) }
    }

    private func draw() {
        guard let render else { return }
        let t0 = monotonicSeconds()
        lock.lock()
        let snap = makeSnapshot()
        let fresh = !newestFrameDrawn
        newestFrameDrawn = true
        lock.unlock()
        render(snap)
        let t1 = monotonicSeconds()
        lock.lock()
        averages.render.add((t1 - t0) * 1000)
        if fresh, let frame = snap.frame, frozen == nil {
            framesShown += 1
            displayRate.tick(at: t1)
            latency.add((t1 - frame.timestamp) * 1000)
        }
        lock.unlock()
    }

    /// What the screen should show now.
    public func snapshot() -> MonitorSnapshot {
        lock.lock()
        defer { lock.unlock() }
        return makeSnapshot()
    }

    /// Call with `lock` held.
    private func makeSnapshot() -> MonitorSnapshot {
        var snap = MonitorSnapshot()
        if let frozen {
            snap.frame = frozen.frame
            snap.faces = frozen.faces
        } else {
            snap.frame = newestFrame
            snap.faces = prediction?.faces ?? []
        }
        snap.frozen = frozen != nil
        snap.primaryFaceID = selectedFaceID
        snap.classes = model.info.classes
        snap.modelName = modelName
        snap.inputSize = model.info.inputSize
        snap.loadingModel = loadingModel
        snap.sourceName = source.name
        snap.timings = currentTimings()
        let now = monotonicSeconds()
        snap.rates = PipelineRates(source: sourceRate.rate(at: now), inference: inferenceRate.rate(at: now),
                                   display: displayRate.rate(at: now))
        snap.accuracy = accuracy
        snap.smoothing = smoothing
        snap.message = message
        snap.sourceFinished = sourceFinished
        return snap
    }

    private func currentTimings() -> StageTimings {
        StageTimings(capture: averages.capture.value, detect: averages.detect.value, preprocess: averages.preprocess.value,
                     forward: averages.forward.value, render: averages.render.value)
    }

    // MARK: Controls

    /// Freezes the shown frame and its prediction, or resumes the live view; returns the new state.
    @discardableResult
    public func toggleFreeze() -> Bool {
        lock.lock()
        if frozen != nil {
            frozen = nil
        } else {
            frozen = prediction ?? newestFrame.map { Prediction(frame: $0, faces: [], model: modelName) }
        }
        let state = frozen != nil
        lock.unlock()
        requestRender()
        return state
    }

    /// Temporal smoothing on or off; returns the new state.
    @discardableResult
    public func toggleSmoothing() -> Bool {
        lock.lock()
        smoothing.toggle()
        let state = smoothing
        message = "smoothing \(state ? "on" : "off")"
        lock.unlock()
        requestRender()
        return state
    }

    /// Makes the next (or previous) face, by id, the primary one.
    public func selectNextFace(backwards: Bool = false) {
        lock.lock()
        let ids = (frozen ?? prediction)?.faces.map(\.id).sorted() ?? []
        if !ids.isEmpty {
            let current = selectedFaceID.flatMap { ids.firstIndex(of: $0) }
            let next: Int
            if let current { next = (current + (backwards ? ids.count - 1 : 1)) % ids.count } else { next = 0 }
            selectedFaceID = ids[next]
        }
        lock.unlock()
        requestRender()
    }

    /// The model in use.
    public var currentModelName: String { lock.lock(); defer { lock.unlock() }; return modelName }

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
        lock.lock()
        guard name != modelName, loadingModel == nil else { lock.unlock(); return }
        loadingModel = name
        message = "loading \(name)..."
        lock.unlock()
        requestRender()
        loaderQueue.async {
            let t0 = monotonicSeconds()
            do {
                var loaded: ExpressionModel? = try self.loadModel(name)
                self.lock.lock()
                var previous: ExpressionModel? = self.model
                self.model = loaded!
                self.modelName = name
                self.loadingModel = nil
                self.smoother.reset()
                self.message = "switched to \(name) (loaded in \(Int((monotonicSeconds() - t0) * 1000)) ms)"
                self.lock.unlock()
                loaded = nil
                // Free the old model now (a batch in flight may hold it a moment longer) and hand
                // the freed pages back: glibc keeps large freed blocks in its heap otherwise.
                previous = nil
                _ = previous
                _ = loaded
                self.loaderQueue.asyncAfter(deadline: .now() + 0.5) { _ = releaseFreedMemory(0) }
            } catch {
                self.lock.lock()
                self.loadingModel = nil
                self.message = "could not load \(name): \(error)"
                self.lock.unlock()
            }
            self.requestRender()
        }
    }

    /// Blocks until a model switch in progress has finished (tests, benchmarks).
    public func waitForModelSwitch() {
        loaderQueue.sync {}
    }

    /// Shows a one-line notice on the status line.
    public func setMessage(_ text: String?) {
        lock.lock()
        message = text
        lock.unlock()
        requestRender()
    }

    // MARK: Dump

    /// Writes the shown prediction (frozen, or the newest) into a new folder of `directory` and
    /// returns the folder's path. Runs on the caller's thread.
    public func writeDump(to directory: String) throws -> String {
        lock.lock()
        let shown = frozen ?? prediction
        let name = shown?.model ?? modelName
        let classes = model.info.classes
        let timings = currentTimings()
        let elapsed = monotonicSeconds() - startTime
        lock.unlock()
        guard let shown else {
            throw PipelineError("nothing to dump yet: no frame has been classified; wait for the first prediction")
        }
        return try DumpWriter.write(frame: shown.frame, faces: shown.faces, classes: classes, model: name,
                                    source: source.name, timings: timings, elapsed: elapsed, to: directory)
    }

    /// Writes a dump on the dump queue and shows where it went (or why it failed).
    public func requestDump(to directory: String) {
        dumpQueue.async {
            do {
                let path = try self.writeDump(to: directory)
                self.setMessage("dumped to \(path)")
            } catch {
                self.setMessage("dump failed: \(error)")
            }
        }
    }

    // MARK: Statistics

    /// Counters for tests and the benchmark.
    public struct Statistics: Sendable {
        public var captured: Int
        public var processed: Int
        public var droppedBeforeDetect: Int
        public var droppedBeforePreprocess: Int
        public var droppedBeforeForward: Int
        public var renders: Int
        /// Renders that showed a frame not shown before (the screen's frame rate counts these).
        public var framesShown: Int
        /// Source timestamp to screen, median of recent frames, milliseconds.
        public var latencyMedian: Double
        public var latencySamples: Int
        /// Source timestamp to that frame's prediction being ready, median, milliseconds.
        public var predictionLatencyMedian: Double
    }

    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return Statistics(captured: capturedCount, processed: processedCount, droppedBeforeDetect: detectStage.dropped,
                          droppedBeforePreprocess: preprocessStage.dropped, droppedBeforeForward: forwardStage.dropped,
                          renders: renderStage.processed, framesShown: framesShown, latencyMedian: latency.median, latencySamples: latency.count,
                          predictionLatencyMedian: predictionLatency.median)
    }
}

/// glibc's malloc_trim (malloc.h, which the Glibc module does not export): returns freed heap
/// pages to the system, so a replaced model's weights leave the resident set.
@_silgen_name("malloc_trim")
private func releaseFreedMemory(_ pad: Int) -> Int32

/// A pipeline operation that could not be done.
public struct PipelineError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
