// The monitor's state changes as plain functions, no threads: freeze, face selection, smoothing,
// accuracy, and the steps of a model switch.

import Vision
import XCTest

@testable import Pipeline

final class MonitorStateTests: XCTestCase {
    let classes = ["happy", "sad"]

    func frame(_ index: Int, truth: String? = nil) -> Frame {
        Frame(width: 8, height: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 64), index: index, truth: truth)
    }

    func reading(_ id: Int, side: Int, label: String) -> FaceReading {
        FaceReading(
            id: id, box: FaceBox(x: 0, y: 0, width: side, height: side), label: label, confidence: 1,
            probabilities: label == "happy" ? [1, 0] : [0, 1])
    }

    func state() -> MonitorState {
        MonitorState(modelName: "resnet18", smoothing: true, smoothingWindow: 2)
    }

    func testFreezeHoldsThePredictionOrTheBareFrameAndResumes() {
        var s = state()
        XCTAssertFalse(s.toggleFreeze(), "nothing to freeze before the first frame")
        s.receive(frame(0))
        XCTAssertTrue(s.toggleFreeze())
        XCTAssertEqual(s.frozen?.frame.index, 0)
        XCTAssertEqual(s.frozen?.faces.count, 0, "a frame with no prediction yet is frozen without faces")
        XCTAssertFalse(s.toggleFreeze())

        s.record(Prediction(frame: frame(1), faces: [reading(4, side: 3, label: "sad")], model: "resnet18"))
        XCTAssertTrue(s.toggleFreeze())
        s.record(Prediction(frame: frame(2), faces: [], model: "resnet18"))
        XCTAssertEqual(s.shown?.frame.index, 1, "newer predictions do not replace the frozen one")
        XCTAssertFalse(s.toggleFreeze())
        XCTAssertEqual(s.shown?.frame.index, 2)
    }

    func testSelectNextFaceCyclesByIdBothWays() {
        var s = state()
        s.selectNextFace()
        XCTAssertNil(s.selectedFaceID, "no face shown: nothing to select")
        let faces = [
            reading(7, side: 2, label: "sad"), reading(3, side: 5, label: "happy"),
            reading(5, side: 1, label: "sad"),
        ]
        s.record(Prediction(frame: frame(0), faces: faces, model: "resnet18"))
        s.selectNextFace()
        XCTAssertEqual(s.selectedFaceID, 3, "the lowest id first")
        s.selectNextFace()
        XCTAssertEqual(s.selectedFaceID, 5)
        s.selectNextFace()
        s.selectNextFace()
        XCTAssertEqual(s.selectedFaceID, 3, "wraps around after the highest id")
        s.selectNextFace(backwards: true)
        XCTAssertEqual(s.selectedFaceID, 7)
        s.record(Prediction(frame: frame(1), faces: [reading(9, side: 2, label: "sad")], model: "resnet18"))
        s.selectNextFace(backwards: true)
        XCTAssertEqual(s.selectedFaceID, 9, "a face no longer shown: start from the first")
    }

    func testSmoothingTogglesAndChangesTheReadings() {
        var s = state()
        let face = [TrackedFace(id: 1, box: FaceBox(x: 0, y: 0, width: 4, height: 4))]
        XCTAssertEqual(s.readings(faces: face, probabilities: [[1, 0]], classes: classes)[0].probabilities, [1, 0])
        XCTAssertEqual(
            s.readings(faces: face, probabilities: [[0, 1]], classes: classes)[0].probabilities, [0.5, 0.5])
        XCTAssertFalse(s.toggleSmoothing())
        XCTAssertEqual(s.message, "smoothing off")
        let raw = s.readings(faces: face, probabilities: [[0.2, 0.8]], classes: classes)[0]
        XCTAssertEqual(raw.probabilities, [0.2, 0.8])
        XCTAssertEqual(raw.label, "sad")
        XCTAssertTrue(s.toggleSmoothing())
        XCTAssertEqual(s.message, "smoothing on")
        _ = s.readings(faces: [], probabilities: [], classes: classes)
        XCTAssertEqual(s.smoother.trackedIDs, [], "faces no longer tracked lose their history")
    }

    func testAHeldFaceKeepsTheProbabilitiesItHadWhenLastFound() {
        var state = MonitorState(modelName: "resnet18", smoothing: false, smoothingWindow: 1)
        let box = FaceBox(x: 0, y: 0, width: 10, height: 10)
        let seen: [Float] = [0.1, 0.1, 0.1, 0.5, 0.1, 0.05, 0.05]
        let junk: [Float] = [0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]
        _ = state.readings(faces: [TrackedFace(id: 4, box: box)], probabilities: [seen], classes: TestModels.classes)
        let held = state.readings(
            faces: [TrackedFace(id: 4, box: box, held: true)], probabilities: [junk],
            classes: TestModels.classes)
        XCTAssertEqual(held[0].probabilities, seen)
        XCTAssertTrue(held[0].held)
        XCTAssertEqual(held[0].label, "happy")
        // Found again: its new reading counts.
        let again = state.readings(
            faces: [TrackedFace(id: 4, box: box)], probabilities: [junk], classes: TestModels.classes)
        XCTAssertEqual(again[0].label, "angry")
    }

    func testAccuracyScoresTheLargestFaceAgainstTheTruth() {
        var s = state()
        s.record(Prediction(frame: frame(0), faces: [reading(1, side: 2, label: "happy")], model: "resnet18"))
        XCTAssertNil(s.accuracy, "unlabelled frames are not scored")
        let faces = [reading(1, side: 2, label: "sad"), reading(2, side: 9, label: "happy")]
        s.record(Prediction(frame: frame(1, truth: "happy"), faces: faces, model: "resnet18"))
        s.record(Prediction(frame: frame(2, truth: "sad"), faces: faces, model: "resnet18"))
        s.record(Prediction(frame: frame(3, truth: "sad"), faces: [], model: "resnet18"))
        XCTAssertEqual(s.accuracy, RunningAccuracy(correct: 1, total: 3))
        XCTAssertEqual(s.prediction?.frame.index, 3)
    }

    func testModelSwitchSteps() {
        var s = state()
        XCTAssertFalse(s.beginLoading("resnet18"), "the model in use is not loaded again")
        XCTAssertTrue(s.beginLoading("resnet34"))
        XCTAssertEqual(s.loadingModel, "resnet34")
        XCTAssertEqual(s.message, "loading resnet34...")
        XCTAssertFalse(s.beginLoading("resnet50"), "one load at a time")
        _ = s.readings(
            faces: [TrackedFace(id: 1, box: FaceBox(x: 0, y: 0, width: 4, height: 4))], probabilities: [[1, 0]],
            classes: classes)
        s.finishLoading("resnet34", milliseconds: 120)
        XCTAssertEqual(s.modelName, "resnet34")
        XCTAssertNil(s.loadingModel)
        XCTAssertEqual(s.message, "switched to resnet34 (loaded in 120 ms)")
        XCTAssertEqual(s.smoother.trackedIDs, [], "the old model's history is dropped")

        XCTAssertTrue(s.beginLoading("resnet50"))
        s.failLoading("resnet50", error: PipelineError("no such file"))
        XCTAssertEqual(s.modelName, "resnet34")
        XCTAssertNil(s.loadingModel)
        XCTAssertEqual(s.message, "could not load resnet50: no such file")
    }
}
