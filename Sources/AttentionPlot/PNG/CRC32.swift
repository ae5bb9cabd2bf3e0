import CZlib

/// The CRC-32 checksum used by PNG chunks (and gzip and zip), computed by zlib.
public enum CRC32 {
    /// The checksum of `bytes`, continuing from `initial` (pass a previous result to checksum
    /// data given in pieces).
    ///
    /// ```swift
    /// CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082
    /// ```
    public static func checksum(_ bytes: some Collection<UInt8>, continuing initial: UInt32 = 0)
        -> UInt32
    {
        if let result = bytes.withContiguousStorageIfAvailable({ update(initial, $0) }) {
            return result
        }
        return Array(bytes).withUnsafeBufferPointer { update(initial, $0) }
    }

    private static func update(_ crc: UInt32, _ buffer: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var value = UInt(crc)
        var offset = 0
        // zlib takes a 32-bit length; feed very large inputs in pieces.
        while offset < buffer.count, let base = buffer.baseAddress {
            let length = min(buffer.count - offset, Int(UInt32.max >> 1))
            value = crc32(value, base + offset, UInt32(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
