import Foundation

/// A safetensors file (https://github.com/huggingface/safetensors) held in memory: a
/// validated table of named tensors plus optional string metadata.
///
/// Files are treated as untrusted. Initialization validates the whole header (see
/// ``init(bytes:source:)``) and throws ``AttentionError`` for any inconsistency, so a value of
/// this type always describes tensors that can be read. ``tensor(named:)`` keeps BF16 and
/// F16 as they are stored and converts other element types to `Float`.
///
/// ```swift
/// try SafetensorsFile.write(["query": q, "key": k], metadata: ["step": "10"], to: "qk.safetensors")
/// let file = try SafetensorsFile(contentsOf: "qk.safetensors")
/// print(file.names, file.metadata)          // ["key", "query"] ["step": "10"]
/// let query = try file.tensor(named: "query")
/// ```
///
/// Writing is done with the static `write(_:metadata:to:)` methods, which
/// replace the file atomically.
public struct SafetensorsFile: Sendable {
    /// The path (or name) given at creation; errors name it.
    public let source: String
    /// The tensor names, sorted by their UTF-8 bytes.
    public let names: [String]
    /// The `__metadata__` string map (empty when the file has none).
    public let metadata: [String: String]

    private let infos: [String: SafetensorsTensorInfo]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// Reads and validates the safetensors file at `path`.
    ///
    /// The whole file is read into memory (one bulk read sized by the file system, never by
    /// the header).
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming `path` if the file cannot be read
    ///   or is not a valid safetensors file.
    public init(contentsOf path: String) throws {
        try self.init(bytes: SafetensorsPOSIX.readFile(atPath: path), source: path)
    }

    /// Validates safetensors data held in memory.
    ///
    /// Checks: the 8-byte little-endian header length is at most 100 MB and fits in the data;
    /// the header is UTF-8 JSON (whitespace padding allowed) holding an object whose entries
    /// are `"__metadata__"` (an object of strings) or tensors with a known `"dtype"`, a
    /// `"shape"` of non-negative integers and `"data_offsets"` `[begin, end]`; names are
    /// unique; each tensor's byte count is `product(shape) × dtype.byteSize` without
    /// overflow; and the tensors cover the data buffer exactly, with no overlaps, holes or
    /// trailing bytes. Unknown fields inside a tensor entry are ignored.
    /// - Parameters:
    ///   - bytes: The complete file contents.
    ///   - source: A name for error messages, such as the file name.
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming `source` and the problem.
    public init(bytes: [UInt8], source: String = "<safetensors data>") throws {
        let header = try SafetensorsHeader.parse(bytes, source: source)
        self.source = source
        self.infos = header.tensors
        self.metadata = header.metadata
        self.names = header.tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.bytes = bytes
        self.dataStart = header.dataStart
    }

    /// Validates safetensors data held in memory; see ``init(bytes:source:)``.
    public init(data: Data, source: String = "<safetensors data>") throws {
        try self.init(bytes: [UInt8](data), source: source)
    }

    /// Dtype, shape and byte range of the tensor called `name`.
    /// - Throws: ``AttentionError`` (`.invalidArgument`) if there is no such tensor.
    public func info(of name: String) throws -> SafetensorsTensorInfo {
        guard let info = infos[name] else {
            let listed = names.prefix(8).map(SafetensorsHeader.quoted).joined(separator: ", ")
            let more = names.count > 8 ? ", …" : ""
            throw AttentionError(
                .invalidArgument, argument: source,
                "no tensor named \(SafetensorsHeader.quoted(name)) (the file has "
                    + "\(names.count) tensor\(names.count == 1 ? "" : "s")"
                    + (names.isEmpty ? "" : ": \(listed)\(more)") + ")")
        }
        return info
    }

    /// The stored element type of the tensor called `name`.
    /// - Throws: ``AttentionError`` (`.invalidArgument`) if there is no such tensor.
    public func dtype(of name: String) throws -> SafetensorsDType { try info(of: name).dtype }

    /// The shape of the tensor called `name`.
    /// - Throws: ``AttentionError`` (`.invalidArgument`) if there is no such tensor.
    public func shape(of name: String) throws -> [Int] { try info(of: name).shape }

    /// The tensor called `name`: BF16 and F16 as they are stored (a ``Tensor`` of that
    /// ``DType``, bit for bit, 2 bytes per element), everything else converted to `Float`.
    ///
    /// F32 is copied bit for bit. F64 and integers wider than 24 bits round to the nearest
    /// `Float`. BOOL gives 1 for any nonzero byte and 0 otherwise. Use
    /// ``tensor(named:as:)`` for a given dtype.
    /// - Throws: ``AttentionError`` (`.invalidArgument`) if there is no such tensor.
    public func tensor(named name: String) throws -> Tensor {
        let info = try info(of: name)
        let start = dataStart + info.dataOffsets.lowerBound
        if let dtype = DType(info.dtype), dtype != .f32 {
            let bits = bytes.withUnsafeBytes { raw in
                (0..<info.count).map {
                    UInt16(
                        littleEndian: raw.loadUnaligned(
                            fromByteOffset: start + 2 * $0, as: UInt16.self))
                }
            }
            return try Tensor(shape: info.shape, bits: bits, dtype: dtype)
        }
        let scalars = bytes.withUnsafeBytes { raw in
            SafetensorsConversion.decode(
                UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.byteCount)]),
                as: info.dtype, count: info.count)
        }
        return try Tensor(shape: info.shape, scalars: scalars)
    }

    /// The tensor called `name` in `dtype`: read as by ``tensor(named:)``, then
    /// ``Tensor/converted(to:)`` (exact when widening, nearest even when narrowing).
    /// - Throws: ``AttentionError`` (`.invalidArgument`) if there is no such tensor.
    public func tensor(named name: String, as dtype: DType) throws -> Tensor {
        try tensor(named: name).converted(to: dtype)
    }

    /// Every tensor, read as by ``tensor(named:)`` (BF16 and F16 keep their dtype).
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in names { result[name] = try tensor(named: name) }
        return result
    }
}
