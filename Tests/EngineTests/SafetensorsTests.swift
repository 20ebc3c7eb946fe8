// The safetensors reader: a file written by Python's safetensors library, round trips through our
// writer, and every malformed input as a thrown error with words (never a crash).

import Foundation
import XCTest

@testable import Engine

final class SafetensorsTests: XCTestCase {
    func testReadsFileWrittenByPythonSafetensors() throws {
        let fixture = try ParityFixture.load()
        let path = try ParityFixture.fixturesDirectory().appendingPathComponent("python_written.safetensors").path
        let file = try SafetensorsFile(contentsOf: path)
        XCTAssertEqual(file.metadata, fixture.pythonWritten.metadata)
        XCTAssertEqual(Set(file.entries.map(\.name)), Set(fixture.pythonWritten.tensors.keys))
        for (name, t) in fixture.pythonWritten.tensors {
            let entry = try XCTUnwrap(file[name])
            XCTAssertEqual(entry.shape, t.shape, name)
            if t.dtype == "int64" {
                XCTAssertEqual(entry.dtype, .i64)
                XCTAssertThrowsError(try file.floats(name)) { error in
                    XCTAssertTrue("\(error)".contains("not a float type"), "\(error)")
                }
            } else {
                XCTAssertEqual(try file.floats(name), t.values.map { Float($0) }, name)
            }
        }
    }

    func testWriterRoundTripsEveryFloatType() throws {
        let values: [Float] = [0, 1, -2.5, 0.1, 65504, 6e-5, -1e-7, 3.14159]
        let data = try SafetensorsWriter.encode(
            [
                .init(name: "x32", shape: [2, 4], floats: values, dtype: .f32),
                .init(name: "x16", shape: [8], floats: values, dtype: .f16),
                .init(name: "xb16", shape: [8], floats: values, dtype: .bf16),
                .init(name: "n", shape: [], ints: [5]),
            ], metadata: ["arch": "resnet34", "quote": "a \"b\""])
        let file = try SafetensorsFile(data: data)
        XCTAssertEqual(file.metadata, ["arch": "resnet34", "quote": "a \"b\""])
        XCTAssertEqual(try file.floats("x32"), values)
        for (v, h) in zip(values, try file.floats("x16")) {
            XCTAssertEqual(h, v, accuracy: max(abs(v) * 1e-3, 6e-8), "fp16 of \(v)")
        }
        for (v, b) in zip(values, try file.floats("xb16")) {
            XCTAssertEqual(b, v, accuracy: abs(v) * 8e-3, "bf16 of \(v)")
        }
        XCTAssertEqual(file["n"]?.dtype, .i64)
        XCTAssertEqual(file["n"]?.count, 1)
    }

    func testHalfConversionRoundTripsEveryPattern() {
        // Every finite half pattern converts exactly; float->half rounds to nearest even.
        for bits in UInt16(0)...UInt16.max {
            let f = halfToFloat(bits)
            let exp = (bits >> 10) & 0x1f
            if exp == 31 {
                XCTAssertTrue(f.isInfinite || f.isNaN)
                continue
            }
            XCTAssertEqual(floatToHalf(f), bits, "half \(bits) -> \(f) -> \(floatToHalf(f))")
        }
        XCTAssertEqual(halfToFloat(floatToHalf(1 + 1.0 / 2048)), 1)  // halfway: ties to even
        XCTAssertEqual(halfToFloat(floatToHalf(1e6)), .infinity)
    }

    /// Asserts `data` fails to parse with a message containing `words`.
    func assertRejects(_ data: Data, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(data: data, source: "bad.safetensors"), file: file, line: line) {
            error in
            XCTAssertTrue("\(error)".contains(words), "message '\(error)' lacks '\(words)'", file: file, line: line)
            XCTAssertTrue(
                "\(error)".contains("bad.safetensors"), "message '\(error)' does not name the file", file: file,
                line: line)
        }
    }

    func header(_ json: String, dataBytes: Int = 0, claimedLength: UInt64? = nil) -> Data {
        var d = Data()
        let h = Data(json.utf8)
        withUnsafeBytes(of: (claimedLength ?? UInt64(h.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(h)
        d.append(Data(count: dataBytes))
        return d
    }

    func testMalformedInputsAreErrorsWithWords() throws {
        assertRejects(Data(), "too short")
        assertRejects(Data([1, 2, 3]), "too short")
        assertRejects(header("{}", claimedLength: UInt64.max), "absurd")
        assertRejects(header("{}", claimedLength: 1 << 40), "absurd")
        assertRejects(header("{}", claimedLength: 500), "does not fit")
        assertRejects(header("{not json"), "not valid safetensors JSON")
        assertRejects(header("[1, 2]"), "not valid safetensors JSON")
        assertRejects(header(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 4), "outside")
        assertRejects(
            header(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4), "needs 2 x 4 bytes")
        assertRejects(
            header(#"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), "needs 3 x 2 bytes")
        assertRejects(
            header(#"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}"#, dataBytes: 2), "unknown dtype 'Q4'")
        assertRejects(header(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4), "bad shape")
        assertRejects(header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, dataBytes: 4), "outside")
        assertRejects(header(#"{"w":{"dtype":"F32","shape":[1]}}"#, dataBytes: 4), "not valid safetensors JSON")
        assertRejects(header(#"{"__metadata__":{"a":1}}"#), "not valid safetensors JSON")
        assertRejects(
            header(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, dataBytes: 4),
            "overflows")
    }

    func testRandomBytesNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        let valid = try SafetensorsWriter.encode(
            [.init(name: "w", shape: [3, 3], floats: Array(repeating: 1, count: 9))],
            metadata: ["arch": "resnet18"])
        for trial in 0..<300 {
            var d = valid
            if trial < 100 {
                d = d.prefix(Int.random(in: 0..<d.count, using: &rng))  // truncations
            } else {
                for _ in 0..<4 { d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            if let f = try? SafetensorsFile(data: d) {
                for e in f.entries where e.dtype.isFloat { _ = try f.floats(e) }
            }
        }
    }

    func testMissingFileNamesThePath() {
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: "/nonexistent/x.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x.safetensors"), "\(error)")
        }
    }
}
