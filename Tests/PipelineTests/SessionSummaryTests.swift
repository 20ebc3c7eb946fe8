// The session's history and summary: time tracked per face with long gaps left out, time per
// dominant expression, mean probabilities, the timeline window, and the JSON document written
// atomically (and refused early when its folder is missing).

import Foundation
import Vision
import XCTest

@testable import Pipeline

final class SessionSummaryTests: XCTestCase {
    let classes = TestModels.classes

    func reading(_ id: Int, top: Int, _ p: Float = 0.7) -> FaceReading {
        var v = [Float](repeating: (1 - p) / 6, count: 7)
        v[top] = p
        return FaceReading(id: id, box: FaceBox(x: 0, y: 0, width: 10, height: 10), probabilities: v, classes: classes)
    }

    func testHistoryCountsTrackedTimeDominantSharesAndMeans() throws {
        var history = ExpressionHistory(timelineSeconds: 2)
        // Face 1: happy for 1 s (every 0.1 s), away 5 s, then sad for 0.5 s. Face 2 seen once.
        for i in 0...10 { history.record(time: Double(i) * 0.1, faces: [reading(1, top: 3)]) }
        history.record(time: 6.0, faces: [reading(1, top: 5), reading(2, top: 4)])
        for i in 1...5 { history.record(time: 6.0 + Double(i) * 0.1, faces: [reading(1, top: 5)]) }
        let face = try XCTUnwrap(history.faces[1])
        // 1.0 s of happy, the 5 s gap counted as maxStep (1 s, credited to sad), then 0.5 s of sad.
        XCTAssertEqual(face.secondsTracked, 2.5, accuracy: 1e-9)
        XCTAssertEqual(face.dominantSeconds[3], 1.0, accuracy: 1e-9)
        XCTAssertEqual(face.dominantSeconds[5], 1.5, accuracy: 1e-9)
        XCTAssertEqual(face.frames, 17)
        XCTAssertEqual(face.meanProbabilities[3], (11 * 0.7 + 6 * 0.05) / 17, accuracy: 1e-6)
        XCTAssertEqual(face.recent.first?.time ?? 0, 6.0, accuracy: 1e-9, "the timeline keeps the last 2 s")
        XCTAssertEqual(history.faces[2]?.frames, 1)
        XCTAssertEqual(history.faces[2]?.secondsTracked, 0)

        let summary = SessionSummary(
            source: "clip.mp4", model: "resnet18", classes: classes, seconds: 7,
            framesClassified: 17, history: history,
            accuracy: RunningAccuracy(correct: 3, total: 4), skippedFiles: 1, reason: "key")
        let text = summary.text()
        XCTAssertTrue(text.hasPrefix("fertui: key; 17 frames classified in 7.00 s"), text)
        XCTAssertTrue(text.contains("2 faces seen") && text.contains("accuracy 3/4 = 75.0%"), text)
        XCTAssertTrue(text.contains("face #1: 2.5 s tracked, 17 frames; sad 60%, happy 40%"), text)
        XCTAssertFalse(text.contains("face #2:"), "a face seen in one frame is counted, not listed\n\(text)")
        XCTAssertTrue(text.contains("(1 more face in --summary, 1 seen in fewer than 3 frames)"), text)

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(summary.json().utf8)) as? [String: Any])
        XCTAssertEqual(json["frames"] as? Int, 17)
        XCTAssertEqual(json["skipped_files"] as? Int, 1)
        let faces = try XCTUnwrap(json["faces"] as? [[String: Any]])
        XCTAssertEqual(faces.map { $0["id"] as? Int }, [1, 2])
        XCTAssertEqual((faces[0]["dominant_share"] as? [String: Double])?["sad"] ?? 0, 0.6, accuracy: 1e-4)
    }

    func testSummaryIsWrittenAtomicallyAndAMissingFolderIsRefusedEarly() throws {
        let dir = temporaryDirectory("summary")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = SessionSummary(
            source: "demo", model: "m", classes: classes, seconds: 1, framesClassified: 0,
            history: ExpressionHistory(), accuracy: nil, skippedFiles: 0, reason: "key")
        try SessionSummary.checkWritable(dir + "/s.json")
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/s.json"))
        try summary.write(to: dir + "/s.json")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["s.json"], "no temporary file left")
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/s.json"))))
        XCTAssertThrowsError(try SessionSummary.checkWritable(dir + "/missing/s.json")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try SessionSummary.checkWritable(dir)) { error in
            XCTAssertTrue("\(error)".contains("is a folder"), "\(error)")
        }
    }

    func testThePipelineRecordsHistoryAndFreezesTheTimeline() throws {
        var config = PipelineConfiguration()
        config.backpressure = .block
        let pipeline = MonitorPipeline(
            source: SyntheticSource(count: 6), detector: CentredFaceDetector(),
            model: TestModels.resnet18, modelName: "resnet18", configuration: config,
            loadModel: TestModels.load)
        let finished = expectation(description: "finished")
        pipeline.onFinished = { _ in finished.fulfill() }
        pipeline.start()
        wait(for: [finished], timeout: 60)
        pipeline.stop(waiting: 5)
        let summary = pipeline.sessionSummary(reason: "end")
        XCTAssertEqual(summary.framesClassified, 6)
        XCTAssertEqual(summary.faces.count, 1)
        XCTAssertEqual(summary.faces.first?.frames, 6)
        let snap = pipeline.snapshot()
        XCTAssertEqual(snap.timeline.count, 6)
        XCTAssertEqual(snap.timelineFaceID, summary.faces.first?.id)
    }
}
