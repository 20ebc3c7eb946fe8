// Loading models: fp32 and fp16 files give the seeded model's logits, broken files give the exact
// first problem in words, and ModelCatalog finds files by name or path.

import Foundation
import XCTest

@testable import Engine

final class LoaderTests: XCTestCase {
    /// A resnet18 file with zero weights, with `edit` applied to its tensor list.
    func writeResNet18(
        _ dir: String, _ name: String, metadata: [String: String] = ["arch": "resnet18"],
        edit: (inout [SafetensorsWriter.Tensor]) -> Void = { _ in }
    ) throws -> String {
        var tensors = try seededTensors(arch: "resnet18", seed: 1, dtype: .f16, zeros: true)
        edit(&tensors)
        let path = dir + "/" + name
        try SafetensorsWriter.write(tensors, metadata: metadata, to: path)
        return path
    }

    func assertLoadFails(_ path: String, problem: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ResNet(contentsOf: path), file: file, line: line) { error in
            guard let e = error as? EngineError else {
                return XCTFail("expected EngineError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(e.problem, problem, file: file, line: line)
            XCTAssertTrue(e.description.contains(path), "'\(e)' does not name \(path)", file: file, line: line)
        }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try temporaryDirectory(self)
        let path = try writeResNet18(dir, "missing.safetensors") { $0.removeAll { $0.name == "layer3.1.conv2.weight" } }
        assertLoadFails(path, problem: "missing layer3.1.conv2.weight")
    }

    func testWrongShapeIsNamed() throws {
        let dir = try temporaryDirectory(self)
        let path = try writeResNet18(dir, "shape.safetensors") { tensors in
            let i = tensors.firstIndex { $0.name == "layer2.0.conv1.weight" }!
            tensors[i] = .init(
                name: "layer2.0.conv1.weight", shape: [128, 64, 1, 1], floats: Array(repeating: 0, count: 128 * 64),
                dtype: .f16)
        }
        assertLoadFails(path, problem: "layer2.0.conv1.weight: expected [128, 64, 3, 3], got [128, 64, 1, 1]")
    }

    func testWrongArchitectureAndMetadata() throws {
        let dir = try temporaryDirectory(self)
        // A resnet18 state_dict labelled resnet50: the first Bottleneck tensor is missing.
        assertLoadFails(
            try writeResNet18(dir, "arch.safetensors", metadata: ["arch": "resnet50"]),
            problem: "layer1.0.conv1.weight: expected [64, 64, 1, 1], got [64, 64, 3, 3]")
        assertLoadFails(
            try writeResNet18(dir, "vgg.safetensors", metadata: ["arch": "vgg16"]),
            problem: "unknown architecture 'vgg16'; expected one of resnet18, resnet34, resnet50")
        assertLoadFails(
            try writeResNet18(dir, "classes.safetensors", metadata: ["arch": "resnet18", "classes": "a,b"]),
            problem: "__metadata__ classes lists 2 names but fc.weight has 7 rows")
        assertLoadFails(
            try writeResNet18(dir, "mean.safetensors", metadata: ["arch": "resnet18", "mean": "0.5,x"]),
            problem: "__metadata__ mean '0.5,x': expected three comma-separated finite numbers, "
                + "one per channel; the file's metadata is wrong: "
                + "fix it or re-export the model (make train)")
    }

    func testTruncatedAndGarbageFilesAreErrors() throws {
        let dir = try temporaryDirectory(self)
        let good = try writeResNet18(dir, "good.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir + "/truncated.safetensors"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try ResNet(contentsOf: truncated)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
            XCTAssertTrue("\(error)".contains(truncated), "\(error)")
        }
        let garbage = dir + "/garbage.safetensors"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(
            to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try ResNet(contentsOf: garbage)) { error in
            XCTAssertTrue("\(error)".contains("not safetensors"), "\(error)")
            XCTAssertEqual("\(error)".components(separatedBy: garbage).count, 2, "the path appears once: \(error)")
        }
        let text = dir + "/text.safetensors"
        try Data("hello, this is not a model\n".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try ResNet(contentsOf: text))
        XCTAssertNoThrow(try ResNet(contentsOf: good))
    }

    /// fp32 and fp16 files of the seeded weights load and match the in-memory seeded model
    /// (exactly for fp32); the architecture is inferred when the metadata lacks it.
    func testFP32AndFP16FilesMatchSeededModel() throws {
        let dir = try temporaryDirectory(self)
        let info = seededInfo(arch: "resnet18")
        let reference = ResNet(arch: "resnet18", info: info, seed: 5)
        let input = SeededWeights.input(batch: 2, side: 40, seed: 5)
        let want = try reference.logits(input, batch: 2)
        for dtype in [TensorDType.f32, .f16, .bf16] {
            let path = dir + "/r18-\(dtype.rawValue).safetensors"
            try SafetensorsWriter.write(
                try seededTensors(arch: "resnet18", seed: 5, dtype: dtype), metadata: [:], to: path)
            let net = try ResNet(contentsOf: path)
            XCTAssertEqual(net.info.arch, "resnet18")
            XCTAssertEqual(net.info.classes, ModelInfo.ferClasses)
            let got = try net.logits(input, batch: 2)
            if dtype == .f32 {
                XCTAssertEqual(got, want, "fp32 file must give exactly the in-memory model's logits")
            } else {
                // Rounding weights to 16 bits moves logits a little, but not far.
                assertLogitsClose(
                    got, want, classes: 7, tolerance: dtype == .f16 ? 0.02 : 0.1, "\(dtype.rawValue) file vs fp32")
            }
        }
    }

    func testMetadataBecomesModelInfo() throws {
        let dir = try temporaryDirectory(self)
        let meta = [
            "arch": "resnet18", "input_size": "48", "classes": ModelInfo.ferClasses.joined(separator: ","),
            "mean": "0.5,0.5,0.5", "std": "0.25,0.25,0.25", "grayscale": "true", "val_accuracy": "0.71",
        ]
        let net = try ResNet(contentsOf: try writeResNet18(dir, "meta.safetensors", metadata: meta))
        XCTAssertEqual(
            net.info,
            ModelInfo(
                arch: "resnet18", inputSize: 48, classes: ModelInfo.ferClasses,
                mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], grayscale: true, metadata: meta))
    }

