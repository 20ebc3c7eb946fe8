// Reading safetensors files: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw data. (Writing: SafetensorsWriter.swift.)

import Foundation

/// A safetensors file that could not be read: the message names the file, what was wrong, and what to do.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Element types a safetensors header may name, with their sizes in bytes.
public enum TensorDType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Floating types the engine converts to fp32; integer tensors (BatchNorm's
    /// `num_batches_tracked`) are listed but never read as weights.
    public var isFloat: Bool { self == .f16 || self == .bf16 || self == .f32 || self == .f64 }
}

/// One tensor's header entry: where its bytes lie in the data section.
public struct TensorEntry: Sendable, Equatable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let byteRange: Range<Int>
    public var count: Int { shape.reduce(1, *) }
}

/// A parsed safetensors file held in memory (mapped, not copied, when read from disk).
public final class SafetensorsFile: @unchecked Sendable {
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Tensors in the order of their data offsets.
    public let entries: [TensorEntry]
    private let byName: [String: Int]
    private let data: Data
    private let dataStart: Int
    /// Where the bytes came from, for messages.
    public let source: String

    /// The largest header accepted; real headers are tens of kilobytes.
    static let maxHeaderBytes = 100 << 20

    /// Maps the file and parses its header; every malformed input is a thrown `SafetensorsError`.
    public convenience init(contentsOf path: String) throws {
        // Only a regular file can be a weights file: a FIFO or a device would block or never end.
        var attributes = stat()
        if stat(path, &attributes) == 0 {
            let kind = attributes.st_mode & S_IFMT
            let what: String?
            switch kind {
            case S_IFDIR: what = "a folder"
            case S_IFIFO: what = "a FIFO (named pipe)"
            case S_IFCHR, S_IFBLK: what = "a device"
            case S_IFSOCK: what = "a socket"
            default: what = nil
            }
            if let what {
                throw SafetensorsError("\(path) is \(what), not a weights file: pass a .safetensors file")
            }
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafetensorsError("cannot read \(path): \(Self.reason(error)); check the path and permissions")
        }
        try self.init(data: data, source: path)
    }

