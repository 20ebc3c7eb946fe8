// The real binary picks OpenBLAS's kernels itself (BLASCore, relaunching with OPENBLAS_CORETYPE):
// `--version` names the set it runs, an AVX2 CPU never runs the SSE3 fallback, and the shipped
// models give the same probabilities on the chosen kernels as on that fallback, which the engine's
// in-process parity tests compare with PyTorch.

import Foundation
import XCTest

final class BLASKernelTests: XCTestCase {
    static let vectorCores: Set<String> = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]

    /// Runs fertui with OPENBLAS_CORETYPE as given (nil: as this test process has it).
    func fertui(_ arguments: [String], coreType: String?) throws -> (status: Int32, output: String) {
        var environment = ProcessInfo.processInfo.environment
        if let coreType = coreType { environment["OPENBLAS_CORETYPE"] = coreType }
        return try runFertui(arguments, environment: environment, keepStandardError: false)
    }

    /// The kernel set named by `fertui --version` ("fertui 0.1.0 (OpenBLAS SkylakeX kernels)").
    func kernels(coreType: String?) throws -> String {
        let result = try fertui(["--version"], coreType: coreType)
        XCTAssertEqual(result.status, 0, result.output)
        let match = try XCTUnwrap(
            result.output.range(of: #"OpenBLAS (\S+) kernels"#, options: .regularExpression), result.output)
        return String(result.output[match].dropFirst("OpenBLAS ".count).dropLast(" kernels".count))
    }

    func testAVX2CPURunsVectorKernels() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set here, and fertui keeps the user's choice")
        }
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            flags.split(separator: " ").contains("avx2"), flags.split(separator: " ").contains("fma")
        else { throw XCTSkip("this CPU has no AVX2 and FMA") }
        let chosen = try kernels(coreType: nil)
        XCTAssertTrue(Self.vectorCores.contains(chosen), "fertui runs OpenBLAS's \(chosen) kernels on an AVX2 CPU")
        XCTAssertEqual(try kernels(coreType: "Prescott"), "Prescott", "OPENBLAS_CORETYPE set by the user is kept")
    }

    func testChosenKernelsGiveTheFallbackKernelsProbabilities() throws {
        let root = MonitorInTmuxTests.packageRoot
        let faces = ["angry", "happy", "surprise"].map { root.appendingPathComponent("Assets/demo/\($0).png").path }
        let chosenKernels = try kernels(coreType: nil)
        var compared = 0
        for model in ["resnet18", "resnet34", "resnet50"] {
            guard
                FileManager.default.fileExists(
                    atPath: root.appendingPathComponent("Assets/models/\(model).safetensors").path)
            else { continue }
            let args = ["predict", "--json", "--no-detect", "--model", model] + faces
            let reference = try fertui(args, coreType: "Prescott")
            let chosen = try fertui(args, coreType: nil)
            XCTAssertEqual(reference.status, 0, reference.output)
            XCTAssertEqual(chosen.status, 0, chosen.output)
            let a = try probabilities(reference.output)
            let b = try probabilities(chosen.output)
            XCTAssertEqual(a.count, faces.count * 7, reference.output)
            XCTAssertEqual(b.count, a.count, chosen.output)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(
                worst, 1e-4,
                "\(model) on \(chosenKernels) vs Prescott: largest difference \(worst)\n"
                    + "\(reference.output)\n\(chosen.output)")
            compared += 1
        }
        if compared == 0 { throw XCTSkip("no shipped models in Assets/models") }
    }

    /// Every face's seven probabilities, image by image, in class order.
    func probabilities(_ jsonLines: String) throws -> [Double] {
        let classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
        var values: [Double] = []
        for line in jsonLines.split(separator: "\n") {
            let object = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            for face in try XCTUnwrap(object["faces"] as? [[String: Any]], String(line)) {
                let probs = try XCTUnwrap(face["probs"] as? [String: Double], String(line))
                values += try classes.map { try XCTUnwrap(probs[$0], "\($0) missing in \(line)") }
            }
        }
        return values
    }
}
