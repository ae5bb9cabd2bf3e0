/// Why a PNG could not be encoded or decoded.
public enum PNGError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The data does not start with the 8-byte PNG signature.
    case notPNG
    /// The data ends in the middle of a chunk, or before the `IEND` chunk.
    case truncated
    /// A chunk's stored CRC differs from the one computed over its type and data.
    case crcMismatch(chunk: String, stored: UInt32, computed: UInt32)
    /// A required chunk (`IHDR`, `IDAT`, `IEND`, or `PLTE` for palette images) is absent.
    case missingChunk(String)
    /// The header or another chunk holds values the format does not allow.
    case invalidHeader(String)
    /// A valid PNG feature this decoder does not implement (for example interlacing).
    case unsupported(String)
    /// zlib could not inflate the image data, or it inflated to the wrong size.
    case corruptImageData(String)
    /// A scanline starts with a filter type other than 0–4.
    case invalidFilter(UInt8, row: Int)
    /// The width or height is zero, or the image would not fit in memory.
    case invalidDimensions(width: Int, height: Int)
    /// zlib failed while compressing (returned this zlib status code).
    case compressionFailed(Int32)
    /// The pixel buffer passed to the encoder has the wrong length.
    case pixelCountMismatch(expected: Int, actual: Int)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .notPNG: return "not a PNG file (bad signature)"
        case .truncated: return "PNG data is truncated"
        case .crcMismatch(let chunk, let stored, let computed):
            return
                "CRC mismatch in \(chunk) chunk (stored \(hex(stored)), computed \(hex(computed)))"
        case .missingChunk(let chunk): return "PNG has no \(chunk) chunk"
        case .invalidHeader(let reason): return "invalid PNG: \(reason)"
        case .unsupported(let feature): return "unsupported PNG feature: \(feature)"
        case .corruptImageData(let reason): return "corrupt PNG image data: \(reason)"
        case .invalidFilter(let type, let row): return "invalid filter type \(type) on row \(row)"
        case .invalidDimensions(let width, let height):
            return "invalid PNG dimensions \(width)×\(height)"
        case .compressionFailed(let status): return "zlib compression failed (status \(status))"
        case .pixelCountMismatch(let expected, let actual):
            return "expected \(expected) pixel bytes, got \(actual)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
