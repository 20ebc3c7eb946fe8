// Memory figures read from a /proc/PID/status text, and models by name: file, seeded, or seeded
// when the file is missing.

import Engine
import Foundation
import XCTest

@testable import Pipeline

final class ProcessMemoryTests: XCTestCase {
    func testReadsResidentAndPeakFromStatusText() {
        let status = "Name:\tfertui\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n"
        XCTAssertEqual(ProcessMemory(status: status), ProcessMemory(residentMB: 100, peakResidentMB: 200))
        XCTAssertNil(ProcessMemory(status: "Name:\tfertui\nVmRSS:\t 1 kB\n"), "no VmHWM line: no figures")
    }

    func testModelLoadingByWeightsChoice() throws {
        let empty = temporaryDirectory("models")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try ResNet.load("resnet18", modelsDir: empty)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        let (missing, origin) = try ResNet.load(
            "resnet18", modelsDir: empty,
            weights: .seededWhenMissing(inputSize: 32))
        XCTAssertEqual(origin, .random)
        XCTAssertEqual(missing.info.inputSize, 32)
        XCTAssertThrowsError(try ResNet.load("resnet19", modelsDir: empty, weights: .seeded(inputSize: 32))) { error in
            XCTAssertTrue("\(error)".contains("not resnet19"), "\(error)")
        }
    }
}
