/// Shared constants and helpers for reading and writing PNG chunks.
enum PNGChunks {
    /// The eight bytes every PNG file starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Largest chunk data length the format allows.
    static let maxLength = Int(Int32.max)

    /// Appends a chunk (length, type, data, CRC of type and data) to `output`.
    static func append(type: String, data: some Collection<UInt8>, to output: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        precondition(typeBytes.count == 4 && data.count <= maxLength)
        appendBigEndian(UInt32(data.count), to: &output)
        let crcStart = output.count
        output.append(contentsOf: typeBytes)
        output.append(contentsOf: data)
        let crc = output[crcStart...].withUnsafeBufferPointer { CRC32.checksum($0) }
        appendBigEndian(crc, to: &output)
    }

    static func appendBigEndian(_ value: UInt32, to output: inout [UInt8]) {
        output.append(UInt8(value >> 24))
        output.append(UInt8(value >> 16 & 0xFF))
        output.append(UInt8(value >> 8 & 0xFF))
        output.append(UInt8(value & 0xFF))
    }

    static func readBigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
