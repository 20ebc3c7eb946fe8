// Calibrated probabilities (each view's logits over the model's temperature, times its class
// scale, plus its class bias; softmax; then the views' average), the ensemble (its members'
// probabilities averaged, one tensor for all), and the uncertain flag the screen uses.

import Engine
import Vision
import XCTest

@testable import Pipeline

final class CalibrationAndEnsembleTests: XCTestCase {
    func network(seed: UInt64, temperature: Float = 1, classScale: [Float]? = nil, classBias: [Float]? = nil)
        -> ResNet
    {
        let info = ModelInfo(
            arch: "resnet18", inputSize: 32, classes: ModelInfo.ferClasses, mean: [0.5, 0.5, 0.5],
            std: [0.25, 0.25, 0.25], temperature: temperature, classScale: classScale,
            classBias: classBias)
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

    func testClassScaleAndBiasMapEachViewsLogitsBeforeItsSoftmax() throws {
        let scale: [Float] = [0.9, 1.3, 0.85, 1.1, 0.9, 0.8, 1.15]
        let bias: [Float] = [0.4, -1.5, 0.3, -0.2, 0.1, 0.6, 0.3]
        let plain = network(seed: 5)
        let f = frame()
        let box = FaceBox(x: 8, y: 8, width: 48, height: 48)
        let reference = FaceClassifier(model: plain, margin: 0, mirrorAverage: true)
        var input = [Float](repeating: 0, count: reference.floatsPerFace)
        input.withUnsafeMutableBufferPointer { reference.write(f, boxes: [box], into: $0) }
        let logits = try input.withUnsafeBufferPointer { try plain.logits($0, batch: 2) }
        /// By hand: both views' logits / 0.8, times the scale, plus the bias; softmax; mean.
        func expected(_ s: [Float]?, _ b: [Float]?) -> [Float] {
            let p = softmax(logits.enumerated().map { $1 / 0.8 * (s?[$0 % 7] ?? 1) + (b?[$0 % 7] ?? 0) }, classes: 7)
            return (0..<7).map { (p[$0] + p[7 + $0]) / 2 }
        }
        let temperatureOnly = expected(nil, nil)
        for (s, b) in [(scale, nil), (nil, bias), (scale, bias)] as [([Float]?, [Float]?)] {
            let got = try FaceClassifier(
                model: network(seed: 5, temperature: 0.8, classScale: s, classBias: b), margin: 0, mirrorAverage: true
            ).classify(f, faces: [(id: 1, box: box)])[0].probabilities
            let want = expected(s, b)
            for k in 0..<7 {
                XCTAssertEqual(got[k], want[k], accuracy: 1e-5, "scale \(s != nil), bias \(b != nil), class \(k)")
            }
            let moved = (0..<7).map { abs(got[$0] - temperatureOnly[$0]) }.max()!
            XCTAssertGreaterThan(moved, 0.005, "scale \(s != nil), bias \(b != nil): the map must change the output")
        }
    }

    func testClassScaleAndBiasMetadataAreCheckedOnLoad() throws {
        let meta = ["input_size": "48"]
        let plain = try ModelInfo(metadata: meta, arch: "resnet18", classCount: 7)
        XCTAssertNil(plain.classBias)
        XCTAssertNil(plain.classScale)
        let read = try ModelInfo(
            metadata: meta.merging(["class_bias": "0.25, -1.5,0,0,0,0,1.25", "class_scale": "1,1,1,1.5,1,1,0.5"]) {
                $1
            }, arch: "resnet18", classCount: 7)
        XCTAssertEqual(read.classBias, [0.25, -1.5, 0, 0, 0, 0, 1.25])
        XCTAssertEqual(read.classScale, [1, 1, 1, 1.5, 1, 1, 0.5])
        let wrongForBoth = [
            "0.1,0.2,0.3", "1,1,1,1,1,1,1,1", "1,1,1,nan,1,1,1", "1,1,1,inf,1,1,1", "1,1,1,50,1,1,1",
            "1,1,abc,1,1,1,1", "1,1,,1,1,1,1", "",
        ]
        for (key, values) in [
            ("class_bias", wrongForBoth + ["0,0,0,-11,0,0,0"]),
            ("class_scale", wrongForBoth + ["1,1,1,0,1,1,1", "1,-1,1,1,1,1,1"]),
        ] {
            for value in values {
                XCTAssertThrowsError(try ModelInfo(metadata: [key: value], arch: "resnet18", classCount: 7)) { error in
                    XCTAssertTrue("\(error)".contains("\(key) '\(value)'"), "\(error)")
                    XCTAssertTrue("\(error)".contains("7 comma-separated numbers"), "\(error)")
                }
            }
        }
    }

    func testEnsembleAveragesItsMembersOnOneTensor() throws {
        // One member calibrated with a class scale and bias: the ensemble averages calibrated outputs.
        let mapped = network(
            seed: 2, temperature: 0.8, classScale: [0.9, 1.3, 0.85, 1.1, 0.9, 0.8, 1.15],
            classBias: [0.4, -1.5, 0.3, -0.2, 0.1, 0.6, 0.3])
        let members = [network(seed: 1), mapped, network(seed: 3)].map { ResNetExpressionModel($0) }
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
