/// The validated header of a safetensors file: the tensor table, the metadata and where the
/// data buffer starts.
///
/// ``parse(_:source:)`` treats its input as untrusted. It checks, before allocating anything
/// sized by a header number, that the header length fits in the file, then that the header is
/// UTF-8 JSON of the expected form, that every tensor's byte range matches its shape and dtype
/// and lies in the data buffer, and that the tensors tile the data buffer exactly (no
/// overlaps, no holes, no trailing bytes), as the reference implementation requires.
struct SafetensorsHeader: Sendable {
    /// Largest header accepted, as in the reference implementation (100 MB).
    static let maxHeaderLength = 100_000_000

    /// The key of the optional string-to-string metadata object.
    static let metadataKey = "__metadata__"

    var tensors: [String: SafetensorsTensorInfo] = [:]
    var metadata: [String: String] = [:]
    /// Offset of the data buffer in the file: 8 + header length.
    var dataStart = 8

    /// `name` quoted and escaped for error messages, shortened if very long.
    static func quoted(_ name: String) -> String {
        abbreviated(name.debugDescription, limit: 120)
    }

    static func abbreviated(_ text: String, limit: Int = 40) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    private static func failure(_ source: String, _ message: String) -> AttentionError {
        AttentionError(.invalidFile, argument: source, message)
    }

    /// Parses and validates the header of `file`, a complete safetensors file.
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming `source` and the problem.
    static func parse(_ file: [UInt8], source: String) throws -> SafetensorsHeader {
        guard file.count >= 8 else {
            throw failure(
                source, "file is \(file.count) bytes, too short for the 8-byte header length")
        }
        var length64: UInt64 = 0
        for i in (0..<8).reversed() { length64 = length64 << 8 | UInt64(file[i]) }
        guard length64 <= UInt64(maxHeaderLength) else {
            throw failure(
                source, "header length \(length64) exceeds the limit of \(maxHeaderLength) bytes")
        }
        let length = Int(length64)
        guard length <= file.count - 8 else {
            throw failure(
                source,
                "header length \(length) exceeds the \(file.count - 8) bytes after the length "
                    + "field (file is \(file.count) bytes)")
        }
        let headerBytes = Array(file[8..<(8 + length)])
        if let offset = SafetensorsJSONParser.firstInvalidUTF8Offset(in: headerBytes) {
            throw failure(source, "header is not valid UTF-8 (at byte \(offset) of the header)")
        }

        var header = SafetensorsHeader()
        header.dataStart = 8 + length
        let dataSize = file.count - header.dataStart
        var parser = SafetensorsJSONParser(bytes: headerBytes, source: source)
        guard parser.nextIs(UInt8(ascii: "{")) else {
            throw failure(source, "header must be a JSON object, got \(parser.describeNextValue())")
        }
        try parser.openObject()
        var first = true
        var sawMetadata = false
        while let key = try parser.nextKey(isFirst: &first) {
            if key == metadataKey {
                guard !sawMetadata else {
                    throw failure(source, "duplicate \"\(metadataKey)\" entry in header")
                }
                sawMetadata = true
                header.metadata = try parseMetadata(&parser, source: source)
            } else {
                guard header.tensors[key] == nil else {
                    throw failure(source, "duplicate tensor name \(quoted(key))")
                }
                header.tensors[key] = try parseTensorInfo(
                    &parser, name: key, dataSize: dataSize, source: source)
            }
        }
        try parser.expectEnd()
        try checkCoverage(header.tensors, dataSize: dataSize, source: source)
        return header
    }

    // MARK: Entries

    private static func parseMetadata(_ parser: inout SafetensorsJSONParser, source: String)
        throws -> [String: String]
    {
        if parser.nextIs(UInt8(ascii: "n")) {
            try parser.literal("null")
            return [:]
        }
        guard parser.nextIs(UInt8(ascii: "{")) else {
            throw failure(
                source,
                "\"\(metadataKey)\" must be an object mapping strings to strings, got "
                    + parser.describeNextValue())
        }
        try parser.openObject()
        var metadata: [String: String] = [:]
        var first = true
        while let key = try parser.nextKey(isFirst: &first) {
            guard parser.nextIs(UInt8(ascii: "\"")) else {
                throw failure(
                    source,
                    "\"\(metadataKey)\" value for \(quoted(key)) must be a string, got "
                        + parser.describeNextValue())
            }
            guard metadata[key] == nil else {
                throw failure(source, "duplicate key \(quoted(key)) in \"\(metadataKey)\"")
            }
            metadata[key] = try parser.parseString()
        }
        return metadata
    }

