// fertui's evaluation figures against scikit-learn's on a seeded fixture.

import Foundation
import XCTest

@testable import Pipeline

final class ClassificationReportTests: XCTestCase {
    let classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]

    func testMatchesScikitLearn() {
        let report = ClassificationReport(classes: classes, labels: MetricsFixture.labels, probs: MetricsFixture.probs)
        XCTAssertEqual(report.images, MetricsFixture.labels.count)
        XCTAssertEqual(report.accuracy, MetricsFixture.accuracy, accuracy: 1e-12)
        XCTAssertEqual(report.weightedPrecision, MetricsFixture.weightedPrecision, accuracy: 1e-12)
        XCTAssertEqual(report.weightedRecall, MetricsFixture.weightedRecall, accuracy: 1e-12)
        XCTAssertEqual(report.weightedF1, MetricsFixture.weightedF1, accuracy: 1e-12)
        XCTAssertEqual(report.confusion, MetricsFixture.confusion)
        for (c, expected) in MetricsFixture.auc.enumerated() {
            if expected.isNaN {
                XCTAssertTrue(report.perClass[c].auc.isNaN, "class \(classes[c]) has no examples: AUC undefined")
            } else {
                XCTAssertEqual(report.perClass[c].auc, expected, accuracy: 1e-9, "AUC of \(classes[c])")
            }
        }
        let defined = MetricsFixture.auc.filter { !$0.isNaN }
        XCTAssertEqual(report.meanAUC, defined.reduce(0, +) / Double(defined.count), accuracy: 1e-9)
        XCTAssertEqual(report.ece, MetricsFixture.ece, accuracy: 1e-9)
        XCTAssertEqual(MetricsFixture.version, 2, "run Training/make_metrics_fixture.py")
    }

    func testCalibrationErrorIsTheGapBetweenConfidenceAndAccuracy() {
        // Four images of "happy" at top probability 0.9, two of them right: one bin, gap 0.4.
        // The miss (no face) sits at confidence 0 and is wrong: gap 0, but it counts in the share.
        var probs = [Float](repeating: 0, count: 35)
        for i in 0..<4 { probs[i * 7 + (i < 2 ? 3 : 5)] = 0.9 }
        let report = ClassificationReport(classes: classes, labels: [3, 3, 3, 3, 3], probs: probs)
        XCTAssertEqual(report.ece, 4.0 / 5.0 * 0.4, accuracy: 1e-6)
    }

    func testRowWithoutFaceIsAMiss() {
        // Two images of "happy"; the second had no face (all-zero row): accuracy 1/2, recall 1/2.
        var probs = [Float](repeating: 0, count: 14)
        probs[3] = 1
        let report = ClassificationReport(classes: classes, labels: [3, 3], probs: probs)
        XCTAssertEqual(report.accuracy, 0.5)
        XCTAssertEqual(report.perClass[3].recall, 0.5)
        XCTAssertEqual(report.confusion[3].reduce(0, +), 1)
    }

    func testJSONHasEveryKeyOfEvaluatePy() throws {
        let report = ClassificationReport(classes: classes, labels: MetricsFixture.labels, probs: MetricsFixture.probs)
        let object = try JSONSerialization.jsonObject(with: Data(report.json(model: "resnet18").utf8)) as! [String: Any]
        XCTAssertEqual(
            Set(object.keys), ["model", "images", "accuracy", "weighted", "macro_auc", "ece", "per_class", "confusion"])
        let perClass = object["per_class"] as! [String: [String: Any]]
        XCTAssertEqual(Set(perClass.keys), Set(classes))
        XCTAssertEqual(perClass["happy"]!["support"] as? Int, MetricsFixture.labels.filter { $0 == 3 }.count)
    }
}
