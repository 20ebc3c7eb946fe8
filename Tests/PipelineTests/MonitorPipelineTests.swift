// The pipeline end to end with a real ResNet (seeded weights): every frame in a blocking
// replay, stale frames dropped live, the log, accuracy, freeze, model switching, dumps, and a
// source that fails mid-run.

import Foundation
import Vision
import XCTest

@testable import Pipeline

final class MonitorPipelineTests: XCTestCase {
    func run(_ pipeline: MonitorPipeline, timeout: Double = 60) -> String {
        let done = expectation(description: "pipeline finishes")
        var reason = ""
        pipeline.onFinished = {
            reason = $0
            done.fulfill()
        }
        pipeline.start()
        wait(for: [done], timeout: timeout)
        pipeline.waitUntilIdle()
        return reason
    }

    func testBlockingReplayClassifiesEveryFrameAndLogsIt() throws {
        let dir = temporaryDirectory("log")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = SyntheticSource(count: 12, truths: ["happy", "sad", "angry"])
        var config = PipelineConfiguration()
        config.backpressure = .block
        config.smoothing = false
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config, loadModel: TestModels.load)
        let log = try PredictionLog(path: dir + "/run.jsonl")
        pipeline.onProcessed = { log.append($0) }
        let reason = run(pipeline)
        XCTAssertEqual(try log.close(), 12)
        XCTAssertTrue(reason.contains("end of source"), reason)

        let stats = pipeline.statistics
        XCTAssertEqual(stats.captured, 12)
        XCTAssertEqual(stats.processed, 12)
        XCTAssertEqual(stats.droppedBeforeDetect + stats.droppedBeforePreprocess + stats.droppedBeforeForward, 0)

        let lines = try String(contentsOfFile: dir + "/run.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 12)
        var correct = 0
        for (i, line) in lines.enumerated() {
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(json["frame"] as? Int, i)
            XCTAssertEqual(json["model"] as? String, "resnet18")
            let truth = try XCTUnwrap(json["truth"] as? String)
            XCTAssertEqual(truth, ["happy", "sad", "angry"][i % 3])
            let face = try XCTUnwrap((json["faces"] as? [[String: Any]])?.first)
            XCTAssertEqual(face["box"] as? [Int], [16, 12, 32, 24])
            let probs = try XCTUnwrap(face["probs"] as? [String: Double])
            XCTAssertEqual(probs.values.reduce(0, +), 1, accuracy: 1e-4)
            let label = try XCTUnwrap(face["label"] as? String)
            XCTAssertEqual(probs[label], probs.values.max())
            if label == truth { correct += 1 }
        }
        // The running accuracy is the log's own count.
        XCTAssertEqual(pipeline.snapshot().accuracy, RunningAccuracy(correct: correct, total: 12))
    }

