import CZlib

/// Encodes images as PNG: 8-bit RGB or RGBA, deflated with zlib.
///
/// ```swift
/// let png = try PNGEncoder(format: .rgb).encode(bitmap)
/// ```
public struct PNGEncoder: Sendable, Hashable {
    /// Channels written; ``PNGColorFormat/rgb`` drops alpha.
    public var format: PNGColorFormat
    /// zlib compression level, 0 (store) to 9 (smallest); out-of-range values are clamped.
    public var compressionLevel: Int
    /// Scanline filters applied before compression.
    public var filter: PNGFilterStrategy
    /// If set, a `pHYs` chunk records this resolution so viewers can show the image at its
    /// intended physical size.
    public var pixelsPerInch: Double?

    /// Creates an encoder; the defaults favour speed on synthetic images.
    public init(
        format: PNGColorFormat = .rgba, compressionLevel: Int = 6,
        filter: PNGFilterStrategy = .none, pixelsPerInch: Double? = nil
    ) {
        self.format = format
        self.compressionLevel = compressionLevel
        self.filter = filter
        self.pixelsPerInch = pixelsPerInch
    }

    /// Largest `IDAT` chunk written; longer data is split across several chunks.
    static let idatChunkSize = 1 << 18

    /// Encodes a bitmap (converted to ``format``).
    public func encode(_ bitmap: Bitmap) throws(PNGError) -> [UInt8] {
        try encodeRows(width: bitmap.width, height: bitmap.height, bitmap.pixels, sourceBPP: 4)
    }

    /// Encodes raw pixels laid out in ``format``: `width * height * format.bytesPerPixel`
    /// bytes, row-major from the top-left corner.
    public func encode(width: Int, height: Int, pixels: [UInt8]) throws(PNGError) -> [UInt8] {
        guard width > 0, height > 0 else {
            throw .invalidDimensions(width: width, height: height)
        }
        let (expected, overflow) = width.multipliedReportingOverflow(
            by: height * format.bytesPerPixel)
        guard !overflow, pixels.count == expected else {
            throw .pixelCountMismatch(expected: overflow ? Int.max : expected, actual: pixels.count)
        }
        return try encodeRows(
            width: width, height: height, pixels, sourceBPP: format.bytesPerPixel)
    }

    private func encodeRows(width: Int, height: Int, _ source: [UInt8], sourceBPP: Int)
        throws(PNGError) -> [UInt8]
    {
        guard width > 0, height > 0, width <= PNGChunks.maxLength, height <= PNGChunks.maxLength
        else { throw .invalidDimensions(width: width, height: height) }
        let bpp = format.bytesPerPixel
        let rowBytes = width * bpp
        var raw = [UInt8](repeating: 0, count: height * (rowBytes + 1))
        var current = [UInt8](repeating: 0, count: rowBytes)
        var previous = [UInt8](repeating: 0, count: rowBytes)
        var scratch = [UInt8](repeating: 0, count: rowBytes)
        for y in 0..<height {
            // Gather the row in the output layout.
            let start = y * width * sourceBPP
            if sourceBPP == bpp {
                for i in 0..<rowBytes { current[i] = source[start + i] }
            } else {
                for x in 0..<width {
                    for c in 0..<bpp { current[x * bpp + c] = source[start + x * sourceBPP + c] }
                }
            }
            let outStart = y * (rowBytes + 1)
            let type = chooseFilter(current, previous, &scratch, bpp: bpp)
            raw[outStart] = type
            current.withUnsafeBufferPointer { row in
                previous.withUnsafeBufferPointer { above in
                    raw.withUnsafeMutableBufferPointer { out in
                        let target = UnsafeMutableBufferPointer(
                            rebasing: out[(outStart + 1)..<(outStart + 1 + rowBytes)])
                        PNGFilter.apply(
                            type: type, row: row, previous: above, bytesPerPixel: bpp,
                            into: target)
                    }
                }
            }
            swap(&current, &previous)
        }

        let compressed = try deflate(raw)
        var output = PNGChunks.signature
        output.reserveCapacity(compressed.count + 128)
        var header: [UInt8] = []
        PNGChunks.appendBigEndian(UInt32(width), to: &header)
        PNGChunks.appendBigEndian(UInt32(height), to: &header)
        header += [8, format.colorType, 0, 0, 0]
        PNGChunks.append(type: "IHDR", data: header, to: &output)
        if let ppi = pixelsPerInch, ppi > 0, ppi.isFinite {
            let perMetre = UInt32(min((ppi / 0.0254).rounded(), Double(UInt32.max)))
            var physical: [UInt8] = []
            PNGChunks.appendBigEndian(perMetre, to: &physical)
            PNGChunks.appendBigEndian(perMetre, to: &physical)
            physical.append(1)  // unit: metre
            PNGChunks.append(type: "pHYs", data: physical, to: &output)
        }
        var offset = 0
        repeat {
            let end = min(offset + PNGEncoder.idatChunkSize, compressed.count)
            PNGChunks.append(type: "IDAT", data: compressed[offset..<end], to: &output)
            offset = end
        } while offset < compressed.count
        PNGChunks.append(type: "IEND", data: [], to: &output)
        return output
    }

    /// The filter type for a row under the configured strategy.
    private func chooseFilter(
        _ row: [UInt8], _ previous: [UInt8], _ scratch: inout [UInt8], bpp: Int
    ) -> UInt8 {
        switch filter {
        case .none: return 0
        case .sub: return 1
        case .up: return 2
        case .average: return 3
        case .paeth: return 4
        case .adaptive:
            var best: UInt8 = 0
            var bestCost = Int.max
            row.withUnsafeBufferPointer { r in
                previous.withUnsafeBufferPointer { p in
                    scratch.withUnsafeMutableBufferPointer { s in
                        for type: UInt8 in 0...4 {
                            PNGFilter.apply(
                                type: type, row: r, previous: p, bytesPerPixel: bpp, into: s)
                            let cost = PNGFilter.cost(s)
                            if cost < bestCost {
                                bestCost = cost
                                best = type
                            }
                        }
                    }
                }
            }
            return best
        }
    }

    private func deflate(_ raw: [UInt8]) throws(PNGError) -> [UInt8] {
        let level = Int32(min(max(compressionLevel, 0), 9))
        var capacity = compressBound(UInt(raw.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            raw.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &capacity, input.baseAddress, UInt(input.count), level)
            }
        }
        guard status == 0 else { throw .compressionFailed(status) }
        output.removeSubrange(Int(capacity)...)
        return output
    }
}
