// Fuzzing the loader in-process: a few hundred mutations of a valid model file (header bytes,
// header entries, metadata values, length field, truncations, weight bytes), from a fixed seed,
// through SafetensorsFile and ResNet. Errors are expected; a crash fails the whole test run, and a
// file that loads must have passed every check (its metadata in range, its output finite or refused).

import Foundation
import XCTest

@testable import Engine

final class LoaderFuzzTests: XCTestCase {
    /// SplitMix64: the same mutations on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let nastyValues = [
        "nan", "-nan", "inf", "-inf", "0", "-1", "1e9", "1e40", "", ",", ",,", "0,0,0", "nan,1,1",
        "1,1", "1,1,1,1", "99999999999999999999", "48", "32", "512", "513", "a,b,c", "resnet18",
        "resnet50", "true", "false", "\u{0}", " 48 ", "0x30", "4.8e1",
    ]
    static let keys = ["input_size", "mean", "std", "classes", "arch", "grayscale", "tta_flip"]

    func testMutatedModelFilesNeverCrashTheLoader() throws {
        let g = try CorruptModelFiles()
        let (header, body) = (g.header, g.body)
        let names = Array(header.keys.filter { $0 != "__metadata__" }).sorted()
        var rng = SeededGenerator(state: 20_261_204)
        var outcomes: [String: Int] = [:]
        var built = 0
        let started = Date()
        for trial in 0..<300 {
            var data: Data
            switch trial % 6 {
            case 0:  // bytes of the header flipped
                data = g.valid
                let headerEnd = 8 + (g.valid.count - body.count - 8)
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    data[Int.random(in: 8..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:  // truncated anywhere
                data = g.valid.prefix(Int.random(in: 0..<g.valid.count, using: &rng))
            case 2:  // a metadata value replaced
                let key = Self.keys.randomElement(using: &rng)!
                data = g.withMetadata([key: Self.nastyValues.randomElement(using: &rng)!])
            case 3:  // one field of one tensor entry changed
                var h = header
                let name = names.randomElement(using: &rng)!
                var entry = h[name] as! [String: Any]
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    let o = entry["data_offsets"] as! [Int]
                    let shift = (Int.random(in: -64...64, using: &rng), Int.random(in: -64...64, using: &rng))
                    entry["data_offsets"] = [o[0] + shift.0, o[1] + shift.1]
                case 1:
                    var shape = entry["shape"] as! [Int]
                    if shape.isEmpty {
                        shape = [Int.random(in: 0...3, using: &rng)]
                    } else {
                        let size = [0, 1, 2, 7, 1 << 40, -1].randomElement(using: &rng)!
                        shape[Int.random(in: 0..<shape.count, using: &rng)] = size
                    }
                    entry["shape"] = shape
                case 2:
                    entry["dtype"] = TensorDType.allCases.randomElement(using: &rng)!.rawValue
                default:
                    entry = [:]
                }
                h[name] = entry
                data = CorruptModelFiles.assemble(h, body: body)
            case 4:  // the length field set to anything
                let lengths: [UInt64] = [0, 1, 2, 7, UInt64(body.count), UInt64.max, 1 << 33, UInt64(g.valid.count)]
                let length = lengths.randomElement(using: &rng)!
                data = CorruptModelFiles.assemble(header, body: body, claimedLength: length)
            default:  // weight bytes overwritten (NaN and Inf patterns among them)
                data = g.valid
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    data[g.valid.count - body.count + Int.random(in: 0..<body.count, using: &rng)] =
                        [0x7c, 0x7e, 0xfc, 0xff, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng)!
                }
            }
            outcomes[try load(data, built: &built), default: 0] += 1
        }
        let seconds = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(outcomes["error", default: 0], 150, "most mutations must be refused: \(outcomes)")
        XCTAssertLessThan(seconds, 30, "the fuzz test should take seconds, took \(seconds)")
        XCTAssertGreaterThan(built, 0, "some mutations (harmless ones) must load: \(outcomes)")
    }

    /// "error" when the loader refused the bytes with a message, "loaded" when they passed every
    /// check; then the metadata must be in range, and the first few such files are built and run:
    /// their output finite or refused.
    func load(_ data: Data, built: inout Int) throws -> String {
        let file: SafetensorsFile
        let checked: ResNet.CheckedFile
        do {
            file = try SafetensorsFile(data: data, source: "fuzz.safetensors")
            checked = try ResNet.check(file)
        } catch let e as SafetensorsError {
            XCTAssertFalse(e.message.isEmpty)
            return "error"
        } catch let e as EngineError {
            XCTAssertFalse(e.problem.isEmpty)
            return "error"
        }
        let info = checked.info
        XCTAssertTrue(ModelInfo.inputSizes.contains(info.inputSize), "\(info)")
        XCTAssertTrue(info.mean.count == 3 && info.mean.allSatisfy(\.isFinite), "\(info)")
        XCTAssertTrue(info.std.count == 3 && info.std.allSatisfy { $0.isFinite && $0 > 0 }, "\(info)")
        XCTAssertEqual(info.classes.count, checked.classes)
        if built < 3 {  // building a ResNet18 takes a while: a few are enough to run the forward
            built += 1
            let net = try ResNet(file: file, options: EngineOptions(threads: 1))
            if let p = try? net.probabilities(SeededWeights.input(batch: 1, side: 32, seed: 1), batch: 1) {
                XCTAssertTrue(p.allSatisfy(\.isFinite), "\(p)")
            }
        }
        return "loaded"
    }
}
