// `fertui eval`'s loop: every image of a class-folder dataset classified and scored against its
// folder's class; a folder the model has no class for is an error that names it.

import Engine
import Foundation
import Vision
import XCTest

@testable import Pipeline

final class DatasetEvaluationTests: XCTestCase {
    func writeDataset(_ classes: [String]) throws -> String {
        let dir = temporaryDirectory("eval")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        for (c, name) in classes.enumerated() {
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            for i in 0..<2 {
                let pixels = (0..<(48 * 48 * 3)).map { UInt8(($0 * (c + 2) + i * 31) % 256) }
                try OpenCV.writeImage(dir + "/\(name)/\(i).png", pixels: pixels, width: 48, height: 48, channels: 3)
            }
        }
        return dir
    }

    func testEveryImageIsClassifiedAndScoredAgainstItsFolder() throws {
        let dir = try writeDataset(["happy", "sad"])
        let classifier = FaceClassifier(model: FaceClassifierTests.model, margin: 0, mirrorAverage: false)
        var progress: [Int] = []
        let source = try LabelledFolderSource(folder: dir, shuffleSeed: nil)
        let report = try ClassificationReport.evaluate(classifier, on: source, detector: nil) { done, total in
            XCTAssertEqual(total, 4)
            progress.append(done)
        }
        XCTAssertEqual(progress, [1, 2, 3, 4])
        XCTAssertEqual(report.images, 4)
        // The same images one by one: the report's accuracy is their count of correct labels.
        let again = try LabelledFolderSource(folder: dir, shuffleSeed: nil)
        var correct = 0
        while let frame = try again.nextFrame() {
            if try classifier.classifyWhole(frame).label == frame.truth { correct += 1 }
        }
        XCTAssertEqual(report.accuracy, Double(correct) / 4, accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.support), [0, 0, 0, 2, 0, 2, 0])
    }

    func testAFolderThatIsNoClassOfTheModelIsNamed() throws {
        let dir = try writeDataset(["happy", "bored"])
        let classifier = FaceClassifier(model: FaceClassifierTests.model, margin: 0, mirrorAverage: false)
        let source = try LabelledFolderSource(folder: dir, shuffleSeed: nil)
        XCTAssertThrowsError(try ClassificationReport.evaluate(classifier, on: source, detector: nil)) { error in
            XCTAssertTrue("\(error)".contains("bored"), "\(error)")
        }
    }
}
