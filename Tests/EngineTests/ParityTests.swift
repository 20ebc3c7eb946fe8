// Numerics: our logits against PyTorch's for seeded ResNet18/34/50 (inputs 48 and 224, batch 1
// and 3), an fp16 file, and the shipped models when they exist.

import Foundation
import XCTest

@testable import Engine

final class ParityTests: XCTestCase {
    static let tolerance: Float = 1e-3
    /// One seeded model per architecture, shared: generating resnet50's weights takes a while.
    nonisolated(unsafe) static var models: [String: ResNet] = [:]

    func model(_ arch: String, fixture: ParityFixture) -> ResNet {
        if let m = Self.models[arch] { return m }
        let m = ResNet(arch: arch, info: seededInfo(arch: arch, classes: fixture.classes), seed: fixture.seed)
        Self.models[arch] = m
        return m
    }

    /// The generator must match Python's before logits can: check a few tensors' first values and sums.
    func testGeneratorMatchesPython() throws {
        let fixture = try ParityFixture.load()
        for check in fixture.generatorChecks {
            let shape = try ResNetArchitecture.named(check.arch).expectedTensors(classes: fixture.classes)
                .first { $0.name == check.name }!.shape
            let r = SeededWeights.range(for: check.name, shape: shape)
            let v = SeededWeights.uniform(check.name, count: shape.reduce(1, *), lo: r.lo, hi: r.hi, seed: fixture.seed)
            XCTAssertEqual(
                Array(v.prefix(4)), check.first,
                "\(check.arch) \(check.name): first values differ from Python's generator")
            let sum = v.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(
                sum, check.sum, accuracy: 1e-6 * max(1, abs(check.sum)), "\(check.arch) \(check.name): sum differs")
        }
    }

    func checkArch(_ arch: String) throws {
        let fixture = try ParityFixture.load()
        let cases = fixture.cases.filter { $0.arch == arch }
        XCTAssertEqual(cases.count, 4, "expected sizes 48 and 224 at batch 1 and 3 for \(arch)")
        let net = model(arch, fixture: fixture)
        for c in cases {
            let input = SeededWeights.input(batch: c.batch, side: c.size, seed: fixture.seed)
            let got = try net.logits(input, batch: c.batch)
            assertLogitsClose(
                got, c.logits, classes: fixture.classes, tolerance: Self.tolerance,
                "\(arch) input \(c.size) batch \(c.batch)")
        }
    }

    func testResNet18MatchesPyTorch() throws { try checkArch("resnet18") }
    func testResNet34MatchesPyTorch() throws { try checkArch("resnet34") }
    func testResNet50MatchesPyTorch() throws { try checkArch("resnet50") }

    /// A batch's rows equal the same images run one at a time (the workspace shrinks and grows).
    func testBatchRowsEqualSingleImages() throws {
        let fixture = try ParityFixture.load()
        let net = model("resnet18", fixture: fixture)
        let input = SeededWeights.input(batch: 3, side: 48, seed: 11)
        let batched = try net.logits(input, batch: 3)
        let plane = 3 * 48 * 48
        for b in 0..<3 {
            let single = try net.logits(Array(input[(b * plane)..<((b + 1) * plane)]), batch: 1)
            assertLogitsClose(
                single, Array(batched[(b * 7)..<((b + 1) * 7)]), classes: 7, tolerance: 1e-5,
                "image \(b) alone vs in batch")
        }
    }

    /// Gray input (one plane in all three channels, as fertui feeds its faces) goes through the
    /// channel-summed stem and gives the three-channel stem's logits; a batch with a colour
    /// image in it takes the three-channel stem for all.
    func testGrayInputStemMatchesThreeChannelStem() throws {
        let net = ResNet(arch: "resnet18", info: seededInfo(arch: "resnet18"), seed: 3)
        let reference = ResNet(arch: "resnet18", info: seededInfo(arch: "resnet18"), seed: 3)
        reference.foldsGrayInput = false
        for side in [48, 224] {
            let planes = SeededWeights.input(batch: 2, side: side, seed: 5)
            let hw = side * side
            var gray = [Float]()
            for b in 0..<2 { for _ in 0..<3 { gray += planes[(b * 3 * hw)..<(b * 3 * hw + hw)] } }
            assertLogitsClose(
                try net.logits(gray, batch: 2), try reference.logits(gray, batch: 2), classes: 7,
                tolerance: 1e-4, "gray input, side \(side)")
            XCTAssertTrue(net.tookGrayStem, "gray input, side \(side)")
            XCTAssertFalse(reference.tookGrayStem)
            let mixed = Array(gray[0..<(3 * hw)]) + Array(planes[(3 * hw)...])
            XCTAssertEqual(
                try net.logits(mixed, batch: 2), try reference.logits(mixed, batch: 2), "a colour image in the batch")
            XCTAssertFalse(net.tookGrayStem, "a colour image in the batch")
        }
    }

