import CZlib

/// Decodes PNG files into ``Bitmap``s.
///
/// Supports every non-interlaced PNG: greyscale, RGB, palette, greyscale + alpha and RGBA at
/// all legal bit depths, the five scanline filters, and `tRNS` transparency. 16-bit samples
/// are reduced to their high byte. Every chunk's CRC is verified, and anything malformed
/// throws a ``PNGError`` rather than producing a partial image.
public enum PNGDecoder {
    /// Decodes PNG data.
    ///
    /// - Throws: ``PNGError`` describing the first problem found.
    public static func decode(_ data: [UInt8]) throws(PNGError) -> Bitmap {
        let sig = PNGChunks.signature
        guard data.count >= sig.count, Array(data[0..<sig.count]) == sig else { throw .notPNG }

        var header: PNGHeader?
        var palette: [RGBA] = []
        var transparency: [UInt8]?
        var compressed: [UInt8] = []
        var sawIDAT = false
        var sawEnd = false
        var offset = sig.count
        while offset < data.count {
            guard data.count - offset >= 8 else { throw .truncated }
            let length = Int(PNGChunks.readBigEndian(data, at: offset))
            guard length <= PNGChunks.maxLength else {
                throw .invalidHeader("chunk length \(length) too large")
            }
            let typeBytes = data[(offset + 4)..<(offset + 8)]
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw .invalidHeader("invalid chunk type at byte \(offset + 4)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard data.count - offset - 12 >= length else { throw .truncated }
            let payload = data[(offset + 8)..<(offset + 8 + length)]
            let stored = PNGChunks.readBigEndian(data, at: offset + 8 + length)
            let computed = data[(offset + 4)..<(offset + 8 + length)].withUnsafeBufferPointer {
                CRC32.checksum($0)
            }
            guard stored == computed else {
                throw .crcMismatch(chunk: type, stored: stored, computed: computed)
            }
            offset += 12 + length

            if header == nil && type != "IHDR" {
                throw .invalidHeader("first chunk is \(type), expected IHDR")
            }
            switch type {
            case "IHDR":
                guard header == nil else { throw .invalidHeader("duplicate IHDR") }
                header = try PNGHeader(chunk: payload)
            case "PLTE":
                guard length % 3 == 0, length > 0, length <= 768 else {
                    throw .invalidHeader("PLTE length \(length)")
                }
                palette = stride(from: payload.startIndex, to: payload.endIndex, by: 3).map {
                    RGBA(payload[$0], payload[$0 + 1], payload[$0 + 2])
                }
            case "tRNS":
                transparency = Array(payload)
            case "IDAT":
                compressed.append(contentsOf: payload)
                sawIDAT = true
            case "IEND":
                sawEnd = true
            default:
                // Bit 5 of the first type byte clear marks a critical chunk we must understand.
                if typeBytes.first! & 0x20 == 0 { throw .unsupported("critical chunk \(type)") }
            }
            if sawEnd { break }
        }
        guard let header else { throw sawEnd ? .missingChunk("IHDR") : .truncated }
        guard sawEnd else { throw .truncated }
        guard sawIDAT else { throw .missingChunk("IDAT") }
        guard !header.interlaced else { throw .unsupported("Adam7 interlacing") }
        if header.colorType == 3 && palette.isEmpty { throw .missingChunk("PLTE") }

        var scanlines = try inflate(compressed, header: header)
        try unfilter(&scanlines, header: header)
        return try PNGPixelConverter(
            header: header, palette: palette, transparency: transparency
        ).bitmap(from: scanlines)
    }

    /// Reads and decodes the PNG file at `path`.
    ///
    /// - Throws: ``FileIOError`` if the file cannot be read, ``PNGError`` if it is not a
    ///   valid PNG.
    public static func decodeFile(atPath path: String) throws -> Bitmap {
        try decode(AtomicFile.read(path: path))
    }

    private static func inflate(_ compressed: [UInt8], header: PNGHeader) throws(PNGError)
        -> [UInt8]
    {
        let expected = header.height * (header.rowBytes + 1)
        // Deflate cannot expand data more than about 1032-fold; refuse to allocate for a header
        // that claims far more image than the stream could hold.
        guard expected / 1032 <= compressed.count + 64 else {
            throw .corruptImageData("\(compressed.count) compressed bytes cannot hold \(expected)")
        }
        // One spare byte tells "too much data" apart from "exactly right".
        var output = [UInt8](repeating: 0, count: expected + 1)
        var length = UInt(output.count)
        let status = output.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &length, input.baseAddress, UInt(input.count))
            }
        }
        switch status {
        case 0: break
        case -5: throw .corruptImageData("inflated data is larger than the image")
        case -4: throw .corruptImageData("out of memory while inflating")
        default: throw .corruptImageData("invalid or incomplete zlib stream (status \(status))")
        }
        guard Int(length) == expected else {
            throw .corruptImageData("inflated to \(length) bytes, expected \(expected)")
        }
        output.removeLast()
        return output
    }

    /// Reverses the scanline filters in place, leaving each row's filter byte in position.
    private static func unfilter(_ data: inout [UInt8], header: PNGHeader) throws(PNGError) {
        let rowBytes = header.rowBytes
        let stride = rowBytes + 1
        let bpp = header.filterBytesPerPixel
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        var badRow: (UInt8, Int)?
        data.withUnsafeMutableBufferPointer { buffer in
            zeros.withUnsafeBufferPointer { zeroRow in
                for y in 0..<header.height {
                    let start = y * stride
                    let type = buffer[start]
                    let row = UnsafeMutableBufferPointer(
                        rebasing: buffer[(start + 1)..<(start + stride)])
                    let previous =
                        y == 0
                        ? zeroRow
                        : UnsafeBufferPointer(
                            rebasing: buffer[(start - stride + 1)..<start])
                    if !PNGFilter.unapply(
                        type: type, row: row, previous: previous, bytesPerPixel: bpp)
                    {
                        badRow = (type, y)
                        return
                    }
                }
            }
        }
        if let (type, row) = badRow { throw .invalidFilter(type, row: row) }
    }
}
