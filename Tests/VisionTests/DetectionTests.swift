// Face detection on real FER-2013 faces composited into larger frames, and on the demo source.

import Foundation
import XCTest

@testable import Vision

final class DetectionTests: XCTestCase {
    /// 200 validation faces pasted at known places and sizes into 400x300 frames: the cascade
    /// must find at least 70% of them, each with a box overlapping the pasted square.
    func testDetectsCompositedValidationFaces() throws {
        let fer = try fer2013Directory()
        let val = (fer as NSString).appendingPathComponent("val")
        let detector = try CascadeDetector()
        var rng = SplitMix64(seed: 42)
        // Every class, files picked at random with a fixed seed.
        var files: [String] = []
        let classes = try FileManager.default.contentsOfDirectory(atPath: val).sorted()
        for c in classes {
            let dir = (val as NSString).appendingPathComponent(c)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }
                .sorted()
            files += names.shuffled(using: &rng).prefix(30).map { (dir as NSString).appendingPathComponent($0) }
        }
        files = Array(files.shuffled(using: &rng).prefix(200))
        XCTAssertEqual(files.count, 200)

        let w = 400
        let h = 300
        var found = 0
        var overlaps: [Double] = []
        var sideRatios: [Double] = []  // pasted side / detected side
        var missed: [String] = []
        for (n, path) in files.enumerated() {
            let face = try OpenCV.readImage(path, channels: 1)
            let side = Int.random(in: 60...180, using: &rng)
            let box = FaceBox(
                x: Int.random(in: 0...(w - side), using: &rng), y: Int.random(in: 0...(h - side), using: &rng),
                width: side, height: side)
            var pixels = syntheticBackground(width: w, height: h, seed: UInt64(n))
            try paste(gray: face.pixels, width: face.width, height: face.height, into: &pixels, frameWidth: w, box: box)
            let faces = try detector.detect(Frame(width: w, height: h, channels: 3, pixels: pixels))
            if let best = faces.max(by: { $0.iou(box) < $1.iou(box) }), best.iou(box) >= 0.4 {
                found += 1
                overlaps.append(best.iou(box))
                sideRatios.append(Double(box.width) / Double(best.width))
            } else {
                missed.append((path as NSString).lastPathComponent)
            }
        }
        let rate = Double(found) / Double(files.count)
        let meanIoU = overlaps.reduce(0, +) / Double(max(1, overlaps.count))
        let meanRatio = sideRatios.reduce(0, +) / Double(max(1, sideRatios.count))
        print(
            "detection: \(found)/\(files.count) = \(rate), "
                + "mean IoU of hits \(meanIoU), FER side / Haar side \(meanRatio)"
        )
        XCTAssertGreaterThanOrEqual(rate, 0.7, "found \(found) of 200 faces; first missed: \(missed.prefix(10))")
        XCTAssertGreaterThan(meanIoU, 0.5, "boxes found but loosely placed")
        // The Haar box is tighter than FER-2013's framing; the default margin makes up for it.
        XCTAssertEqual(
            1 + 2 * Preprocessor.ferMargin, meanRatio, accuracy: 0.08,
            "Preprocessor.ferMargin \(Preprocessor.ferMargin) no longer matches FER framing (side ratio \(meanRatio))")
    }
}