    /// Scratch grows to the largest (batch, side) seen and is then reused: no allocation in later forwards.
    func testWorkspaceIsReused() throws {
        let net = ResNet(arch: "resnet18", info: seededInfo(arch: "resnet18"), seed: 2)
        _ = try net.logits(SeededWeights.input(batch: 3, side: 48, seed: 1), batch: 3)
        let sized = (net.workspace.activationCapacity, net.workspace.columnCapacity, net.workspace.pooledCapacity)
        XCTAssertGreaterThan(sized.0, 0)
        let x = net.workspace.x
        for (batch, side) in [(1, 48), (3, 48), (2, 40), (3, 48)] {
            _ = try net.logits(SeededWeights.input(batch: batch, side: side, seed: 1), batch: batch)
            XCTAssertEqual(
                net.workspace.activationCapacity, sized.0, "batch \(batch) side \(side) regrew the activations")
            XCTAssertEqual(
                net.workspace.columnCapacity, sized.1, "batch \(batch) side \(side) regrew the im2col scratch")
            XCTAssertEqual(net.workspace.pooledCapacity, sized.2)
            XCTAssertEqual(net.workspace.x, x, "buffers were reallocated")
        }
    }

    /// An fp16 file (every float rounded as PyTorch's .half() does) gives PyTorch's logits for the rounded weights.
    func testFP16FileMatchesPyTorch() throws {
        let fixture = try ParityFixture.load()
        let dir = try temporaryDirectory(self)
        for c in fixture.fp16Cases {
            let path = dir + "/\(c.arch)-fp16.safetensors"
            try SafetensorsWriter.write(
                try seededTensors(arch: c.arch, classes: fixture.classes, seed: fixture.seed, dtype: .f16),
                metadata: ["arch": c.arch, "input_size": "\(c.size)"], to: path)
            let net = try ResNet(contentsOf: path)
            XCTAssertEqual(net.info.arch, c.arch)
            let got = try net.logits(
                SeededWeights.input(batch: c.batch, side: c.size, seed: fixture.seed), batch: c.batch)
            assertLogitsClose(got, c.logits, classes: fixture.classes, tolerance: Self.tolerance, "\(c.arch) fp16 file")
        }
    }

    /// A shipped model in Assets/models against the logits PyTorch gave for that very file. The
    /// fixture names each file by its SHA-256: a model that changed since `make fixtures` fails
    /// (it is not skipped), so the shipped weights are always checked.
    func checkShipped(_ arch: String) throws {
        let fixture = try ParityFixture.load()
        let assets = try XCTUnwrap(ModelCatalog.assetsDirectory(), "tests run in the checkout: Assets/ must be found")
        let file = arch + ".safetensors"
        let path = assets + "/models/" + file
        let recorded = fixture.shipped.first { $0.file == file }
        guard FileManager.default.fileExists(atPath: path) else {
            if recorded != nil {
                XCTFail(
                    "\(path) is missing but engine_parity.json has logits for it: restore the file, "
                        + "or rerun `make fixtures`")
            }
            return  // no shipped file, no fixture: nothing was shipped to check
        }
        guard let s = recorded else {
            return XCTFail("\(path) has no logits in engine_parity.json: rerun `make fixtures` to record PyTorch's")
        }
        let digest = sha256Hex(try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
        guard digest == s.sha256 else {
            return XCTFail(
                "\(path) (sha256 \(digest.prefix(12))…) is not the file engine_parity.json was made for "
                    + "(\(s.sha256.prefix(12))…): rerun `make fixtures`")
        }
        let net = try ResNet(contentsOf: path)
        XCTAssertEqual(net.info.arch, s.arch)
        let got = try net.logits(SeededWeights.input(batch: s.batch, side: s.size, seed: fixture.seed), batch: s.batch)
        assertLogitsClose(got, s.logits, classes: net.classCount, tolerance: Self.tolerance, "shipped \(s.file)")
    }

    func testShippedResNet18MatchesPyTorch() throws { try checkShipped("resnet18") }
    func testShippedResNet34MatchesPyTorch() throws { try checkShipped("resnet34") }
    func testShippedResNet50MatchesPyTorch() throws { try checkShipped("resnet50") }

    /// The digest that names shipped files is SHA-256 (FIPS 180-4 test vectors, and a message
    /// longer than one block whose padding spills into a second).
    func testSHA256KnownAnswers() {
        XCTAssertEqual(sha256Hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256Hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            sha256Hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            sha256Hex(Data(repeating: 0x61, count: 1000)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    /// Zero-skipping off and Winograd off are other routes to the same logits.
    func testEngineOptionsGiveTheSameLogits() throws {
        let info = seededInfo(arch: "resnet18")
        let input = SeededWeights.input(batch: 2, side: 64, seed: 9)
        let want = try ResNet(arch: "resnet18", info: info, seed: 4).logits(input, batch: 2)
        for options in [
            EngineOptions(skipZeros: false), EngineOptions(winogradMinTiles: .max),
            EngineOptions(splitMACs: 1, splitFloats: 1, threads: 3), EngineOptions(threads: 1),
        ] {
            let net = ResNet(arch: "resnet18", info: info, seed: 4, options: options)
            XCTAssertEqual(net.options, options)
            assertLogitsClose(try net.logits(input, batch: 2), want, classes: 7, tolerance: 1e-4, "\(options)")
        }
    }

    /// The defaults are the engine's shipped choices.
    func testDefaultOptions() {
        let o = EngineOptions()
        XCTAssertTrue(o.skipZeros)
        XCTAssertEqual(o.winogradMinTiles, 16)
        XCTAssertEqual(o.splitMACs, 1 << 22)
        XCTAssertEqual(o.splitFloats, 32_768)
        XCTAssertEqual(o.threads, EngineOptions.defaultThreads)
        XCTAssertGreaterThanOrEqual(o.threads, 1)
        XCTAssertEqual(EngineOptions(threads: 0).threads, 1, "at least one thread")
    }
}