    private static func parseTensorInfo(
        _ parser: inout SafetensorsJSONParser, name: String, dataSize: Int, source: String
    ) throws -> SafetensorsTensorInfo {
        let context = "tensor \(quoted(name))"
        guard parser.nextIs(UInt8(ascii: "{")) else {
            throw failure(
                source,
                "\(context): expected an object with \"dtype\", \"shape\" and \"data_offsets\", "
                    + "got \(parser.describeNextValue())")
        }
        try parser.openObject()
        var dtype: SafetensorsDType?
        var shape: [Int]?
        var offsets: [Int]?
        var first = true
        while let field = try parser.nextKey(isFirst: &first) {
            switch field {
            case "dtype":
                guard dtype == nil else { throw failure(source, "\(context): duplicate \"dtype\"") }
                guard parser.nextIs(UInt8(ascii: "\"")) else {
                    throw failure(
                        source,
                        "\(context): \"dtype\" must be a string, got \(parser.describeNextValue())")
                }
                let text = try parser.parseString()
                guard let known = SafetensorsDType(rawValue: text) else {
                    let supported = SafetensorsDType.allCases.map(\.rawValue).joined(
                        separator: ", ")
                    throw failure(
                        source,
                        "\(context): unsupported dtype \(quoted(text)) (supported: \(supported))")
                }
                dtype = known
            case "shape":
                guard shape == nil else { throw failure(source, "\(context): duplicate \"shape\"") }
                shape = try parseIntegers(&parser, field: "shape", context: context, source: source)
            case "data_offsets":
                guard offsets == nil else {
                    throw failure(source, "\(context): duplicate \"data_offsets\"")
                }
                let values = try parseIntegers(
                    &parser, field: "data_offsets", context: context, source: source)
                guard values.count == 2 else {
                    throw failure(
                        source,
                        "\(context): \"data_offsets\" must be [begin, end], got \(values.count) "
                            + "entries")
                }
                offsets = values
            default:
                try parser.skipValue()  // unknown fields are ignored, as by the reference
            }
        }
        guard let dtype else { throw failure(source, "\(context): missing \"dtype\"") }
        guard let shape else { throw failure(source, "\(context): missing \"shape\"") }
        guard let offsets else { throw failure(source, "\(context): missing \"data_offsets\"") }

        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw failure(source, "\(context): data_offsets [\(begin), \(end)] have begin > end")
        }
        guard end <= dataSize else {
            throw failure(
                source,
                "\(context): data_offsets [\(begin), \(end)] extend past the end of the data "
                    + "buffer (\(dataSize) bytes)")
        }
        // The product of the nonzero extents must fit too, so that strides can be computed.
        var count = 1
        var extent = 1
        var overflow = false
        for dimension in shape {
            var o1 = false
            var o2 = false
            (count, o1) = count.multipliedReportingOverflow(by: dimension)
            (extent, o2) = extent.multipliedReportingOverflow(by: Swift.max(dimension, 1))
            overflow = overflow || o1 || o2
        }
        let (byteCount, o3) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow && !o3 else {
            throw failure(
                source,
                "\(context): shape \(abbreviated("\(shape)", limit: 200)) has too many elements "
                    + "(the element or byte count overflows)")
        }
        guard end - begin == byteCount else {
            throw failure(
                source,
                "\(context): data_offsets [\(begin), \(end)] do not match shape "
                    + "\(abbreviated("\(shape)", limit: 200)) × \(dtype.rawValue) "
                    + "(\(byteCount) bytes)")
        }
        return SafetensorsTensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Parses an array of non-negative integers written without sign, fraction or exponent.
    private static func parseIntegers(
        _ parser: inout SafetensorsJSONParser, field: String, context: String, source: String
    ) throws -> [Int] {
        guard parser.nextIs(UInt8(ascii: "[")) else {
            throw failure(
                source,
                "\(context): \"\(field)\" must be an array of non-negative integers, got "
                    + parser.describeNextValue())
        }
        try parser.openArray()
        var values: [Int] = []
        var first = true
        while try parser.nextElement(isFirst: &first) {
            let kind = parser.describeNextValue()
            guard kind == "a number" else {
                throw failure(
                    source,
                    "\(context): \"\(field)\" must contain only non-negative integers, got \(kind)")
            }
            let text = try parser.parseNumberText()
            guard let value = SafetensorsJSONParser.nonNegativeInteger(text) else {
                let reason =
                    if text.hasPrefix("-") {
                        "is negative"
                    } else if text.contains(where: { ".eE".contains($0) }) {
                        "is not an integer (fractions and exponents are not allowed)"
                    } else {
                        "is too large"
                    }
                throw failure(
                    source,
                    "\(context): \"\(field)\" entry \(abbreviated(text)) \(reason)")
            }
            values.append(value)
        }
        return values
    }

    // MARK: Layout

    /// Requires the tensors to tile `0..<dataSize` exactly.
    private static func checkCoverage(
        _ tensors: [String: SafetensorsTensorInfo], dataSize: Int, source: String
    ) throws {
        let ordered = tensors.sorted { lhs, rhs in
            let (l, r) = (lhs.value.dataOffsets, rhs.value.dataOffsets)
            if l.lowerBound != r.lowerBound { return l.lowerBound < r.lowerBound }
            if l.upperBound != r.upperBound { return l.upperBound < r.upperBound }
            return lhs.key.utf8.lexicographicallyPrecedes(rhs.key.utf8)
        }
        var covered = 0
        var previous: (name: String, info: SafetensorsTensorInfo)?
        for (name, info) in ordered {
            let range = info.dataOffsets
            if range.lowerBound < covered {
                let other =
                    previous.map {
                        "tensor \(quoted($0.name)) (data_offsets [\($0.info.dataOffsets.lowerBound), "
                            + "\($0.info.dataOffsets.upperBound)])"
                    } ?? "another tensor"
                throw failure(
                    source,
                    "tensor \(quoted(name)): data_offsets [\(range.lowerBound), "
                        + "\(range.upperBound)] overlap \(other)")
            }
            if range.lowerBound > covered {
                throw failure(
                    source,
                    "bytes [\(covered), \(range.lowerBound)) of the data buffer are not covered by "
                        + "any tensor (hole before tensor \(quoted(name)))")
            }
            covered = range.upperBound
            if !range.isEmpty || previous == nil { previous = (name, info) }
        }
        guard covered == dataSize else {
            throw failure(
                source,
                "the data buffer has \(dataSize) bytes but the tensors cover only \(covered) "
                    + "(\(dataSize - covered) trailing bytes are not covered by any tensor)")
        }
    }
}
