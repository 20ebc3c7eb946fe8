// Video-file, image, folder and labelled-folder sources reading real files written with OpenCV,
// and `--source` parsing.

import Foundation
import XCTest

@testable import Vision

final class SourceTests: XCTestCase {
    /// A frame whose brightness encodes its number, so order and identity can be read back.
    func numberedFrame(_ n: Int, width: Int, height: Int) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                p[i] = UInt8(20 + 20 * n)  // blue carries the number
                p[i + 1] = UInt8((x * 255) / width)
                p[i + 2] = 128
            }
        }
        return p
    }

    func meanBlue(_ f: Frame) -> Double {
        var s = 0
        for i in stride(from: 0, to: f.pixels.count, by: 3) { s += Int(f.pixels[i]) }
        return Double(s) / Double(f.width * f.height)
    }

    func writeVideo(_ path: String, frames: Int, fps: Double, width: Int = 160, height: Int = 120) throws {
        let writer = try OpenCV.VideoWriter(path: path, fourcc: "MJPG", fps: fps, width: width, height: height)
        for n in 0..<frames { try writer.write(numberedFrame(n, width: width, height: height)) }
        writer.close()
    }

    func testVideoFileDeliversEveryFrameInOrder() throws {
        let path = try scratchFolder(self) + "/clip.avi"
        try writeVideo(path, frames: 8, fps: 25)
        let source = try VideoFileSource(path: path, realtime: false)
        XCTAssertEqual(source.nominalFPS ?? 0, 25, accuracy: 0.01)
        XCTAssertEqual(source.width, 160)
        XCTAssertEqual(source.height, 120)
        var frames: [Frame] = []
        while let f = try source.nextFrame() { frames.append(f) }
        XCTAssertEqual(frames.count, 8)
        for (n, f) in frames.enumerated() {
            XCTAssertEqual(f.index, n)
            XCTAssertEqual(f.channels, 3)
            XCTAssertEqual(meanBlue(f), Double(20 + 20 * n), accuracy: 4, "frame \(n) decoded out of order or wrong")
        }
        XCTAssertNil(try source.nextFrame(), "a finished video keeps returning nil")
    }

    func testVideoFileIsPacedAtItsRateAndLoops() throws {
        let path = try scratchFolder(self) + "/clip.avi"
        try writeVideo(path, frames: 5, fps: 20)
        let source = try VideoFileSource(path: path, realtime: true, loop: true)
        var frames: [Frame] = []
        for _ in 0..<12 { frames.append(try XCTUnwrap(source.nextFrame())) }
        // 5 frames at 20 fps span 0.2 s between first and last.
        let span = frames[4].timestamp - frames[0].timestamp
        XCTAssertGreaterThanOrEqual(span, 0.19, "frames came faster than the file's 20 fps")
        // After the fifth frame it starts again from the first.
        XCTAssertEqual(meanBlue(frames[5]), meanBlue(frames[0]), accuracy: 2)
        XCTAssertEqual(meanBlue(frames[11]), meanBlue(frames[1]), accuracy: 2)
        XCTAssertEqual(frames[11].index, 11)
    }

    func testVideoFileErrorsNameThePath() throws {
        XCTAssertThrowsError(try VideoFileSource(path: "/nonexistent/clip.mp4")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/clip.mp4"), "\(error)")
        }
        let junk = try scratchFolder(self) + "/junk.mp4"
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try VideoFileSource(path: junk)) { error in
            XCTAssertEqual((error as? OpenCVError)?.kind, .undecodable, "\(error)")
        }
    }

    func testImageFolderPlaysInNameOrder() throws {
        let dir = try scratchFolder(self)
        // Written out of order; names decide the order, numbers compared as numbers.
        for (name, n) in [("frame_10.png", 3), ("frame_1.png", 1), ("frame_9.jpg", 2)] {
            try OpenCV.writeImage(
                dir + "/" + name, pixels: numberedFrame(n, width: 64, height: 48), width: 64, height: 48, channels: 3)
        }
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/readme.txt"))
        let source = try ImageFolderSource(folder: dir)
        XCTAssertEqual(
            source.paths.map { ($0 as NSString).lastPathComponent }, ["frame_1.png", "frame_9.jpg", "frame_10.png"])
        var blues: [Double] = []
        while let f = try source.nextFrame() {
            XCTAssertEqual(f.width, 64)
            XCTAssertNil(f.truth)
            blues.append(meanBlue(f))
        }
        XCTAssertEqual(blues.count, 3)
        for (got, n) in zip(blues, [1, 2, 3]) { XCTAssertEqual(got, Double(20 + 20 * n), accuracy: 3) }
    }

    func testUnreadableImagesAreSkippedAndCounted() throws {
        let dir = try scratchFolder(self)
        for (name, n) in [("a.png", 1), ("c.png", 3)] {
            try OpenCV.writeImage(
                dir + "/" + name, pixels: numberedFrame(n, width: 32, height: 32), width: 32, height: 32,
                channels: 3)
        }
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: dir + "/b.png"))
        let source = try ImageFolderSource(folder: dir)
        var blues: [Double] = []
        while let f = try source.nextFrame() { blues.append(meanBlue(f)) }
        XCTAssertEqual(blues.count, 2, "the replay goes on past the broken file")
        XCTAssertEqual(blues[1], Double(20 + 20 * 3), accuracy: 3)
        XCTAssertEqual(source.skipped.map { ($0.path as NSString).lastPathComponent }, ["b.png"])

        // Labelled: the broken file is passed over, every readable one still comes with its label.
        let labelled = try scratchFolder(self)
        for label in ["happy", "sad"] {
            try FileManager.default.createDirectory(atPath: labelled + "/" + label, withIntermediateDirectories: true)
            try OpenCV.writeImage(
                labelled + "/\(label)/0.png", pixels: numberedFrame(1, width: 16, height: 16), width: 16,
                height: 16, channels: 3)
            try Data("junk".utf8).write(to: URL(fileURLWithPath: labelled + "/\(label)/1.png"))
        }
        let replay = try LabelledFolderSource(folder: labelled)
        var truths: [String] = []
        while let f = try replay.nextFrame() { truths.append(try XCTUnwrap(f.truth)) }
        XCTAssertEqual(truths.sorted(), ["happy", "sad"])
        XCTAssertEqual(replay.skipped.count, 2)
    }

    func testAFolderOfOnlyBrokenImagesIsAnErrorNotALoop() throws {
        let dir = try scratchFolder(self)
        for name in ["a.png", "b.jpg"] { try Data("junk".utf8).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        let source = try ImageFolderSource(folder: dir, loop: true)
        XCTAssertThrowsError(try source.nextFrame()) { error in
            XCTAssertTrue("\(error)".contains("none of the 2 images"), "\(error)")
        }
    }

    func testSmallImagesAreRecognisedAsFaceCrops() throws {
        let crops = try scratchFolder(self)
        let photos = try scratchFolder(self)
        for i in 0..<5 {
            try OpenCV.writeImage(
                crops + "/\(i).png", pixels: numberedFrame(i, width: 48, height: 48), width: 48,
                height: 48, channels: 3)
            try OpenCV.writeImage(
                photos + "/\(i).png", pixels: numberedFrame(i, width: 320, height: 240), width: 320,
                height: 240, channels: 3)
        }
        XCTAssertTrue(try ImageFolderSource(folder: crops).looksLikeFaceCrops())
        XCTAssertFalse(try ImageFolderSource(folder: photos).looksLikeFaceCrops())
        XCTAssertEqual(try ImageFolderSource(folder: crops).imagePaths.count, 5)
    }

    func testEmptyFolderIsAnError() throws {
        let dir = try scratchFolder(self)
        XCTAssertThrowsError(try ImageFolderSource(folder: dir)) { error in
            XCTAssertTrue("\(error)".contains("holds no images"), "\(error)")
        }
    }

    func testLabelledFolderSetsTruth() throws {
        let dir = try scratchFolder(self)
        var expected: [String: Double] = [:]
        for (k, label) in ["happy", "sad", "surprise"].enumerated() {
            try FileManager.default.createDirectory(atPath: dir + "/" + label, withIntermediateDirectories: true)
            for i in 0..<2 {
                try OpenCV.writeImage(
                    dir + "/\(label)/\(i).png", pixels: numberedFrame(k, width: 48, height: 48),
                    width: 48, height: 48, channels: 3)
            }
            expected[label] = Double(20 + 20 * k)
        }
        XCTAssertTrue(LabelledFolderSource.looksLabelled(dir))
        XCTAssertEqual(try SourceSpec.parse(dir), .labelledFolder(dir))
        let source = try LabelledFolderSource(folder: dir)
        XCTAssertEqual(source.classes, ["happy", "sad", "surprise"])
        var seen: [String] = []
        while let f = try source.nextFrame() {
            let truth = try XCTUnwrap(f.truth)
            XCTAssertEqual(
                meanBlue(f), expected[truth]!, accuracy: 1, "frame labelled \(truth) shows another class's image")
            seen.append(truth)
        }
        XCTAssertEqual(seen.sorted(), ["happy", "happy", "sad", "sad", "surprise", "surprise"])
        XCTAssertNotEqual(seen, seen.sorted(), "the replay should interleave classes")
    }

    func testImageSourceDeliversOnce() throws {
        let path = try scratchFolder(self) + "/face.png"
        try OpenCV.writeImage(path, pixels: numberedFrame(4, width: 50, height: 40), width: 50, height: 40, channels: 3)
        let source = try ImageSource(path: path)
        let f = try XCTUnwrap(source.nextFrame())
        XCTAssertEqual(f.width, 50)
        XCTAssertEqual(f.height, 40)
        XCTAssertEqual(f.origin, path)
        XCTAssertNil(try source.nextFrame())
    }

    func testSourceSpecParsing() throws {
        let dir = try scratchFolder(self)
        let image = dir + "/a.png"
        try OpenCV.writeImage(image, pixels: numberedFrame(1, width: 8, height: 8), width: 8, height: 8, channels: 3)
        XCTAssertEqual(try SourceSpec.parse("demo"), .demo)
        XCTAssertEqual(try SourceSpec.parse("/dev/video7"), .camera("/dev/video7"))
        XCTAssertEqual(try SourceSpec.parse(image), .image(image))
        XCTAssertEqual(try SourceSpec.parse(dir), .imageFolder(dir))
        XCTAssertThrowsError(try SourceSpec.parse(dir + "/missing.mp4")) { error in
            XCTAssertTrue("\(error)".contains("missing.mp4") && "\(error)".contains("demo"), "\(error)")
        }
        // No source given: the camera when it exists, else the demo with a notice naming the camera.
        let noCamera = try SourceSpec.choose(nil, defaultCamera: dir + "/video-none")
        XCTAssertEqual(noCamera.spec, .demo)
        XCTAssertTrue(noCamera.notice?.contains(dir + "/video-none") ?? false, noCamera.notice ?? "no notice")
        let camera = dir + "/video0"
        try Data().write(to: URL(fileURLWithPath: camera))
        let withCamera = try SourceSpec.choose("", defaultCamera: camera)
        XCTAssertEqual(withCamera.spec, .camera(camera))
        XCTAssertNil(withCamera.notice)
        XCTAssertEqual(try SourceSpec.choose("demo", defaultCamera: camera).spec, .demo, "a named source wins")
        // A file that is not an image opens as a video, and fails in words when it is not one.
        let notVideo = dir + "/clip.mp4"
        try Data("x".utf8).write(to: URL(fileURLWithPath: notVideo))
        XCTAssertEqual(try SourceSpec.parse(notVideo), .videoFile(notVideo))
        XCTAssertThrowsError(try SourceSpec.parse(notVideo).open()) { error in
            XCTAssertTrue("\(error)".contains("cannot open it as a video"), "\(error)")
        }
    }

    func testDemoSpecOpensFromAssets() throws {
        let source = try SourceSpec.demo.open(
            SourceOptions(
                width: 320, height: 240, realtime: false,
                demoAssets: repositoryRoot + "/Assets/demo"))
        let f = try XCTUnwrap(source.nextFrame())
        XCTAssertEqual(f.width, 320)
        XCTAssertNotNil(f.truth)
        XCTAssertThrowsError(try SourceSpec.demo.open(SourceOptions(demoAssets: "/nonexistent"))) { error in
            XCTAssertTrue("\(error)".contains("make_demo_faces.py"), "\(error)")
        }
    }
}
