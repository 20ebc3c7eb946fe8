// FaceClassifier: all faces of a frame in one batch give what Preprocessor + ResNet + softmax
// give for each face alone; mirror averaging averages with the flipped crop.

import Engine
import Vision
import XCTest

@testable import Pipeline

final class FaceClassifierTests: XCTestCase {
    /// One seeded model for both tests (building it dominates a debug run). Input 32, the
    /// engine's smallest, keeps the forward quick; 48 -> 32 is resized.
    static let model: ResNet = {
        let info = ModelInfo(
            arch: "resnet18", inputSize: 32, classes: ModelInfo.ferClasses,
            mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        return ResNet(arch: "resnet18", info: info, seed: 11)
    }()

    func makeModel() -> ResNet { FaceClassifierTests.model }

    /// A 200x120 BGR frame with three different textured patches standing in for faces.
    func makeFrame() -> (Frame, [(id: Int, box: FaceBox)]) {
        let w = 200
        let h = 120
        var p = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                p[i] = UInt8((x * 7 + y * 3) & 255)
                p[i + 1] = UInt8((x * y) & 255)
                p[i + 2] = UInt8((x ^ y) & 255)
            }
        }
        let faces = [
            (id: 4, box: FaceBox(x: 10, y: 10, width: 60, height: 60)),
            (id: 9, box: FaceBox(x: 90, y: 20, width: 50, height: 70)),
            (id: 2, box: FaceBox(x: 150, y: 60, width: 48, height: 48)),
        ]
        return (Frame(width: w, height: h, channels: 3, pixels: p), faces)
    }

    func testBatchEqualsEachFaceByHand() throws {
        let model = makeModel()
        let classifier = FaceClassifier(model: model, margin: 0, mirrorAverage: false)
        let (frame, faces) = makeFrame()
        let all = try classifier.classify(frame, faces: faces)
        XCTAssertEqual(all.map(\.id), [4, 9, 2])
        XCTAssertEqual(all.map(\.box), faces.map(\.box))
        // The middle face by hand: its own tensor through the model alone (so a wrong batch
        // offset or a face mixed with its neighbours shows).
        let pre = Preprocessor(inputSize: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let byHand = softmax(try model.logits(pre.tensor(frame, box: faces[1].box), batch: 1), classes: 7)
        for k in 0..<7 {
            XCTAssertEqual(all[1].probabilities[k], byHand[k], accuracy: 1e-4, "class \(k): in the batch vs by hand")
        }
        for n in 0..<faces.count {
            XCTAssertEqual(all[n].probabilities.reduce(0, +), 1, accuracy: 1e-4)
            let best = all[n].probabilities.indices.max { all[n].probabilities[$0] < all[n].probabilities[$1] }!
            XCTAssertEqual(all[n].label, ModelInfo.ferClasses[best])
            XCTAssertEqual(all[n].confidence, all[n].probabilities[best])
        }
        // The faces differ, so the predictions must too (a broken batch offset would repeat one).
        XCTAssertNotEqual(all[0].probabilities, all[1].probabilities)
        XCTAssertTrue(try classifier.classify(frame, faces: []).isEmpty)
    }

    /// With mirror averaging, a face's probabilities are the mean of it and its mirror image's.
    func testMirrorAverage() throws {
        let model = makeModel()
        let (frame, faces) = makeFrame()
        let both = try FaceClassifier(model: model, margin: 0, mirrorAverage: true).classify(frame, faces: [faces[0]])[
            0]
        // The mirror image by hand: the crop flipped left-right in a new frame.
        let b = faces[0].box
        var flipped = [UInt8](repeating: 0, count: b.width * b.height * 3)
        for y in 0..<b.height {
            for x in 0..<b.width {
                for c in 0..<3 {
                    flipped[(y * b.width + x) * 3 + c] =
                        frame.pixels[((b.y + y) * frame.width + b.x + b.width - 1 - x) * 3 + c]
                }
            }
        }
        let plain = FaceClassifier(model: model, margin: 0, mirrorAverage: false)
        let p = try plain.classify(frame, faces: [faces[0]])[0].probabilities
        let q = try plain.classifyWhole(Frame(width: b.width, height: b.height, channels: 3, pixels: flipped))
            .probabilities
        for k in 0..<7 { XCTAssertEqual(both.probabilities[k], (p[k] + q[k]) / 2, accuracy: 1e-4, "class \(k)") }
        XCTAssertNotEqual(p, q, "the test patch is symmetric, so it cannot tell a mirror from none")
    }

    /// Test-time views: a view that changes nothing leaves the probabilities as they were; real
    /// views average each face's views (the middle face by hand), batch offsets kept apart.
    func testExtraViewsAverageEachFacesViews() throws {
        let model = makeModel()
        let (frame, faces) = makeFrame()
        let plain = try FaceClassifier(model: model, margin: 0, mirrorAverage: true).classify(frame, faces: faces)
        let still = try FaceClassifier(
            model: model, margin: 0, mirrorAverage: true, extraViews: [.shift(dx: 0, dy: 0), .zoom(0)]
        ).classify(frame, faces: faces)
        for n in faces.indices {
            for k in 0..<7 { XCTAssertEqual(still[n].probabilities[k], plain[n].probabilities[k], accuracy: 1e-5) }
        }
        let views: [FaceClassifier.TestView] = [.shift(dx: 3, dy: -3), .zoom(4)]
        let classifier = FaceClassifier(model: model, margin: 0, mirrorAverage: false, extraViews: views)
        XCTAssertEqual(classifier.viewCount, 3)
        let out = try classifier.classify(frame, faces: faces)
        // By hand for the middle face: each view's crop alone through the model, then averaged.
        let pre = Preprocessor(inputSize: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let crop = pre.tensor(frame, box: faces[1].box)
        let side = 32
        var sum = [Float](repeating: 0, count: 7)
        for view in [nil] + views.map { $0 } {
            var image = crop + crop
            image.withUnsafeMutableBufferPointer {
                FaceClassifier.render(view, mirrored: false, side: side, from: $0, at: 0, to: crop.count)
            }
            let probs = softmax(try model.logits(Array(image[crop.count...]), batch: 1), classes: 7)
            for k in 0..<7 { sum[k] += probs[k] / 3 }
        }
        for k in 0..<7 { XCTAssertEqual(out[1].probabilities[k], sum[k], accuracy: 1e-4, "class \(k)") }
        XCTAssertNotEqual(out[1].probabilities, plain[1].probabilities)
    }

    func testAModelRunsTheViewsItsFileNamesUnlessToldOtherwise() throws {
        var info = FaceClassifierTests.model.info
        XCTAssertEqual(FaceClassifier(model: makeModel()).extraViews, [], "no test_views: the mirror alone")
        info.metadata["test_views"] = "shifts"
        let named = ResNet(arch: "resnet18", info: info, seed: 11)
        let shifts = FaceClassifier.TestView.set(named: "shifts")!
        XCTAssertEqual(FaceClassifier(model: named).extraViews, shifts)
        XCTAssertEqual(FaceClassifier(model: named, extraViews: []).extraViews, [], "--views mirror overrides it")
        XCTAssertEqual(ResNetExpressionModel(named).classifier.extraViews, shifts)
        XCTAssertEqual(
            ModelInfo.testViewSets, FaceClassifier.TestView.sets.map(\.name),
            "the loader accepts exactly the sets the pipeline has")
    }

    /// The views' pixels: a shift repeats the border, a zoom enlarges the centre (bilinear, as
    /// PyTorch's resize with align_corners false), a mirror reverses rows.
    func testViewPixels() {
        let side = 48
        // Plane 0 holds x + 100 y; a linear picture stays linear under bilinear resampling.
        var buffer = [Float](repeating: 0, count: 2 * 3 * side * side)
        for y in 0..<side { for x in 0..<side { buffer[y * side + x] = Float(x + 100 * y) } }
        let plane = 3 * side * side
        func at(_ x: Int, _ y: Int) -> Float { buffer[plane + y * side + x] }
        buffer.withUnsafeMutableBufferPointer {
            FaceClassifier.render(.shift(dx: 2, dy: -1), mirrored: false, side: side, from: $0, at: 0, to: plane)
        }
        XCTAssertEqual(at(10, 10), Float(8 + 100 * 11))  // content moved right 2, up 1
        XCTAssertEqual(at(0, 10), Float(0 + 100 * 11))  // left border repeated
        XCTAssertEqual(at(10, 47), Float(8 + 100 * 47))  // bottom border repeated
        buffer.withUnsafeMutableBufferPointer {
            FaceClassifier.render(.zoom(2), mirrored: true, side: side, from: $0, at: 0, to: plane)
        }
        // Output x samples input 2 + (x + 0.5) * 44 / 48 - 0.5; mirrored, column 47 - x.
        let f = { (o: Int) -> Float in 2 + (Float(o) + 0.5) * 44 / 48 - 0.5 }
        XCTAssertEqual(at(47 - 20, 30), f(20) + 100 * f(30), accuracy: 1e-3)
        XCTAssertEqual(at(47 - 0, 0), 2 + 100 * 2, accuracy: 1e-3)  // clamped at the cut edge
    }
}
