// What `d` and `--log` write: parseable JSON with the documented fields, real PNGs, and a dump
// that appears whole (temporary folder, then rename).

import Foundation
import Vision
import XCTest

@testable import Pipeline

final class DumpAndLogTests: XCTestCase {
    let classes = TestModels.classes

    func reading(id: Int, box: FaceBox, top: Int) -> FaceReading {
        var p = [Float](repeating: 0.05, count: 7)
        p[top] = 0.7
        return FaceReading(id: id, box: box, probabilities: p, classes: classes)
    }

    func testPredictImageLineHasNoFaceIDs() throws {
        let faces = [reading(id: 1, box: FaceBox(x: 5, y: 6, width: 20, height: 22), top: 6)]
        let line = PredictionJSON.imageLine("a \"b\".png", faces: faces, classes: classes)
        XCTAssertTrue(line.hasPrefix("{\"image\":\"a \\\"b\\\".png\",\"faces\":[{\"box\":[5,6,20,22],"), line)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let face = try XCTUnwrap((json["faces"] as? [[String: Any]])?.first)
        XCTAssertNil(face["id"], "predict numbers no faces")
        XCTAssertEqual(face["label"] as? String, "surprise")
        XCTAssertEqual((face["probs"] as? [String: Double])?.count, 7)
    }

