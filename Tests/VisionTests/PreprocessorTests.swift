// Preprocessing parity with PyTorch/torchvision (fixture from Training/make_preprocess_fixtures.py),
// plus the crop arithmetic and the gray conversion.

import Foundation
import XCTest

@testable import Vision

final class PreprocessorTests: XCTestCase {
    struct Manifest: Decodable {
        struct Case: Decodable {
            var name: String
            var frame: String?
            var ferFile: String?
            var ferPixelSum: Int?
            var box: [Int]
            var inputSize: Int
            var tensor: String
            var shape: [Int]

            enum CodingKeys: String, CodingKey {
                case name, frame, box, tensor, shape
                case ferFile = "fer_file"
                case ferPixelSum = "fer_pixel_sum"
                case inputSize = "input_size"
            }
        }
        var version: Int
        var mean: [Float]
        var std: [Float]
        var cases: [Case]
    }

    let fixtures = Bundle.module.resourcePath! + "/Fixtures/preprocess"

    func loadManifest() throws -> Manifest {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/manifest.json"))
        let m = try JSONDecoder().decode(Manifest.self, from: data)
        XCTAssertEqual(m.version, 1, "fixture version changed: update this test with the script")
        return m
    }

    func loadTensor(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
    }

    func check(_ c: Manifest.Case, frame: Frame, manifest m: Manifest) throws {
        let expected = try loadTensor(c.tensor)
        XCTAssertEqual(c.shape, [3, c.inputSize, c.inputSize])
        let pre = Preprocessor(inputSize: c.inputSize, mean: m.mean, std: m.std, margin: 0)
        // Two faces in one buffer: the second slot must hold the same tensor, the first stay untouched.
        var buffer = [Float](repeating: .nan, count: 2 * pre.floatsPerFace)
        let box = FaceBox(x: c.box[0], y: c.box[1], width: c.box[2], height: c.box[3])
        buffer.withUnsafeMutableBufferPointer { pre.write(frame, box: box, into: $0, batchIndex: 1) }
        XCTAssertTrue(buffer[0..<pre.floatsPerFace].allSatisfy { $0.isNaN }, "\(c.name): batch slot 0 was written")
        let got = Array(buffer[pre.floatsPerFace...])
        XCTAssertEqual(got.count, expected.count)
        var worst = 0.0
        var worstAt = 0
        for i in 0..<got.count where Double(abs(got[i] - expected[i])) > worst {
            worst = Double(abs(got[i] - expected[i]))
            worstAt = i
        }
        XCTAssertLessThan(
            worst, 1e-3,
            "\(c.name): largest difference \(worst) at \(worstAt) (ours \(got[worstAt]), torch \(expected[worstAt])); "
                + "first values ours \(got.prefix(4)), torch \(expected.prefix(4))"
        )
    }

    /// Demo-face crops in noise frames: the antialiased downscale to 48 and the upscale to 112.
    func testMatchesTorchvisionOnFrameCrops() throws {
        let m = try loadManifest()
        let cases = m.cases.filter { $0.frame != nil }
        XCTAssertGreaterThanOrEqual(cases.count, 3)
        for c in cases {
            let image = try OpenCV.readImage(fixtures + "/" + c.frame!, channels: 1)
            try check(
                c, frame: Frame(width: image.width, height: image.height, channels: 1, pixels: image.pixels),
                manifest: m)
        }
    }

    /// Real FER-2013 validation faces (read from $FER2013_DIR), whole and sub-cropped, 48 and 224.
    func testMatchesTorchvisionOnValidationFaces() throws {
        let fer = try fer2013Directory()
        let m = try loadManifest()
        let cases = m.cases.filter { $0.ferFile != nil }
        XCTAssertGreaterThanOrEqual(cases.count, 2)
        for c in cases {
            let image = try OpenCV.readImage(fer + "/" + c.ferFile!, channels: 1)
            let sum = image.pixels.reduce(0) { $0 + Int($1) }
            XCTAssertEqual(sum, c.ferPixelSum, "\(c.ferFile!) decodes differently in OpenCV and PIL")
            try check(
                c, frame: Frame(width: image.width, height: image.height, channels: 1, pixels: image.pixels),
                manifest: m)
        }
    }

    /// Frame.luma is OpenCV's cvtColor(BGR2GRAY), on a lattice through the whole colour cube.
    func testLumaMatchesOpenCV() throws {
        var bgr: [UInt8] = []
        for b in stride(from: 0, through: 255, by: 5) {
            for g in stride(from: 0, through: 255, by: 3) {
                for r in stride(from: 0, through: 255, by: 7) { bgr += [UInt8(b), UInt8(g), UInt8(r)] }
            }
        }
        let n = bgr.count / 3
        let gray = try OpenCV.bgrToGray(bgr, width: n, height: 1)
        var wrong: [String] = []
        for i in 0..<n where Frame.luma(b: bgr[3 * i], g: bgr[3 * i + 1], r: bgr[3 * i + 2]) != gray[i] {
            wrong.append("bgr(\(bgr[3 * i]),\(bgr[3 * i + 1]),\(bgr[3 * i + 2])): cv \(gray[i])")
        }
        XCTAssertTrue(wrong.isEmpty, "\(wrong.count) of \(n) colours differ, e.g. \(wrong.prefix(5))")
    }

    /// A BGR frame gives the same tensor as its gray version made by OpenCV's cvtColor.
    func testColourFrameUsesOpenCVGrayWeights() throws {
        let w = 64
        let h = 50
        let bgr = syntheticBackground(width: w, height: h, seed: 3)
        let gray = try OpenCV.bgrToGray(bgr, width: w, height: h)
        let pre = Preprocessor(inputSize: 48, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let box = FaceBox(x: 5, y: 4, width: 50, height: 40)
        let a = pre.tensor(Frame(width: w, height: h, channels: 3, pixels: bgr), box: box)
        let b = pre.tensor(Frame(width: w, height: h, channels: 1, pixels: gray), box: box)
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-6, "colour and gray frames give different tensors (largest difference \(worst))")
        // Gray replicated: the three channels are equal with equal mean/std.
        XCTAssertEqual(Array(a[0..<2304]), Array(a[2304..<4608]))
    }

    func testMarginGrowsAndClipsTheBox() {
        let pre = Preprocessor(inputSize: 48, mean: [0, 0, 0], std: [1, 1, 1], margin: 0.1)
        XCTAssertEqual(
            pre.cropBox(FaceBox(x: 100, y: 50, width: 100, height: 80), frameWidth: 640, frameHeight: 480),
            FaceBox(x: 90, y: 42, width: 120, height: 96))
        XCTAssertEqual(
            pre.cropBox(FaceBox(x: 5, y: 2, width: 100, height: 100), frameWidth: 100, frameHeight: 90),
            FaceBox(x: 0, y: 0, width: 100, height: 90))
    }

    /// A 48x48 face at input 48 is only scaled and normalised: no resampling blur.
    func testFortyEightIsIdentityResize() {
        var rng = SplitMix64(seed: 9)
        let pixels = (0..<(48 * 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let pre = Preprocessor(inputSize: 48, mean: [0, 0, 0], std: [1, 1, 1])
        let t = pre.tensor(
            Frame(width: 48, height: 48, channels: 1, pixels: pixels), box: FaceBox(x: 0, y: 0, width: 48, height: 48))
        for i in 0..<(48 * 48) { XCTAssertEqual(t[i], Float(pixels[i]) / 255, accuracy: 1e-6) }
    }
}