    func testLiveModeDropsStaleFramesAndClassifiesTheNewest() {
        // Frames every 2 ms, detection takes 30 ms: most frames must be dropped, none queued.
        let source = SyntheticSource(count: 120, interval: 0.002)
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(delay: 0.03), model: TestModels.resnet18,
            modelName: "resnet18", loadModel: TestModels.load)
        var processedIndices: [Int] = []
        let lock = NSLock()
        pipeline.onProcessed = { p in
            lock.lock()
            processedIndices.append(p.frameIndex)
            lock.unlock()
        }
        _ = run(pipeline)
        let stats = pipeline.statistics
        XCTAssertEqual(stats.captured, 120)
        XCTAssertGreaterThan(stats.droppedBeforeDetect, 60, "a slow detector must make capture drop frames")
        XCTAssertLessThan(stats.processed, 60)
        XCTAssertEqual(
            stats.processed + stats.droppedBeforeDetect + stats.droppedBeforePreprocess + stats.droppedBeforeForward,
            120,
            "every frame is either classified or dropped: nothing waits in a queue")
        lock.lock()
        XCTAssertEqual(processedIndices, processedIndices.sorted(), "frames are never classified out of order")
        XCTAssertEqual(processedIndices.last, 119, "the newest frame wins")
        lock.unlock()
    }

    func testRenderDrawsTheNewestFrameWithoutWaitingForInference() {
        // Inference is slowed by a 50 ms detector; the render stage still sees frames at the source's pace.
        let source = SyntheticSource(count: 40, interval: 0.01)
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(delay: 0.05), model: TestModels.resnet18,
            modelName: "resnet18", loadModel: TestModels.load)
        var drawnFrames = Set<Int>()
        let lock = NSLock()
        pipeline.render = { snap in
            lock.lock()
            if let f = snap.frame { drawnFrames.insert(f.index) }
            lock.unlock()
        }
        _ = run(pipeline)
        lock.lock()
        defer { lock.unlock() }
        XCTAssertGreaterThan(
            drawnFrames.count, pipeline.statistics.processed + 5,
            "the screen showed \(drawnFrames.count) frames while \(pipeline.statistics.processed) were classified")
        XCTAssertGreaterThan(pipeline.statistics.latencySamples, 0)
    }

    func testSmoothingAveragesPerTrackedFaceAndToggles() throws {
        let source = SyntheticSource(count: 6)
        var config = PipelineConfiguration()
        config.backpressure = .block
        config.smoothingWindow = 3
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config, loadModel: TestModels.load)
        var shown: [[Float]] = []
        pipeline.onProcessed = { shown.append($0.faces[0].probabilities) }
        _ = run(pipeline)
        // The raw probabilities of each frame, straight from the model.
        let again = SyntheticSource(count: 6)
        var raw: [[Float]] = []
        while let frame = try again.nextFrame() {
            let box = try CentredFaceDetector().detect(frame)
            raw += try TestModels.resnet18.probabilities(
                try TestModels.resnet18.preprocess(frame, boxes: box), batch: 1)
        }
        for i in 0..<6 {
            let window = raw[max(0, i - 2)...i]
            for c in 0..<7 {
                let mean = window.map { $0[c] }.reduce(0, +) / Float(window.count)
                XCTAssertEqual(shown[i][c], mean, accuracy: 1e-5, "frame \(i) class \(c)")
            }
        }
        XCTAssertFalse(pipeline.toggleSmoothing())
        XCTAssertTrue(pipeline.toggleSmoothing())
    }

    func testFreezeHoldsTheFrameAndPredictionWhileTheFeedRuns() throws {
        let source = SyntheticSource(count: 100000, interval: 0.005)
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", loadModel: TestModels.load)
        pipeline.start()
        defer { pipeline.stop() }
        waitUntil("two frames are classified") { pipeline.statistics.processed >= 2 }
        XCTAssertTrue(pipeline.toggleFreeze())
        let frozen = pipeline.snapshot()
        let frozenIndex = try XCTUnwrap(frozen.frame?.index)
        XCTAssertTrue(frozen.frozen)
        let capturedBefore = pipeline.statistics.captured
        let processedBefore = pipeline.statistics.processed
        waitUntil("the feed keeps running while frozen") {
            pipeline.statistics.captured > capturedBefore + 5 && pipeline.statistics.processed > processedBefore + 2
        }
        let later = pipeline.snapshot()
        XCTAssertEqual(later.frame?.index, frozenIndex)
        XCTAssertEqual(later.faces, frozen.faces)
        XCTAssertFalse(pipeline.toggleFreeze())
        waitUntil("the live view shows a newer frame") { pipeline.snapshot().frame?.index != frozenIndex }
        XCTAssertFalse(pipeline.snapshot().frozen)
    }

    func testModelSwitchLoadsOffTheRenderQueueAndTakesOver() throws {
        let source = SyntheticSource(count: 100000, interval: 0.005)
        var config = PipelineConfiguration()
        config.modelNames = ["resnet18", "resnet34"]
        let loading = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config
        ) { name in
            loading.signal()
            gate.wait()  // a slow load
            return try TestModels.load(name)
        }
        var models: [String] = []
        let lock = NSLock()
        pipeline.onProcessed = { (p: ProcessedFrame) in
            lock.lock()
            models.append(p.model)
            lock.unlock()
        }
        pipeline.start()
        defer { pipeline.stop() }
        waitUntil("the first frame is classified") { pipeline.statistics.processed >= 1 }
        pipeline.selectModel(index: 1)
        loading.wait()
        // While the model loads, the render queue answers and the old model keeps classifying.
        let renderFree = expectation(description: "render queue is free during the load")
        pipeline.renderQueue.async { renderFree.fulfill() }
        wait(for: [renderFree], timeout: 2)
        XCTAssertEqual(pipeline.snapshot().loadingModel, "resnet34")
        let processedDuringLoad = pipeline.statistics.processed
        waitUntil("inference continues during the load") { pipeline.statistics.processed > processedDuringLoad }
        XCTAssertEqual(pipeline.currentModelName, "resnet18")
        gate.signal()
        pipeline.waitForModelSwitch()
        XCTAssertEqual(pipeline.currentModelName, "resnet34")
        let capturedAtSwitch = pipeline.statistics.captured
        waitUntil("frames after the switch are classified by the new model") {
            lock.lock()
            defer { lock.unlock() }
            return models.last == "resnet34"
        }
        waitUntil("the feed goes on after the switch") { pipeline.statistics.captured > capturedAtSwitch }
        let snap = pipeline.snapshot()
        XCTAssertEqual(snap.modelName, "resnet34")
        XCTAssertNil(snap.loadingModel)
        XCTAssertTrue(snap.message?.contains("switched to resnet34") ?? false, snap.message ?? "no message")

        gate.signal()  // let the next load through
        pipeline.selectModel(named: "resnet50")  // the test loader cannot: the old model stays
        pipeline.waitForModelSwitch()
        XCTAssertEqual(pipeline.currentModelName, "resnet34")
        XCTAssertTrue(pipeline.snapshot().message?.contains("could not load resnet50") ?? false)
    }

    func testDumpOfTheShownPrediction() throws {
        let dir = temporaryDirectory("pdump")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = SyntheticSource(count: 3)
        var config = PipelineConfiguration()
        config.backpressure = .block
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config, loadModel: TestModels.load)
        XCTAssertThrowsError(try pipeline.writeDump(to: dir), "nothing classified yet")
        _ = run(pipeline)
        let path = try pipeline.writeDump(to: dir)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/prediction.json")))
                as? [String: Any])
        XCTAssertEqual(json["frame"] as? Int, 2)
        XCTAssertEqual(json["source"] as? String, "synthetic")
        XCTAssertEqual((json["faces"] as? [[String: Any]])?.count, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/face-1.png"))
    }

    func testASourceErrorMidRunEndsTheSourceAndSaysWhy() {
        // An error that is not recoverable ends the source: what came before is classified, the
        // error shows on the status line and is the reason the run ended, and the source is not
        // asked again. (Recoverable ones, a camera that went away, are retried: SourceFailureTests.)
        let source = ScriptedSource([.frame, .frame, .error("camera unplugged"), .frame])
        var config = PipelineConfiguration()
        config.backpressure = .block
        let pipeline = MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config, loadModel: TestModels.load)
        var classified: [Int] = []
        pipeline.onProcessed = { classified.append($0.frameIndex) }
        let reason = run(pipeline)
        XCTAssertEqual(reason, "source scripted failed: camera unplugged")
        XCTAssertEqual(pipeline.failure, "source scripted failed: camera unplugged")
        XCTAssertEqual(classified, [0, 1], "the frames before the error are classified")
        XCTAssertEqual(source.calls, 3, "the source is not asked again after its error")
        let snap = pipeline.snapshot()
        XCTAssertTrue(snap.sourceFinished)
        XCTAssertEqual(snap.message, "source scripted failed: camera unplugged")
        XCTAssertEqual(snap.frame?.index, 1)
    }
}
