// Shared by the engine tests: the parity fixture (Training/make_engine_fixtures.py), seeded
// state_dicts written as safetensors, and the logits comparison that prints what differs.

import Foundation
import XCTest

@testable import Engine

/// engine_parity.json, decoded.
struct ParityFixture: Decodable {
    struct Case: Decodable {
        let arch: String
        let size: Int
        let batch: Int
        let logits: [Float]
    }
    struct GeneratorCheck: Decodable {
        let arch: String
        let name: String
        let first: [Float]
        let sum: Double
    }
    /// A shipped model's logits, recorded for the file whose content hashes to `sha256`.
    struct Shipped: Decodable {
        let file: String
        let sha256: String
        let arch: String
        let size: Int
        let batch: Int
        let logits: [Float]
    }
    struct PythonTensor: Decodable {
        let shape: [Int]
        let values: [Double]
        let dtype: String
    }
    struct PythonWritten: Decodable {
        let metadata: [String: String]
        let tensors: [String: PythonTensor]
    }
    let version: Int
    let seed: UInt64
    let classes: Int
    let generatorChecks: [GeneratorCheck]
    let cases: [Case]
    let fp16Cases: [Case]
    let shipped: [Shipped]
    let pythonWritten: PythonWritten

    enum CodingKeys: String, CodingKey {
        case version, seed, classes, cases, shipped
        case generatorChecks = "generator_checks"
        case fp16Cases = "fp16_cases"
        case pythonWritten = "python_written"
    }

    /// The fixture version these tests were written for; bump with FIXTURE_VERSION in the script.
    static let expectedVersion = 2

    static func fixturesDirectory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw XCTSkip("EngineTests resource folder Fixtures is missing from the test bundle")
        }
        return url
    }

    static func load() throws -> ParityFixture {
        let url = try fixturesDirectory().appendingPathComponent("engine_parity.json")
        let data = try Data(contentsOf: url)
        let fixture = try JSONDecoder().decode(ParityFixture.self, from: data)
        XCTAssertEqual(
            fixture.version, expectedVersion,
            "engine_parity.json is version \(fixture.version), tests expect \(expectedVersion): rerun `make fixtures`")
        return fixture
    }
}

/// FER-style ModelInfo for seeded models with `classes` outputs.
func seededInfo(arch: String, classes: Int = 7, side: Int = 48) -> ModelInfo {
    ModelInfo(
        arch: arch, inputSize: side, classes: Array(ModelInfo.ferClasses.prefix(classes)),
        mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
}

/// The seeded state_dict of `arch` as tensors in torchvision's order, BatchNorm counters included,
/// stored as `dtype`; `zeros` makes every float 0 (cheap files for loader tests).
func seededTensors(
    arch: String, classes: Int = 7, seed: UInt64, dtype: TensorDType,
    zeros: Bool = false
) throws -> [SafetensorsWriter.Tensor] {
    let architecture = try ResNetArchitecture.named(arch)
    var tensors: [SafetensorsWriter.Tensor] = []
    for (name, shape) in architecture.expectedTensors(classes: classes) {
        let count = shape.reduce(1, *)
        let r = SeededWeights.range(for: name, shape: shape)
        let values =
            zeros
            ? [Float](repeating: 0, count: count)
            : SeededWeights.uniform(name, count: count, lo: r.lo, hi: r.hi, seed: seed)
        tensors.append(.init(name: name, shape: shape, floats: values, dtype: dtype))
        if name.hasSuffix("running_var") {
            let prefix = name.dropLast("running_var".count)
            tensors.append(.init(name: prefix + "num_batches_tracked", shape: [], ints: [0]))
        }
    }
    return tensors
}

/// A fresh temporary folder, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fertui-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir.path
}

/// Asserts max |got - want| <= tolerance and the same argmax per row; on failure prints the first
/// values of both and where the largest difference is.
func assertLogitsClose(
    _ got: [Float], _ want: [Float], classes: Int, tolerance: Float, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard got.count == want.count else {
        XCTFail("\(label): \(got.count) logits, expected \(want.count)", file: file, line: line)
        return
    }
    var worst: Float = 0
    var worstIndex = 0
    for i in 0..<got.count where !(abs(got[i] - want[i]) <= worst) {
        worst = abs(got[i] - want[i]).isNaN ? .infinity : abs(got[i] - want[i])
        worstIndex = i
    }
    let firstGot = got.prefix(8).map { String(format: "%.5f", $0) }.joined(separator: " ")
    let firstWant = want.prefix(8).map { String(format: "%.5f", $0) }.joined(separator: " ")
    XCTAssertLessThanOrEqual(
        worst, tolerance,
        "\(label): max |diff| \(worst) at index \(worstIndex) (got \(got[worstIndex]), want \(want[worstIndex]))"
            + "\n  got:  \(firstGot)\n  want: \(firstWant)",
        file: file, line: line)
    for row in 0..<(got.count / classes) {
        let r = (row * classes)..<((row + 1) * classes)
        let a = r.max { got[$0] < got[$1] }!
        let b = r.max { want[$0] < want[$1] }!
        XCTAssertEqual(
            a - r.lowerBound, b - r.lowerBound,
            "\(label): row \(row) argmax \(a - r.lowerBound), PyTorch's \(b - r.lowerBound)"
                + "\n  got:  \(got[r])\n  want: \(want[r])",
            file: file, line: line)
    }
}
