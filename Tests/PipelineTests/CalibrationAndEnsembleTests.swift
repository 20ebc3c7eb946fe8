// Calibrated probabilities (each view's logits over the model's temperature, then the views'
// average), the ensemble (its members' probabilities averaged, one tensor for all), and the
// uncertain flag the screen uses.

import Engine
import Vision
import XCTest

@testable import Pipeline

final class CalibrationAndEnsembleTests: XCTestCase {
    func network(seed: UInt64, temperature: Float = 1) -> ResNet {
        let info = ModelInfo(
            arch: "resnet18", inputSize: 32, classes: ModelInfo.ferClasses, mean: [0.5, 0.5, 0.5],
            std: [0.25, 0.25, 0.25], temperature: temperature)
        return ResNet(arch: "resnet18", info: info, seed: seed)
    }

    func frame() -> Frame {
        var p = [UInt8](repeating: 0, count: 64 * 64)
        for i in p.indices { p[i] = UInt8((i * 37 + i / 64 * 11) & 255) }
        return Frame(width: 64, height: 64, channels: 1, pixels: p)
    }

    func testTemperatureDividesEachViewsLogitsBeforeTheAverage() throws {
        let plain = network(seed: 5)
        let hot = network(seed: 5, temperature: 2.5)
        let f = frame()
        let box = FaceBox(x: 8, y: 8, width: 48, height: 48)
        let classifier = FaceClassifier(model: hot, margin: 0, mirrorAverage: true)
        let got = try classifier.classify(f, faces: [(id: 1, box: box)])[0].probabilities
        // By hand: both views through the plain network, logits / 2.5, softmax, mean.
        let reference = FaceClassifier(model: plain, margin: 0, mirrorAverage: true)
        var input = [Float](repeating: 0, count: reference.floatsPerFace)
        input.withUnsafeMutableBufferPointer { reference.write(f, boxes: [box], into: $0) }
        let logits = try input.withUnsafeBufferPointer { try plain.logits($0, batch: 2) }
        let probs = softmax(logits.map { $0 / 2.5 }, classes: 7)
        for k in 0..<7 { XCTAssertEqual(got[k], (probs[k] + probs[7 + k]) / 2, accuracy: 1e-5) }
        let plainTop = try FaceClassifier(model: plain, margin: 0, mirrorAverage: true)
            .classify(f, faces: [(id: 1, box: box)])[0]
        XCTAssertLessThan(got.max()!, plainTop.confidence, "a temperature above 1 softens the prediction")
    }

    func testTemperatureMetadataIsCheckedOnLoad() throws {
        let meta = ["input_size": "48"]
        XCTAssertEqual(try ModelInfo(metadata: meta, arch: "resnet18", classCount: 7).temperature, 1)
        XCTAssertEqual(
            try ModelInfo(
                metadata: meta.merging(["temperature": "1.35"]) { $1 }, arch: "resnet18",
                classCount: 7
            ).temperature, 1.35)
        for bad in ["0", "-1", "nan", "inf", "abc", "100"] {
            XCTAssertThrowsError(try ModelInfo(metadata: ["temperature": bad], arch: "resnet18", classCount: 7)) {
                error in
                XCTAssertTrue("\(error)".contains("temperature '\(bad)'"), "\(error)")
            }
        }
    }

    func testEnsembleAveragesItsMembersOnOneTensor() throws {
        let members = [network(seed: 1), network(seed: 2), network(seed: 3)].map { ResNetExpressionModel($0) }
        let ensemble = try EnsembleExpressionModel(members)
        XCTAssertTrue(ensemble.sharesInput)
        XCTAssertEqual(ensemble.info.arch, "ensemble")
        let boxes = [FaceBox(x: 0, y: 0, width: 40, height: 40), FaceBox(x: 20, y: 20, width: 44, height: 44)]
        let tensor = try ensemble.preprocess(frame(), boxes: boxes)
        let got = try ensemble.probabilities(tensor, batch: 2)
        let each = try members.map { try $0.probabilities(try $0.preprocess(frame(), boxes: boxes), batch: 2) }
        for face in 0..<2 {
            for k in 0..<7 {
                let mean = (each[0][face][k] + each[1][face][k] + each[2][face][k]) / 3
                XCTAssertEqual(got[face][k], mean, accuracy: 1e-6)
            }
        }
        // The still-image form agrees with the pipeline's.
        let still = try EnsembleClassifier(members.map(\.classifier))
        let readings = try still.classify(frame(), faces: [(id: 1, box: boxes[0]), (id: 2, box: boxes[1])])
        for k in 0..<7 { XCTAssertEqual(readings[1].probabilities[k], got[1][k], accuracy: 1e-6) }
    }

    func testUncertainBelowTheThreshold() {
        let classes = ModelInfo.ferClasses
        let low = FaceReading(
            id: 1, box: FaceBox(x: 0, y: 0, width: 1, height: 1),
            probabilities: [0.05, 0.02, 0.34, 0.1, 0.12, 0.31, 0.06], classes: classes)
        XCTAssertTrue(low.isUncertain)
        XCTAssertEqual(low.topTwo(classes).map(\.name), ["fear", "sad"])
        let high = FaceReading(
            id: 1, box: FaceBox(x: 0, y: 0, width: 1, height: 1),
            probabilities: [0.01, 0.01, 0.02, 0.9, 0.02, 0.02, 0.02], classes: classes)
        XCTAssertFalse(high.isUncertain)
    }
}