    func testLogLineHasTheDocumentedShape() throws {
        let frame = ProcessedFrame(
            frameIndex: 12, time: 0.4567, model: "resnet18", classes: classes,
            faces: [reading(id: 3, box: FaceBox(x: 1, y: 2, width: 30, height: 40), top: 3)],
            truth: "happy", timings: StageTimings())
        let line = PredictionJSON.logLine(frame)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.hasPrefix("{\"frame\":12,\"t\":0.457,\"model\":\"resnet18\",\"faces\":["), line)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(json["truth"] as? String, "happy")
        let face = try XCTUnwrap((json["faces"] as? [[String: Any]])?.first)
        XCTAssertEqual(face["id"] as? Int, 3)
        XCTAssertEqual(face["box"] as? [Int], [1, 2, 30, 40])
        XCTAssertEqual(face["label"] as? String, "happy")
        XCTAssertEqual(face["confidence"] as? Double ?? 0, 0.7, accuracy: 1e-6)
        let probs = try XCTUnwrap(face["probs"] as? [String: Double])
        XCTAssertEqual(Set(probs.keys), Set(classes))
        XCTAssertEqual(probs["sad"] ?? 0, 0.05, accuracy: 1e-6)
    }

    func testLogLineOmitsTruthOutsideLabelledReplays() {
        let frame = ProcessedFrame(
            frameIndex: 0, time: 0, model: "m", classes: classes, faces: [], truth: nil,
            timings: StageTimings())
        XCTAssertEqual(
            PredictionJSON.logLine(frame),
            "{\"frame\":0,\"t\":0,\"model\":\"m\",\"faces\":[],\"ms\":{\"detect\":0,\"preprocess\":0,\"forward\":0}}")
    }

    func testLogLineNamesTheFileAndCarriesStageTimes() throws {
        let frame = ProcessedFrame(
            frameIndex: 3, time: 1, model: "m", classes: classes, faces: [], truth: nil,
            timings: StageTimings(detect: 4.256, preprocess: 0.5, forward: 2), file: "/d/a,b.png")
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(PredictionJSON.logLine(frame).utf8)) as? [String: Any])
        XCTAssertEqual(json["file"] as? String, "/d/a,b.png")
        XCTAssertEqual((json["ms"] as? [String: Double])?["detect"], 4.26)
    }

    func testCSVHasOneRowPerFacePerFrame() {
        XCTAssertEqual(
            PredictionJSON.csvHeader(classes: ["a", "b"]),
            "frame,t,model,file,face,x,y,w,h,label,confidence,a,b,truth,detect_ms,preprocess_ms,forward_ms")
        let two = ProcessedFrame(
            frameIndex: 5, time: 0.25, model: "resnet18", classes: ["a", "b"],
            faces: [
                FaceReading(
                    id: 1, box: FaceBox(x: 1, y: 2, width: 3, height: 4), probabilities: [0.25, 0.75],
                    classes: ["a", "b"]),
                FaceReading(
                    id: 2, box: FaceBox(x: 5, y: 6, width: 7, height: 8), probabilities: [1, 0], classes: ["a", "b"]),
            ],
            truth: "b", timings: StageTimings(detect: 1, preprocess: 2, forward: 3), file: "x,y.png")
        XCTAssertEqual(
            PredictionJSON.csvRows(two),
            "5,0.25,resnet18,\"x,y.png\",1,1,2,3,4,b,0.75,0.25,0.75,b,1,2,3\n"
                + "5,0.25,resnet18,\"x,y.png\",2,5,6,7,8,a,1,1,0,b,1,2,3\n")
        let none = ProcessedFrame(
            frameIndex: 6, time: 0.5, model: "m", classes: ["a", "b"], faces: [], truth: nil,
            timings: StageTimings())
        XCTAssertEqual(PredictionJSON.csvRows(none), "6,0.5,m,,,,,,,,,,,,0,0,0\n")
    }

    func testJSONStringsAndNumbersAreEscapedAndShort() {
        XCTAssertEqual(PredictionJSON.string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"")
        XCTAssertEqual(PredictionJSON.number(0.1250, decimals: 3), "0.125")
        XCTAssertEqual(PredictionJSON.number(-2, decimals: 3), "-2")
        XCTAssertEqual(PredictionJSON.number(.nan, decimals: 3), "null")
        XCTAssertEqual(PredictionJSON.number(0.0000004, decimals: 6), "0")
    }

    func testDumpWritesJSONFrameAndCropsAtomically() throws {
        let dir = temporaryDirectory("dump")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var pixels = [UInt8](repeating: 0, count: 80 * 60 * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = 200
            pixels[i + 1] = UInt8(i % 256)
            pixels[i + 2] = 10
        }
        let frame = Frame(width: 80, height: 60, channels: 3, pixels: pixels, index: 42, origin: "clip.mp4")
        let faces = [
            reading(id: 1, box: FaceBox(x: 10, y: 5, width: 30, height: 40), top: 3),
            reading(id: 2, box: FaceBox(x: 70, y: 50, width: 30, height: 30), top: 6),
        ]  // clipped at the edge
        let timings = StageTimings(capture: 1, detect: 2, preprocess: 3, forward: 4, render: 5)
        let path = try DumpWriter.write(
            frame: frame, faces: faces, classes: classes, model: "resnet34", source: "clip.mp4",
            timings: timings, elapsed: 3.25, to: dir,
            extraFiles: [("screen.ans", Data("\u{1B}[0mscreen\n".utf8))])

        XCTAssertEqual((path as NSString).deletingLastPathComponent, dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(names, [(path as NSString).lastPathComponent], "only the finished dump, no temporary folder")
        let files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        XCTAssertEqual(
            files, ["annotated.png", "face-1.png", "face-2.png", "frame.png", "prediction.json", "screen.ans"])
        XCTAssertEqual(try String(contentsOfFile: path + "/screen.ans", encoding: .utf8), "\u{1B}[0mscreen\n")
        // The annotated frame: the box drawn in green on the frame, the rest as it was.
        let annotated = try OpenCV.readImage(path + "/annotated.png", channels: 3)
        XCTAssertEqual([annotated.width, annotated.height], [80, 60])
        let corner = ((5 + 39) * 80 + 10) * 3  // bottom-left corner of face 1's box (10, 5, 30, 40)
        XCTAssertEqual(Array(annotated.pixels[corner..<(corner + 3)]), [0, 255, 0])
        let inside = ((5 + 30) * 80 + 25) * 3
        XCTAssertEqual(Array(annotated.pixels[inside..<(inside + 3)]), Array(pixels[inside..<(inside + 3)]))

        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/prediction.json")))
                as? [String: Any])
        XCTAssertEqual(json["model"] as? String, "resnet34")
        XCTAssertEqual(json["source"] as? String, "clip.mp4")
        XCTAssertEqual(json["frame"] as? Int, 42)
        XCTAssertNotNil(json["time"] as? String)
        XCTAssertEqual((json["timings_ms"] as? [String: Double])?["forward"], 4)
        let dumped = try XCTUnwrap(json["faces"] as? [[String: Any]])
        XCTAssertEqual(dumped.map { $0["label"] as? String }, ["happy", "surprise"])
        XCTAssertEqual(dumped.first?["box"] as? [Int], [10, 5, 30, 40])
        XCTAssertEqual((dumped.first?["probs"] as? [String: Double])?.count, 7)

        let image = try OpenCV.readImage(path + "/frame.png", channels: 3)
        XCTAssertEqual(image.width, 80)
        XCTAssertEqual(image.height, 60)
        XCTAssertEqual(image.pixels, pixels, "PNG is lossless: the frame comes back exactly")
        let crop = try OpenCV.readImage(path + "/face-1.png", channels: 3)
        XCTAssertEqual([crop.width, crop.height], [30, 40])
        XCTAssertEqual(Array(crop.pixels[0..<3]), Array(pixels[((5 * 80 + 10) * 3)..<((5 * 80 + 10) * 3 + 3)]))
        let edge = try OpenCV.readImage(path + "/face-2.png", channels: 3)
        XCTAssertEqual([edge.width, edge.height], [10, 10], "the crop is clipped to the frame")

        let second = try DumpWriter.write(
            frame: frame, faces: faces, classes: classes, model: "resnet34", source: "clip.mp4",
            timings: timings, elapsed: 3.25, to: dir,
            now: Date(timeIntervalSince1970: 0))
        XCTAssertNotEqual(second, path)
        let third = try DumpWriter.write(
            frame: frame, faces: [], classes: classes, model: "resnet34", source: "clip.mp4",
            timings: timings, elapsed: 3.25, to: dir, now: Date(timeIntervalSince1970: 0))
        XCTAssertNotEqual(third, second, "the same moment twice gets two folders")
    }

    func testDumpIntoAnUnwritablePlaceSaysWhere() {
        let frame = Frame(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 0])
        XCTAssertThrowsError(
            try DumpWriter.write(
                frame: frame, faces: [], classes: classes, model: "m", source: "s",
                timings: StageTimings(), elapsed: 0, to: "/proc/fertui-no")
        ) { error in
            XCTAssertTrue("\(error)".contains("/proc/fertui-no"), "\(error)")
        }
    }
}
