// The real binary without a screen: --headless on a labelled folder writes one JSON line per
// classified frame, with the truth, and says how it ended; bad options fail with a message.

import Foundation
import XCTest

final class HeadlessRunTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runFertui(arguments)
    }

    func testHeadlessLabelledReplayLogsEveryFrame() throws {
        let work = NSTemporaryDirectory() + "fertui-headless-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        for (i, label) in ["happy", "sad"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(work)/data/\(label)", withIntermediateDirectories: true)
            for j in 0..<2 {
                try MonitorInTmuxTests.writePGM(
                    "\(work)/data/\(label)/\(j).pgm", width: 48, height: 48, seed: i * 2 + j)
            }
        }
        let result = try run([
            "--headless", "--source", "\(work)/data", "--no-detect", "--random-weights", "--no-realtime",
            "--log", "\(work)/run.jsonl",
        ])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("end of source"), result.output)
        XCTAssertTrue(result.output.contains("4 frames classified"), result.output)
        XCTAssertTrue(result.output.range(of: "accuracy [0-4]/4", options: .regularExpression) != nil, result.output)
        let lines = try String(contentsOfFile: "\(work)/run.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        var truths: [String] = []
        for line in lines {
            let json = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            XCTAssertEqual(json["model"] as? String, "resnet18")
            XCTAssertNotNil(json["t"] as? Double)
            truths.append(try XCTUnwrap(json["truth"] as? String))
            let face = try XCTUnwrap((json["faces"] as? [[String: Any]])?.first)
            XCTAssertEqual(face["box"] as? [Int], [0, 0, 48, 48])
            XCTAssertEqual((face["probs"] as? [String: Double])?.count, 7)
        }
        XCTAssertEqual(truths.sorted(), ["happy", "happy", "sad", "sad"])
    }

    func testBadOptionsSayWhatIsWrong() throws {
        let unknown = try run(["--headless", "--frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.output.contains("unknown option --frobnicate"), unknown.output)
        let size = try run(["--size", "big"])
        XCTAssertEqual(size.status, 2)
        XCTAssertTrue(size.output.contains("--size big"), size.output)
        for command in [["--headless", "--random-weights"], ["predict", "--no-detect", "face.pgm"]] {
            let margin = try run(command + ["--margin", "2"])
            XCTAssertEqual(margin.status, 2, margin.output)
            XCTAssertTrue(margin.output.contains("--margin 2"), margin.output)
        }
        let missing = try run(["--headless", "--source", "/nonexistent/clip.mp4", "--random-weights"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("/nonexistent/clip.mp4"), missing.output)
    }

    func testHelpListsEveryOption() throws {
        let help = try run(["monitor", "--help"])
        XCTAssertEqual(help.status, 0)
        for option in [
            "--source", "--model", "--models-dir", "--size", "--fps", "--cascade", "--no-realtime", "--loop",
            "--dump-dir", "--headless", "--frames", "--seconds", "--log", "--no-smooth", "--threads", "--margin",
        ] {
            XCTAssertTrue(help.output.contains(option), "help lacks \(option)")
        }
    }
}