    func testBadInputsAreErrors() throws {
        let net = ResNet(arch: "resnet18", info: seededInfo(arch: "resnet18"), seed: 1)
        XCTAssertThrowsError(try net.logits([Float](repeating: 0, count: 3 * 31 * 31), batch: 1)) { e in
            XCTAssertTrue("\(e)".contains("S >= 32"), "\(e)")
        }
        XCTAssertThrowsError(try net.logits([Float](repeating: 0, count: 100), batch: 1))
        XCTAssertThrowsError(try net.logits([Float](repeating: 0, count: 3 * 32 * 32), batch: 2))
        XCTAssertThrowsError(try net.logits([Float](), batch: 0))
        XCTAssertEqual(try net.logits([Float](repeating: 0, count: 3 * 32 * 32), batch: 1).count, 7)
    }

    func testSoftmaxRows() {
        let p = softmax([0, 0, 1000, 1, 2, 3], classes: 3)
        XCTAssertEqual(Array(p[0..<3]), [0, 0, 1])
        let e = [Float(1), expf(1), expf(2)]
        let s = e.reduce(0, +)
        for (a, b) in zip(p[3..<6], e.map { $0 / s }) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testCatalogResolvesNamesAndPaths() throws {
        let dir = try temporaryDirectory(self)
        let file = dir + "/resnet34.safetensors"
        FileManager.default.createFile(atPath: file, contents: Data())
        XCTAssertEqual(try ModelCatalog.resolve("resnet34", modelsDir: dir), file)
        XCTAssertEqual(try ModelCatalog.resolve(file, modelsDir: nil), file)
        XCTAssertThrowsError(try ModelCatalog.resolve("resnet50", modelsDir: dir)) { e in
            XCTAssertTrue("\(e)".contains(dir + "/resnet50.safetensors") && "\(e)".contains("--models-dir"), "\(e)")
        }
        XCTAssertThrowsError(try ModelCatalog.resolve("vgg16", modelsDir: dir)) { e in
            XCTAssertTrue("\(e)".contains("unknown model 'vgg16'"), "\(e)")
        }
        XCTAssertThrowsError(try ModelCatalog.resolve(dir + "/nope.safetensors", modelsDir: nil)) { e in
            XCTAssertTrue("\(e)".contains("nope.safetensors does not exist"), "\(e)")
        }
        setenv("FERTUI_MODELS", dir, 1)
        defer { unsetenv("FERTUI_MODELS") }
        XCTAssertEqual(try ModelCatalog.resolve("resnet34", modelsDir: nil), file)
        XCTAssertThrowsError(try ModelCatalog.resolve("resnet34", modelsDir: dir + "/elsewhere"))
    }

    func testAssetsDirectoryIsTheCheckouts() throws {
        let assets = try XCTUnwrap(
            ModelCatalog.assetsDirectory(), "tests run inside the checkout, so Assets/ must be found")
        XCTAssertTrue(assets.hasSuffix("/Assets"))
        let root = (assets as NSString).deletingLastPathComponent
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/Package.swift"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/Sources/Engine/ResNet.swift"))
    }
}
