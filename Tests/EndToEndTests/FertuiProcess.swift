// The fertui binary the end-to-end tests run, and one run of it with its exit status and output.

import Foundation
import XCTest

/// $FERTUI_BINARY, else the checkout's debug build; skips the test when neither is there.
func fertuiBinary() throws -> String {
    let path =
        ProcessInfo.processInfo.environment["FERTUI_BINARY"]
        ?? MonitorInTmuxTests.packageRoot.appendingPathComponent(".build/debug/fertui").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw XCTSkip("no fertui binary at \(path): run 'swift build' first (or set FERTUI_BINARY)")
    }
    return path
}

/// Runs fertui to its end: `environment` replaces this process's (nil: inherited); standard error
/// joins the output unless `keepStandardError` is false (then it is dropped).
func runFertui(
    _ arguments: [String], environment: [String: String]? = nil,
    keepStandardError: Bool = true
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try fertuiBinary())
    process.arguments = arguments
    if let environment = environment { process.environment = environment }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = keepStandardError ? out : FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
