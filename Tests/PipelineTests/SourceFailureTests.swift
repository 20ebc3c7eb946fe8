// A source that fails mid-run: recoverable errors (a camera unplugged, a timeout) keep the pipeline
// asking, with a message and the last frame still shown, and frames resume; an unrecoverable error
// ends the run with a failure. The retry decisions are checked on their own too.

import Foundation
import Vision
import XCTest

@testable import Pipeline

/// Frames, then a scripted run of errors, then frames again.
final class ScriptedFailingSource: FrameSource {
    enum Step {
        case frame
        case error(Error)
    }
    let name = "scripted"
    let nominalFPS: Double? = nil
    private var steps: [Step]
    private let lock = NSLock()
    private(set) var delivered = 0

    init(_ steps: [Step]) { self.steps = steps }

    func nextFrame() throws -> Frame? {
        lock.lock()
        defer { lock.unlock() }
        guard !steps.isEmpty else { return nil }
        switch steps.removeFirst() {
        case .error(let e):
            throw e
        case .frame:
            let pixels = [UInt8](repeating: UInt8(40 + delivered), count: 64 * 48)
            let f = Frame(
                width: 64, height: 48, channels: 1, pixels: pixels, timestamp: monotonicSeconds(),
                index: delivered, origin: name)
            delivered += 1
            return f
        }
    }
}

struct ScriptedError: RecoverableSourceError, CustomStringConvertible {
    var isRecoverable: Bool
    var description: String { isRecoverable ? "device vanished (ENODEV)" : "device cannot capture" }
}

final class SourceFailureTests: XCTestCase {
    func pipeline(_ source: FrameSource) -> MonitorPipeline {
        var config = PipelineConfiguration()
        config.backpressure = .block
        config.smoothing = false
        return MonitorPipeline(
            source: source, detector: CentredFaceDetector(), model: TestModels.resnet18,
            modelName: "resnet18", configuration: config, loadModel: TestModels.load)
    }

    func testRecoverableErrorsAreRetriedAndFramesResume() {
        let lost = ScriptedError(isRecoverable: true)
        let source = ScriptedFailingSource(
            Array(repeating: .frame, count: 3) + Array(repeating: .error(lost), count: 3)
                + Array(repeating: .frame, count: 4))
        let p = pipeline(source)
        var messages: [String] = []
        let lock = NSLock()
        p.render = { snap in
            lock.lock()
            if let m = snap.message { messages.append(m) }
            lock.unlock()
        }
        let done = expectation(description: "finished")
        var reason = ""
        p.onFinished = {
            reason = $0
            done.fulfill()
        }
        p.start()
        wait(for: [done], timeout: 60)
        p.waitUntilIdle()
        XCTAssertTrue(reason.contains("end of source"), reason)
        XCTAssertNil(p.failure)
        XCTAssertEqual(p.statistics.captured, 7, "all frames before and after the outage")
        XCTAssertEqual(p.statistics.processed, 7)
        XCTAssertEqual(p.snapshot().frame?.index, 6)
        lock.lock()
        XCTAssertTrue(
            messages.contains { $0.contains("camera lost, retrying") && $0.contains("ENODEV") }, "\(messages)")
        lock.unlock()
    }

    func testUnrecoverableErrorEndsTheRunAsAFailure() {
        let source = ScriptedFailingSource([.frame, .frame, .error(ScriptedError(isRecoverable: false)), .frame])
        let p = pipeline(source)
        let done = expectation(description: "finished")
        var reason = ""
        p.onFinished = {
            reason = $0
            done.fulfill()
        }
        p.start()
        wait(for: [done], timeout: 60)
        XCTAssertEqual(p.failure, "source scripted failed: device cannot capture")
        XCTAssertEqual(reason, p.failure)
        XCTAssertEqual(p.statistics.captured, 2)
        XCTAssertEqual(p.snapshot().frame?.index, 1, "the last frame stays on screen")
    }

    func testRetryBacksOffAndResets() {
        var retry = SourceRetry()
        XCTAssertNil(retry.failed(ScriptedError(isRecoverable: false), source: "cam"))
        XCTAssertNil(retry.failed(PipelineError("not a source error"), source: "cam"))
        let waits = (0..<7).map { _ in retry.failed(ScriptedError(isRecoverable: true), source: "/dev/video0")! }
        XCTAssertEqual(waits, [0.1, 0.2, 0.4, 0.8, 1.6, 2, 2])
        XCTAssertTrue(retry.message.hasPrefix("camera lost, retrying..."), retry.message)
        XCTAssertTrue(retry.message.contains("/dev/video0"))
        XCTAssertEqual(retry.succeeded(), "camera is back")
        XCTAssertNil(retry.succeeded())
        XCTAssertEqual(retry.failed(ScriptedError(isRecoverable: true), source: "cam"), 0.1)
    }
}

final class HeldFaceLogTests: XCTestCase {
    func testLogMarksHeldFaces() {
        var held = FaceReading(
            id: 3, box: FaceBox(x: 1, y: 2, width: 30, height: 30), probabilities: [0.25, 0.75],
            classes: ["sad", "happy"])
        let found = held
        held.held = true
        let line = PredictionJSON.faces([found, held], classes: ["sad", "happy"])
        XCTAssertEqual(line.components(separatedBy: "\"held\":true").count, 2, line)
        XCTAssertTrue(line.hasSuffix("\"held\":true}]"), line)
    }
}
