// The demo source: frames the detector finds, with the expression shown as truth.

import XCTest

@testable import Vision

final class DemoSourceTests: XCTestCase {
    func testDetectorFindsTheDemoFace() throws {
        let demo = try DemoSource(
            assets: repositoryRoot + "/Assets/demo", width: 320, height: 240, fps: 2,
            realtime: false, frames: 28)
        let detector = try CascadeDetector()
        var found = 0
        var total = 0
        var truths = Set<String>()
        while let frame = try demo.nextFrame() {
            let t = Double(frame.index) / 2
            let expected = demo.faceBox(at: t)
            let faces = try detector.detect(frame)
            if faces.contains(where: { $0.iou(expected) >= 0.3 }) { found += 1 }
            total += 1
            truths.insert(try XCTUnwrap(frame.truth))
            XCTAssertEqual(frame.truth, demo.truth(at: t))
        }
        XCTAssertEqual(total, 28)
        // 28 frames at 2 fps span 14 s: four expressions at least at 3.5 s each.
        XCTAssertGreaterThanOrEqual(truths.count, 4, "demo showed only \(truths)")
        XCTAssertGreaterThanOrEqual(
            Double(found) / Double(total), 0.8, "detector found the demo face in \(found) of \(total) frames")
    }

    func testFramesAreDeterministicAndMove() throws {
        let a = try DemoSource(assets: repositoryRoot + "/Assets/demo", width: 320, height: 240, realtime: false)
        let b = try DemoSource(assets: repositoryRoot + "/Assets/demo", width: 320, height: 240, realtime: false)
        XCTAssertEqual(a.render(at: 1.3), b.render(at: 1.3))
        XCTAssertNotEqual(a.faceBox(at: 0), a.faceBox(at: 2))
        XCTAssertNotEqual(a.render(at: 0), a.render(at: 2))
        // Mid-morph the truth switches from one expression to the next.
        XCTAssertEqual(a.truth(at: 0.1), "angry")
        XCTAssertEqual(a.truth(at: a.hold + a.morph * 0.9), "disgust")
    }

    func testTooSmallAFrameIsAnErrorNamingTheSize() {
        XCTAssertThrowsError(
            try DemoSource(
                assets: repositoryRoot + "/Assets/demo", width: 100, height: 100,
                realtime: false)
        ) { error in
            XCTAssertTrue("\(error)".contains("100x100") && "\(error)".contains("--size"), "\(error)")
        }
        XCTAssertNoThrow(
            try DemoSource(assets: repositoryRoot + "/Assets/demo", width: 160, height: 120, realtime: false))
    }

    func testSeveralFacesEachKeepToTheirColumn() throws {
        let demo = try DemoSource(
            assets: repositoryRoot + "/Assets/demo", width: 960, height: 360, realtime: false,
            faces: 3)
        for t in stride(from: 0.0, through: 20, by: 1.3) {
            let boxes = (0..<3).map { demo.faceBox(at: t, face: $0) }
            for (k, b) in boxes.enumerated() {
                XCTAssertGreaterThanOrEqual(b.x, 320 * k - 2, "face \(k) at \(t) s left its column: \(b)")
                XCTAssertLessThanOrEqual(b.x + b.width, 320 * (k + 1) + 2, "face \(k) at \(t) s: \(b)")
            }
        }
        let frame = try XCTUnwrap(demo.nextFrame())
        let found = try CascadeDetector().detect(frame)
        let expected = (0..<3).map { demo.faceBox(at: 0, face: $0) }
        XCTAssertEqual(expected.filter { e in found.contains { $0.iou(e) >= 0.3 } }.count, 3, "\(found)")
        XCTAssertThrowsError(try DemoSource(assets: repositoryRoot + "/Assets/demo", faces: 9))
    }
}
