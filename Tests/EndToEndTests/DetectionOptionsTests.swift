// The shared face-detection options of monitor, predict, detect and eval through the real binary: bad
// values and cascade files fail with one line naming the value and a non-zero status, help
// documents every option, and --list-cameras answers with or without a camera.

import Foundation
import XCTest

final class DetectionOptionsTests: XCTestCase {
    func oneLine(_ output: String, file: StaticString = #filePath, line: UInt = #line) {
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(output)", file: file, line: line)
    }

    func testBadValuesAreOneLineErrors() throws {
        let work = NSTemporaryDirectory() + "fertui-detopts-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let image = work + "/face.pgm"
        try MonitorInTmuxTests.writePGM(image, width: 64, height: 64, seed: 1)
        let classes = work + "/by-class"
        try FileManager.default.createDirectory(atPath: classes + "/happy", withIntermediateDirectories: true)
        try MonitorInTmuxTests.writePGM(classes + "/happy/face.pgm", width: 64, height: 64, seed: 2)
        let junk = work + "/junk.xml"
        try Data("<opencv_storage><x/></opencv_storage>\n".utf8).write(to: URL(fileURLWithPath: junk))

        let commands: [[String]] = [
            ["predict", image], ["--headless", "--random-weights", "--source", image],
            ["detect", "--source", image], ["eval", "--data", classes],
        ]
        for command in commands {
            for (option, status, expected) in [
                (["--min-face", "0"], Int32(2), "--min-face 0"),
                (["--hold", "-1"], 2, "--hold -1"),
                (["--scale-factor", "1"], 2, "--scale-factor 1"),
                (["--equalize", "maybe"], 2, "--equalize maybe"),
                (["--cascade", work + "/missing.xml"], 1, "missing.xml not found"),
                (["--cascade", junk], 1, "is not an OpenCV cascade"),
                (["--confirm", junk], 1, "is not an OpenCV cascade"),
            ] {
                let r = try runFertui(command + option)
                XCTAssertEqual(r.status, status, "\(command + option): \(r.output)")
                XCTAssertTrue(r.output.contains(expected), "\(command + option): \(r.output)")
                oneLine(r.output)
            }
        }
    }

    func testHelpDocumentsTheSharedOptions() throws {
        for command in ["monitor", "predict", "detect", "eval"] {
            let help = try runFertui([command, "--help"])
            XCTAssertEqual(help.status, 0)
            for option in [
                "--min-face", "--min-neighbors", "--scale-factor", "--detect-width", "--detect-budget", "--hold",
                "--cascade", "--equalize", "--confirm",
            ] {
                XCTAssertTrue(help.output.contains(option), "\(command) --help lacks \(option)")
            }
        }
        XCTAssertTrue(try runFertui(["monitor", "--help"]).output.contains("--list-cameras"))
    }

    func testListCamerasAnswersWithOrWithoutACamera() throws {
        let r = try runFertui(["--list-cameras"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("/dev/video") || r.output.contains("no /dev/video"), r.output)
    }
}
