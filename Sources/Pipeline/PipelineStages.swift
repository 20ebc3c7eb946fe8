// The live pipeline's stages. Each runs on its own named serial queue and holds at most one
// waiting item, so a slow stage makes the stages before it drop frames (latest wins) instead
// of queueing them; the screen never waits for inference.
//
//   source ──Frame──▶ capture ──Frame──▶ detect ──Frame + [(id, FaceBox)]──▶ preprocess
//   (fertui.capture)  │         (fertui.detect: face schedule + tracker)  (fertui.preprocess: crops → tensor)
//                     │                                                             │
//                     │                       Frame + faces + tensor + model ◀──────┘
//                     │                                   ▼
//                     │                          forward (fertui.forward: ResNet → probabilities,
//                     │                                   smoothing, accuracy, log line)
//                     │                                   │ newest Prediction (frame + [FaceReading])
//                     ▼                                   ▼
//               render (fertui.render): newest frame + newest prediction → MonitorSnapshot → screen
//
// Model switches load on fertui.model-loader (ModelSwitcher) and take over between two
// forwards; dumps are written on fertui.dump.

import Engine
import Foundation
import Vision

/// The newest prediction and the frame it was made on (boxes belong to that frame).
struct Prediction {
    var frame: Frame
    var faces: [FaceReading]
    var model: String
}

/// detect → preprocess: a frame and its tracked faces.
struct DetectedFrame {
    var frame: Frame
    var faces: [TrackedFace]
    var detectMs: Double
}

/// preprocess → forward: the faces' input tensor and the model it was made for.
struct PreparedBatch {
    var detected: DetectedFrame
    var tensor: [Float]
    var model: ExpressionModel
    var modelName: String
    var preprocessMs: Double
}

extension MonitorPipeline {
    /// On fertui.capture: takes frames until stopped or the source ends. A recoverable source
    /// error (a camera that went away) is retried with back-off, the last frame staying on
    /// screen; any other error ends the source, with the error on the status line.
    func captureLoop() {
        var lastTaken = 0.0
        var retry = SourceRetry()
        while isRunning {
            let before = monotonicSeconds()
            let frame: Frame?
            do {
                frame = try source.nextFrame()
                if let notice = retry.succeeded() { setMessage(notice) }
            } catch {
                if let wait = retry.failed(error, source: source.name) {
                    setMessage(retry.message)
                    sleepWhileRunning(wait)
                    continue
                }
                let text = "source \(source.name) failed: \(error)"
                failureText.withLock { $0 = text }
                setMessage(text)
                frame = nil
            }
            guard let frame else {
                state.withLock { $0.sourceFinished = true }
                requestRender()
                // Let the frames in flight be classified before saying the replay is over.
                waitUntilIdle(timeout: 30)
                finish(failure ?? "end of source \(source.name)")
                return
            }
            // Stopped while the source was reading: the frame goes nowhere, so nothing new
            // enters the stages that stop(waiting:) is draining.
            guard isRunning else { return }
            let after = monotonicSeconds()
            if let cap = configuration.maxSourceFPS, after - lastTaken < 1 / cap { continue }
            lastTaken = after
            metrics.withLock { $0.recordCapture(frame, asked: before, received: after) }
            state.withLock { $0.receive(frame) }
            requestRender()
            detectStage.submit(frame)
        }
    }

    /// On fertui.detect.
    func detect(_ frame: Frame) {
        let t0 = monotonicSeconds()
        let faces = findFaces(in: frame)
        preprocessStage.submit(DetectedFrame(frame: frame, faces: faces, detectMs: (monotonicSeconds() - t0) * 1000))
    }

    /// The faces of `frame`, each with an id that stays while the face is followed (held through
    /// short misses); a detector error shows on the status line and counts as no face.
    func findFaces(in frame: Frame) -> [TrackedFace] {
        do { return try faceFinder.faces(in: frame) } catch { setMessage("face detection failed: \(error)") }
        return []
    }

    /// Sleeps `seconds` in short steps, returning early once the pipeline is stopped.
    func sleepWhileRunning(_ seconds: Double) {
        let deadline = monotonicSeconds() + seconds
        while isRunning && monotonicSeconds() < deadline { Thread.sleep(forTimeInterval: min(0.02, seconds)) }
    }

    /// On fertui.preprocess: the crops as the current model's input.
    func preprocess(_ detected: DetectedFrame) {
        let t0 = monotonicSeconds()
        let (model, name) = models.model
        var tensor: [Float] = []
        if !detected.faces.isEmpty {
            do {
                tensor = try model.preprocess(detected.frame, boxes: detected.faces.map(\.box))
            } catch {
                setMessage("preprocessing failed: \(error)")
                return
            }
        }
        forwardStage.submit(
            PreparedBatch(
                detected: detected, tensor: tensor, model: model, modelName: name,
                preprocessMs: (monotonicSeconds() - t0) * 1000))
    }

    /// On fertui.forward: probabilities, smoothing, accuracy, the log line, the frame limit.
    func forward(_ batch: PreparedBatch) {
        // Frames already past detection when the limit was reached are not classified: a run
        // of --frames N gives exactly N results (this queue is serial, so the count is exact).
        if let limit = configuration.frameLimit, metrics.withLock({ $0.processed }) >= limit { return }
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
        let readings = state.withLock { state in
            let readings = state.readings(faces: faces, probabilities: probabilities, classes: classes)
            state.record(Prediction(frame: frame, faces: readings, model: batch.modelName))
            return readings
        }
        let now = monotonicSeconds()
        let (processed, startTime) = metrics.withLock { m in
            m.recordClassified(
                frameTimestamp: frame.timestamp, detectMs: batch.detected.detectMs,
                preprocessMs: batch.preprocessMs, forwardMs: forwardMs, at: now)
            return (m.processed, m.startTime)
        }
        // This frame's own stage times (the screen shows moving averages instead).
        let own = StageTimings(detect: batch.detected.detectMs, preprocess: batch.preprocessMs, forward: forwardMs)
        onProcessed?(
            ProcessedFrame(
                frameIndex: frame.index, time: now - startTime, model: batch.modelName,
                classes: classes, faces: readings, truth: frame.truth, timings: own,
                file: source is ImageReplay ? frame.origin : ""))
        requestRender()
        if let limit = configuration.frameLimit, processed >= limit { finish("\(processed) frames processed") }
    }

    /// On fertui.render: the newest state to the screen.
    func draw() {
        guard let render else { return }
        let t0 = monotonicSeconds()
        let (snap, fresh) = makeSnapshot(markingDrawn: true)
        render(snap)
        let t1 = monotonicSeconds()
        let shownFrame = fresh && !snap.frozen ? snap.frame?.timestamp : nil
        metrics.withLock { $0.recordRender(milliseconds: (t1 - t0) * 1000, shownFrame: shownFrame, at: t1) }
    }
}
