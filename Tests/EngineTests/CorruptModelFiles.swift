// Crafted broken weights files for the loader tests: a small, valid resnet18 file (zero weights,
// fp16) and the edits that break it the ways a probe or a bad export did (metadata values, NaN and
// Inf weights, truncations, headers whose offsets, sizes or lengths lie).

import Foundation

@testable import Engine

/// Builds broken variants of one valid model file, in memory or in a folder.
struct CorruptModelFiles {
    /// The valid file's metadata: what fertui's exporter writes.
    static let metadata = [
        "arch": "resnet18", "input_size": "48",
        "classes": ModelInfo.ferClasses.joined(separator: ","), "mean": "0.5,0.5,0.5",
        "std": "0.25,0.25,0.25", "grayscale": "true", "tta_flip": "true",
    ]

    /// The valid file's tensors (zero weights) and bytes.
    let tensors: [SafetensorsWriter.Tensor]
    let valid: Data
    /// The valid file's header as JSON objects, and its data section.
    let header: [String: Any], body: Data

    init() throws {
        tensors = try seededTensors(arch: "resnet18", seed: 1, dtype: .f16, zeros: true)
        valid = try SafetensorsWriter.encode(tensors, metadata: Self.metadata)
        (header, body) = Self.split(valid)
    }

    /// The file with `metadata` changed: each key set to its value, or removed where the value is nil.
    func withMetadata(_ changes: [String: String?]) -> Data {
        var header = header
        var m = Self.metadata
        for (k, v) in changes { m[k] = v }
        header["__metadata__"] = m
        return Self.assemble(header, body: body)
    }

    /// The file with element `index` of fp16 tensor `name` set to `value`.
    func withValue(_ value: Float, in name: String, at index: Int = 0) -> Data {
        var data = valid
        let at = data.count - body.count + offsets(of: name)[0] + 2 * index
        let bits = floatToHalf(value)
        data[at] = UInt8(bits & 0xff)
        data[at + 1] = UInt8(bits >> 8)
        return data
    }

    /// The header as JSON objects, and the data section after it.
    static func split(_ data: Data) -> (header: [String: Any], body: Data) {
        var n = 0
        for i in 0..<8 { n |= Int(data[i]) << (8 * i) }
        let header = try! JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        return (header, data.subdata(in: (8 + n)..<data.count))
    }

    /// A file of `header` (as JSON) and `body`, with the length field `claimedLength` when given.
    static func assemble(_ header: [String: Any], body: Data, claimedLength: UInt64? = nil) -> Data {
        let json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data()
        withUnsafeBytes(of: (claimedLength ?? UInt64(json.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    /// The valid file with the header entry of tensor `name` edited (dtype, shape, data_offsets).
    func withEntry(_ name: String, _ edit: (inout [String: Any]) -> Void) -> Data {
        var header = header
        var entry = header[name] as! [String: Any]
        edit(&entry)
        header[name] = entry
        return Self.assemble(header, body: body)
    }

    /// The byte range of tensor `name` in the valid file's data section.
    func offsets(of name: String) -> [Int] {
        (header[name] as! [String: Any])["data_offsets"] as! [Int]
    }
}
