// Broken weights files are errors that name the problem and the file, never a crash or a model
// that answers NaN: bad metadata values, non-finite weights, truncations, lying headers
// (CorruptModelFiles makes them), and a model whose output is not finite.

import Foundation
import XCTest

@testable import Engine

final class CorruptModelTests: XCTestCase {
    /// Writes each case's bytes to `<name>.safetensors` in a temporary folder and checks that loading
    /// it throws an EngineError naming the file and containing every one of `mentions`.
    func assertEachFails(
        _ cases: [(name: String, data: Data, mentions: [String])],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let dir = try temporaryDirectory(self)
        for c in cases {
            let path = dir + "/" + c.name + ".safetensors"
            try c.data.write(to: URL(fileURLWithPath: path))
            do {
                let net = try ResNet(contentsOf: path)
                XCTFail(
                    "\(c.name): loaded (input \(net.info.inputSize), mean \(net.info.mean), std \(net.info.std)); "
                        + "expected an error mentioning \(c.mentions)", file: file, line: line)
            } catch let e as EngineError {
                let message = e.description
                XCTAssertTrue(
                    message.contains(path), "\(c.name): '\(message)' does not name the file",
                    file: file, line: line)
                for m in c.mentions {
                    XCTAssertTrue(
                        message.contains(m), "\(c.name): '\(message)' does not mention '\(m)'",
                        file: file, line: line)
                }
            } catch {
                XCTFail("\(c.name): expected EngineError, got \(type(of: error)): \(error)", file: file, line: line)
            }
        }
    }

