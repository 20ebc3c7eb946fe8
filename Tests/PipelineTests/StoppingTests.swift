// Stopping: once stop(waiting:) returns, no forward is running, however slow the model and however
// short the wait asked for (the process exits right after it); a frame limit of N gives N results.

import Foundation
import Vision
import XCTest

@testable import Pipeline

/// A model whose forward takes `delay` seconds and counts the forwards under way.
final class SlowModel: ExpressionModel, @unchecked Sendable {
    let info = TestModels.info("resnet18")
    let delay: Double
    private let lock = NSLock()
    private var running = 0
    private var started = 0

    init(delay: Double) { self.delay = delay }

    var forwardsRunning: Int {
        lock.lock()
        defer { lock.unlock() }
        return running
    }
    var forwardsStarted: Int {
        lock.lock()
        defer { lock.unlock() }
        return started
    }

    func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float] {
        [Float](repeating: 0, count: boxes.count)
    }

    func probabilities(_ input: [Float], batch faces: Int) throws -> [[Float]] {
        lock.lock()
        running += 1
        started += 1
        lock.unlock()
        Thread.sleep(forTimeInterval: delay)
        lock.lock()
        running -= 1
        lock.unlock()
        return [[Float]](repeating: [Float](repeating: 1 / 7, count: 7), count: faces)
    }
}

final class StoppingTests: XCTestCase {
    func testStopWaitsForTheForwardInFlightEvenPastItsTimeout() {
        let model = SlowModel(delay: 1.0)
        let pipeline = MonitorPipeline(
            source: SyntheticSource(count: 1000, interval: 0.01),
            detector: CentredFaceDetector(), model: model, modelName: "slow",
            loadModel: { _ in model })
        pipeline.start()
        waitUntil("a forward is running") { model.forwardsRunning == 1 }
        pipeline.stop(waiting: 0.05)
        XCTAssertEqual(model.forwardsRunning, 0, "stop(waiting:) returned while a forward was still running")
        let started = model.forwardsStarted
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(model.forwardsStarted, started, "a forward started after the pipeline had stopped")
    }

    func testAFrameLimitGivesExactlyThatManyResults() throws {
        for (limit, policy) in [(5, BackpressurePolicy.block), (3, .dropOldest)] {
            var config = PipelineConfiguration()
            config.frameLimit = limit
            config.backpressure = policy
            let pipeline = MonitorPipeline(
                source: SyntheticSource(count: 500), detector: CentredFaceDetector(),
                model: TestModels.resnet18, modelName: "resnet18", configuration: config,
                loadModel: TestModels.load)
            let lines = Locked(0)
            pipeline.onProcessed = { _ in lines.withLock { $0 += 1 } }
            let finished = expectation(description: "finished")
            pipeline.onFinished = { _ in finished.fulfill() }
            pipeline.start()
            wait(for: [finished], timeout: 60)
            pipeline.stop(waiting: 5)
            XCTAssertEqual(lines.withLock { $0 }, limit, "\(policy)")
            XCTAssertEqual(pipeline.statistics.processed, limit, "\(policy)")
        }
    }
}
