// What the real binary says to bad input: one clear line and a non-zero exit, never a crash; a
// replay goes on past a broken file and counts it; a closed log reader ends the run cleanly.

import Foundation
import XCTest

final class BadInputTests: XCTestCase {
    /// Runs fertui and checks it failed with a usage-style message containing every fragment.
    func assertRefused(
        _ arguments: [String], saying fragments: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let run = try runFertui(arguments)
        XCTAssertNotEqual(run.status, 0, "fertui \(arguments) succeeded:\n\(run.output)", file: file, line: line)
        XCTAssertLessThan(
            run.status, 64, "fertui \(arguments) died of a signal:\n\(run.output)", file: file, line: line)
        XCTAssertFalse(
            run.output.contains("Fatal error") || run.output.contains("Crash"),
            "fertui \(arguments) crashed:\n\(run.output)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(
                run.output.contains(fragment), "fertui \(arguments): '\(fragment)' missing from:\n\(run.output)",
                file: file, line: line)
        }
    }

    func testOptionValuesAreRefusedForWhatIsWrongWithThem() throws {
        try assertRefused(["--headless", "--frames", "-1"], saying: ["--frames -1", "whole number"])
        try assertRefused(
            ["--headless", "--model", "resnet18", "--model", "resnet34"],
            saying: ["--model is given 2 times", "'resnet18'", "'resnet34'"])
        try assertRefused(
            ["--headless", "--source", "demo", "--size", "100x100", "--random-weights", "--frames", "1"],
            saying: ["100x100", "--size"])
        for command in [["--headless"], ["predict", "x.png"], ["eval", "--data", "x"]] {
            try assertRefused(command + ["--views", "sideways"], saying: ["--views sideways", "mirror, shifts"])
        }
    }

    func testAReplayGoesOnPastAnUnreadableImage() throws {
        let dir = NSTemporaryDirectory() + "fertui-badimage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for label in ["happy", "sad"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + label, withIntermediateDirectories: true)
            try MonitorInTmuxTests.writePGM(dir + "/\(label)/0.pgm", width: 48, height: 48, seed: 1)
            try MonitorInTmuxTests.writePGM(dir + "/\(label)/1.pgm", width: 48, height: 48, seed: 2)
        }
        try Data("P5 broken".utf8).write(to: URL(fileURLWithPath: dir + "/sad/2.pgm"))
        let run = try runFertui(["--headless", "--source", dir, "--no-detect", "--random-weights", "--no-realtime"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("4 frames classified"), run.output)
        XCTAssertTrue(run.output.contains("/4 = "), "accuracy over the 4 readable images:\n\(run.output)")
        XCTAssertTrue(run.output.contains("1 unreadable file skipped") && run.output.contains("2.pgm"), run.output)
    }

    /// `fertui ... --log - | head -1`: the reader closes the pipe after one line; fertui must say
    /// so and exit 1, not die of SIGPIPE or crash on the failed write.
    func testALogReaderThatGoesAwayEndsTheRunWithAnError() throws {
        try runWithEarlyClosedStdout(try fertuiBinary())
    }

    /// Starts fertui with its standard output on a pipe, reads one line, closes the pipe and checks
    /// the exit and the message.
    func runWithEarlyClosedStdout(_ binary: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless", "--source", "demo", "--random-weights", "--no-realtime", "--frames", "5000",
            "--log", "-",
        ]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first.append(chunk)
        }
        try out.fileHandleForReading.close()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: message, as: UTF8.self)
        XCTAssertTrue(
            first.count > 0 && String(decoding: first, as: UTF8.self).hasPrefix("{\"frame\":"), "no first line")
        XCTAssertEqual(process.terminationReason, .exit, "fertui died of a signal: \(text)")
        XCTAssertEqual(process.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("logging stopped") && text.contains("closed the pipe"), text)
    }

    /// A labelled folder of 48x48 crops (FER-2013's layout) is classified whole without --no-detect:
    /// every image gets a prediction, where the cascade would find almost no face.
    func testAFolderOfFaceCropsIsClassifiedWhole() throws {
        let dir = NSTemporaryDirectory() + "fertui-crops-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for label in ["happy", "sad"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + label, withIntermediateDirectories: true)
            for i in 0..<3 {
                try MonitorInTmuxTests.writePGM(dir + "/\(label)/\(i).pgm", width: 48, height: 48, seed: i)
            }
        }
        let log = dir + "/run.jsonl"
        let run = try runFertui(["--headless", "--source", dir, "--random-weights", "--no-realtime", "--log", log])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("classified whole"), run.output)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines.filter { $0.contains("\"faces\":[{\"id\"") }.count, 6, "every crop has its one face")
    }
}