    /// Parses a safetensors image held in `data`; `source` names it in messages.
    public init(data: Data, source: String = "<memory>") throws {
        self.data = data
        self.source = source
        let total = data.count
        guard total >= 8 else {
            throw SafetensorsError(
                "\(source): \(total) bytes is too short for a safetensors file (needs an 8-byte header length); "
                    + "the file is truncated or not safetensors"
            )
        }
        let headerLength: UInt64 = data.withUnsafeBytes { raw in
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(raw[i]) << (8 * UInt64(i)) }
            return v
        }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw SafetensorsError(
                "\(source): header length \(headerLength) bytes is absurd (limit \(Self.maxHeaderBytes)); "
                    + "the file is corrupt or not safetensors"
            )
        }
        guard headerLength >= 2, Int(headerLength) <= total - 8 else {
            throw SafetensorsError(
                "\(source): header length \(headerLength) does not fit in a \(total)-byte file; "
                    + "the file is truncated or not safetensors"
            )
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        dataStart = 8 + Int(headerLength)
        let dataSize = total - dataStart

        let header: [String: HeaderValue]
        do {
            header = try JSONDecoder().decode([String: HeaderValue].self, from: headerData)
        } catch {
            throw SafetensorsError(
                "\(source): header is not valid safetensors JSON (\(Self.reason(error))); "
                    + "the file is corrupt or not safetensors"
            )
        }
        var metadata: [String: String] = [:]
        var entries: [TensorEntry] = []
        for (name, value) in header {
            switch value {
            case .metadata(let m):
                guard name == "__metadata__" else {
                    throw SafetensorsError(
                        "\(source): header entry '\(name)' is not a tensor (no dtype, shape, data_offsets)")
                }
                metadata = m
            case .tensor(let dtypeName, let shape, let offsets):
                guard name != "__metadata__" else {
                    throw SafetensorsError("\(source): __metadata__ must map strings to strings")
                }
                guard let dtype = TensorDType(rawValue: dtypeName) else {
                    throw SafetensorsError(
                        "\(source): tensor \(name) has unknown dtype '\(dtypeName)' (known: "
                            + "\(TensorDType.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                guard shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                    throw SafetensorsError(
                        "\(source): tensor \(name) has a bad shape \(shape) or data_offsets \(offsets)")
                }
                var count = 1
                for d in shape {
                    let (p, overflow) = count.multipliedReportingOverflow(by: d)
                    guard !overflow else {
                        throw SafetensorsError("\(source): tensor \(name) shape \(shape) overflows")
                    }
                    count = p
                }
                let begin = offsets[0]
                let end = offsets[1]
                guard begin >= 0, end >= begin, end <= dataSize else {
                    throw SafetensorsError(
                        "\(source): tensor \(name) data_offsets [\(begin), \(end)] "
                            + "lie outside the \(dataSize)-byte data section; the file is truncated or corrupt"
                    )
                }
                let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
                guard !overflow, end - begin == bytes else {
                    throw SafetensorsError(
                        "\(source): tensor \(name) holds \(end - begin) bytes but "
                            + "\(dtype.rawValue) \(shape) needs \(count) x \(dtype.byteSize) bytes; the file is corrupt"
                    )
                }
                entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end))
            }
        }
        entries.sort { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        // Each byte of the data section belongs to one tensor at most: a header whose ranges overlap lies.
        var previous: TensorEntry? = nil
        for e in entries where !e.byteRange.isEmpty {
            if let p = previous, p.byteRange.upperBound > e.byteRange.lowerBound {
                let a = p.byteRange
                let b = e.byteRange
                throw SafetensorsError(
                    "\(source): tensors \(p.name) [\(a.lowerBound), \(a.upperBound)] and \(e.name) "
                        + "[\(b.lowerBound), \(b.upperBound)] overlap in the data section; "
                        + "the file is corrupt")
            }
            previous = e
        }
        self.entries = entries
        self.metadata = metadata
        var byName: [String: Int] = [:]
        for (i, e) in entries.enumerated() { byName[e.name] = i }
        self.byName = byName
    }

    public subscript(name: String) -> TensorEntry? {
        byName[name].map { entries[$0] }
    }

    /// A float tensor's values as fp32 (F16, BF16, F32 and F64 are converted).
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = self[name] else {
            throw SafetensorsError("\(source): no tensor named \(name)")
        }
        return try floats(entry)
    }

    public func floats(_ entry: TensorEntry) throws -> [Float] {
        guard entry.dtype.isFloat else {
            throw SafetensorsError(
                "\(source): tensor \(entry.name) is \(entry.dtype.rawValue), not a float type (F16, BF16, F32, F64)")
        }
        let n = entry.count
        let start = dataStart + entry.byteRange.lowerBound
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let base = raw.baseAddress! + start
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                switch entry.dtype {
                case .f32:
                    // The data section need not be 4-byte aligned: copy bytes.
                    memcpy(out.baseAddress!, base, n * 4)
                case .f16:
                    for i in 0..<n {
                        let bits =
                            UInt16(base.load(fromByteOffset: 2 * i, as: UInt8.self))
                            | UInt16(base.load(fromByteOffset: 2 * i + 1, as: UInt8.self)) << 8
                        out[i] = halfToFloat(bits)
                    }
                case .bf16:
                    for i in 0..<n {
                        let bits =
                            UInt32(base.load(fromByteOffset: 2 * i, as: UInt8.self)) << 16
                            | UInt32(base.load(fromByteOffset: 2 * i + 1, as: UInt8.self)) << 24
                        out[i] = Float(bitPattern: bits)
                    }
                case .f64:
                    for i in 0..<n {
                        var d = 0.0
                        memcpy(&d, base + 8 * i, 8)
                        out[i] = Float(d)
                    }
                default:
                    break
                }
                initialized = n
            }
        }
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c): return c.debugDescription
            case .keyNotFound(let k, _): return "missing key \(k.stringValue)"
            case .typeMismatch(_, let c): return c.debugDescription
            case .valueNotFound(_, let c): return c.debugDescription
            @unknown default: return "\(e)"
            }
        }
        return (error as NSError).localizedDescription
    }
}

/// A header value: either a tensor entry or the `__metadata__` string map.
private enum HeaderValue: Decodable {
    case tensor(dtype: String, shape: [Int], offsets: [Int])
    case metadata([String: String])

    private enum Keys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if c.contains(.dtype) {
            self = .tensor(
                dtype: try c.decode(String.self, forKey: .dtype),
                shape: try c.decode([Int].self, forKey: .shape),
                offsets: try c.decode([Int].self, forKey: .dataOffsets))
        } else {
            self = .metadata(try decoder.singleValueContainer().decode([String: String].self))
        }
    }
}