    func testBadMetadataValuesAreRefusedNamingKeyAndValue() throws {
        let g = try CorruptModelFiles()
        var cases: [(name: String, data: Data, mentions: [String])] = []
        func add(_ name: String, _ key: String, _ value: String, _ also: [String] = []) throws {
            cases.append((name, g.withMetadata([key: value]), ["__metadata__ \(key) '\(value)'"] + also))
        }
        try add("std-zero", "std", "0,0,0", ["above 0", "re-export"])
        try add("std-nan", "std", "nan,nan,nan", ["above 0"])
        try add("std-negative", "std", "0.25,-0.25,0.25", ["above 0"])
        try add("std-inf", "std", "inf,0.25,0.25")
        try add("std-two-channels", "std", "0.25,0.25", ["one per channel"])
        try add("mean-nan", "mean", "0.5,nan,0.5", ["finite"])
        try add("mean-inf", "mean", "-inf,0.5,0.5", ["finite"])
        try add("mean-four-channels", "mean", "0.5,0.5,0.5,0.5", ["one per channel"])
        try add("mean-empty", "mean", "")
        try add("input-huge", "input_size", "100000", ["32...512"])
        try add("input-zero", "input_size", "0", ["32...512"])
        try add("input-negative", "input_size", "-48")
        try add("input-small", "input_size", "16", ["32...512"])
        try add("input-fraction", "input_size", "48.5")
        try add("input-words", "input_size", "forty-eight")
        try add("classes-empty-name", "classes", "angry,,fear,happy,neutral,sad,surprise", ["distinct, non-empty"])
        try add("classes-duplicate", "classes", "angry,angry,fear,happy,neutral,sad,surprise", ["distinct"])
        try add("grayscale-word", "grayscale", "maybe", ["true or false"])
        try add("tta-word", "tta_flip", "yes", ["true or false"])
        try add("views-unknown", "test_views", "spin", ["test_views 'spin'", "mirror, shifts, zoom, all"])
        cases.append(("classes-count", g.withMetadata(["classes": "a,b"]), ["classes lists 2 names", "7 rows"]))
        cases.append(("arch-unknown", g.withMetadata(["arch": "vgg16"]), ["unknown architecture 'vgg16'"]))
        try assertEachFails(cases)
    }

    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        let g = try CorruptModelFiles()
        try assertEachFails([
            ("conv-nan", g.withValue(.nan, in: "conv1.weight", at: 5), ["conv1.weight", "nan", "index 5", "finite"]),
            ("fc-inf", g.withValue(.infinity, in: "fc.bias", at: 6), ["fc.bias", "inf", "index 6"]),
            ("bn-minus-inf", g.withValue(-.infinity, in: "layer4.1.bn2.weight"), ["layer4.1.bn2.weight", "-inf"]),
            (
                "deep-nan", g.withValue(.nan, in: "layer3.0.downsample.0.weight", at: 100),
                ["layer3.0.downsample.0.weight"]
            ),
            ("negative-variance", g.withValue(-1, in: "bn1.running_var", at: 2), ["bn1.running_var", "negative"]),
        ])
    }

    /// A FIFO, a device twin or a folder named as the model: said for what it is, at once (a
    /// FIFO would block a reader forever; a device like /dev/zero never ends).
    func testWhatIsNotARegularFileIsSaidForWhatItIs() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertEqual(mkfifo(dir + "/pipe.safetensors", 0o600), 0)
        var cases = [(dir + "/pipe.safetensors", "a FIFO (named pipe)"), (dir, "a folder")]
        // The kernel's zero device is 1:5 (glibc's makedev is a macro: major << 8 | minor here).
        if getuid() == 0, mknod(dir + "/zero.safetensors", S_IFCHR | 0o600, dev_t(1 << 8 | 5)) == 0 {
            cases.append((dir + "/zero.safetensors", "a device"))
        }
        for (path, what) in cases {
            XCTAssertThrowsError(try SafetensorsFile(contentsOf: path)) { error in
                XCTAssertTrue("\(error)".contains("\(path) is \(what), not a weights file"), "\(error)")
            }
        }
    }

    func testTruncatedFilesAreErrors() throws {
        let g = try CorruptModelFiles()
        let d = g.valid
        let headerEnd = 8 + Int(d[0]) + Int(d[1]) << 8 + Int(d[2]) << 16
        try assertEachFails([
            ("empty", Data(), ["too short"]),
            ("four-bytes", d.prefix(4), ["too short"]),
            ("length-only", d.prefix(8), ["does not fit", "truncated"]),
            ("mid-header", d.prefix(headerEnd / 2), ["does not fit", "truncated"]),
            ("header-only", d.prefix(headerEnd), ["outside", "truncated"]),
            ("mid-data", d.prefix(headerEnd + (d.count - headerEnd) / 2), ["outside", "truncated"]),
            ("last-byte-missing", d.prefix(d.count - 1), ["outside", "truncated"]),
        ])
    }

    func testLyingHeadersAreErrors() throws {
        let g = try CorruptModelFiles()
        let (header, body) = (g.header, g.body)
        let fcWeight = g.offsets(of: "fc.weight")
        try assertEachFails([
            (
                "offsets-past-end", g.withEntry("fc.bias") { $0["data_offsets"] = [body.count - 6, body.count + 8] },
                ["fc.bias", "outside"]
            ),
            (
                "offsets-far-past-end",
                g.withEntry("conv1.weight") { $0["data_offsets"] = [1 << 40, (1 << 40) + 18816] },
                ["conv1.weight", "outside"]
            ),
            ("offsets-negative", g.withEntry("fc.bias") { $0["data_offsets"] = [-14, 0] }, ["fc.bias", "outside"]),
            ("offsets-reversed", g.withEntry("fc.bias") { $0["data_offsets"] = [14, 0] }, ["fc.bias", "outside"]),
            (
                "overlapping", g.withEntry("fc.bias") { $0["data_offsets"] = [fcWeight[0] + 2, fcWeight[0] + 16] },
                ["fc.bias", "fc.weight", "overlap"]
            ),
            ("dtype-too-wide", g.withEntry("fc.bias") { $0["dtype"] = "F32" }, ["fc.bias", "needs 7 x 4 bytes"]),
            ("dtype-too-narrow", g.withEntry("fc.bias") { $0["dtype"] = "U8" }, ["fc.bias", "needs 7 x 1 bytes"]),
            ("dtype-integer", g.withEntry("fc.bias") { $0["dtype"] = "I16" }, ["fc.bias", "dtype I16"]),
            ("dtype-unknown", g.withEntry("fc.bias") { $0["dtype"] = "F8" }, ["fc.bias", "unknown dtype 'F8'"]),
            ("shape-lie", g.withEntry("fc.weight") { $0["shape"] = [7, 1024] }, ["fc.weight", "needs"]),
            (
                "shape-overflow", g.withEntry("fc.weight") { $0["shape"] = [1 << 62, 1 << 62] },
                ["fc.weight", "overflows"]
            ),
            ("length-huge", CorruptModelFiles.assemble(header, body: body, claimedLength: 1 << 62), ["absurd"]),
            ("length-max", CorruptModelFiles.assemble(header, body: body, claimedLength: .max), ["absurd"]),
            (
                "length-past-end", CorruptModelFiles.assemble(header, body: body, claimedLength: UInt64(g.valid.count)),
                ["does not fit"]
            ),
            (
                "metadata-not-strings",
                CorruptModelFiles.assemble(
                    header.merging(["__metadata__": ["input_size": 48]] as [String: Any]) { $1 },
                    body: body),
                ["not valid safetensors JSON"]
            ),
        ])
    }

    /// Finite weights can still overflow: the forward's logits are checked, and neither `logits` nor
    /// `probabilities` returns a value that is not a finite number. Non-finite input is refused too.
    func testNonFiniteOutputIsAnErrorNotAPrediction() throws {
        let g = try CorruptModelFiles()
        var t = g.tensors
        let fc = t.firstIndex { $0.name == "fc.bias" }!
        t[fc].floats = [Float](repeating: 60_000, count: 7)  // finite in fp16; a logit of 6e4 is fine
        let w = t.firstIndex { $0.name == "fc.weight" }!
        t[w] = .init(name: "fc.weight", shape: [7, 512], floats: [Float](repeating: 3e38, count: 7 * 512), dtype: .f32)
        let bn = t.firstIndex { $0.name == "layer4.1.bn2.bias" }!
        t[bn].floats = [Float](repeating: 1, count: 512)  // features of 1 times 3e38 overflow to infinity
        let dir = try temporaryDirectory(self)
        let path = dir + "/overflow.safetensors"
        try SafetensorsWriter.write(t, metadata: CorruptModelFiles.metadata, to: path)
        let net = try ResNet(contentsOf: path)
        let input = [Float](repeating: 0.1, count: 3 * 48 * 48)
        for call in ["logits", "probabilities"] {
            let run = { call == "logits" ? try net.logits(input, batch: 1) : try net.probabilities(input, batch: 1) }
            XCTAssertThrowsError(try run()) { e in
                XCTAssertTrue("\(e)".contains("not a finite number") && "\(e)".contains("image 0"), "\(call): \(e)")
            }
        }
        let sound = ResNet(arch: "resnet18", info: seededInfo(arch: "resnet18"), seed: 1)
        var nanInput = SeededWeights.input(batch: 1, side: 48, seed: 1)
        nanInput[100] = .nan
        XCTAssertThrowsError(try sound.probabilities(nanInput, batch: 1)) { e in
            XCTAssertTrue("\(e)".contains("not a finite number"), "\(e)")
        }
        let p = try sound.probabilities(SeededWeights.input(batch: 2, side: 48, seed: 1), batch: 2)
        XCTAssertEqual(p.count, 14)
        XCTAssertEqual(p[0..<7].reduce(0, +), 1, accuracy: 1e-5)
    }

    /// The metadata a sound file carries is what the model reports.
    func testTheValidFileLoads() throws {
        let g = try CorruptModelFiles()
        let dir = try temporaryDirectory(self)
        try g.valid.write(to: URL(fileURLWithPath: dir + "/valid.safetensors"))
        let net = try ResNet(contentsOf: dir + "/valid.safetensors")
        XCTAssertEqual(net.info.inputSize, 48)
        XCTAssertEqual(net.info.std, [0.25, 0.25, 0.25])
    }
}
