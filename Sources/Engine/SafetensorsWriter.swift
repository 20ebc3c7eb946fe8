// Writing safetensors files, for tests and tools (fixtures, crafted broken files): the same
// layout SafetensorsFile reads.

import Foundation

/// Writes safetensors files (tests, tools): tensors in the order given, `__metadata__` as strings.
public enum SafetensorsWriter {
    /// One tensor to write: fp32 values stored as `dtype` (F32, F16 or BF16), or I64 values.
    public struct Tensor {
        public var name: String
        public var dtype: TensorDType
        public var shape: [Int]
        public var floats: [Float]
        public var ints: [Int64]
        public init(name: String, shape: [Int], floats: [Float], dtype: TensorDType = .f32) {
            self.name = name
            self.shape = shape
            self.floats = floats
            self.ints = []
            self.dtype = dtype
        }
        public init(name: String, shape: [Int], ints: [Int64]) {
            self.name = name
            self.shape = shape
            self.floats = []
            self.ints = ints
            self.dtype = .i64
        }
    }

    /// The file's bytes.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        var body = Data()
        var headerParts: [String] = []
        if !metadata.isEmpty {
            let json = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            headerParts.append("\"__metadata__\":" + String(decoding: json, as: UTF8.self))
        }
        for t in tensors {
            let begin = body.count
            switch t.dtype {
            case .f32:
                let bits = t.floats.map { $0.bitPattern.littleEndian }
                bits.withUnsafeBytes { body.append(contentsOf: $0) }
            case .f16:
                let bits = t.floats.map { floatToHalf($0).littleEndian }
                bits.withUnsafeBytes { body.append(contentsOf: $0) }
            case .bf16:
                // Round to nearest even on the upper 16 bits.
                let bits = t.floats.map { v -> UInt16 in
                    let b = v.bitPattern
                    return UInt16(truncatingIfNeeded: (b &+ 0x7fff &+ ((b >> 16) & 1)) >> 16).littleEndian
                }
                bits.withUnsafeBytes { body.append(contentsOf: $0) }
            case .i64:
                let values = t.ints.map { $0.littleEndian }
                values.withUnsafeBytes { body.append(contentsOf: $0) }
            default:
                throw SafetensorsError("SafetensorsWriter: dtype \(t.dtype.rawValue) is not supported for writing")
            }
            let nameJSON = String(decoding: try JSONSerialization.data(withJSONObject: [t.name]), as: UTF8.self)
                .dropFirst().dropLast()
            headerParts.append(
                "\(nameJSON):{\"dtype\":\"\(t.dtype.rawValue)\","
                    + "\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
                    + "\"data_offsets\":[\(begin),\(body.count)]}"
            )
        }
        var header = Data(("{" + headerParts.joined(separator: ",") + "}").utf8)
        // Pad the header with spaces so the data section starts 8-byte aligned, as safetensors does.
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        out.append(body)
        return out
    }

    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        try encode(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
