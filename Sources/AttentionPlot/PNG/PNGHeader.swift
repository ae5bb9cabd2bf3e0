/// The decoded contents of an `IHDR` chunk, validated.
struct PNGHeader: Sendable, Hashable {
    let width: Int
    let height: Int
    let bitDepth: Int
    let colorType: UInt8
    let interlaced: Bool

    /// Decoded images may hold at most this many pixels (1 GiB as RGBA).
    static let maxPixels = 1 << 28

    init(chunk data: ArraySlice<UInt8>) throws(PNGError) {
        guard data.count == 13 else {
            throw .invalidHeader("IHDR length \(data.count), expected 13")
        }
        let bytes = Array(data)
        let width = Int(PNGChunks.readBigEndian(bytes, at: 0))
        let height = Int(PNGChunks.readBigEndian(bytes, at: 4))
        guard width > 0, height > 0, width <= PNGChunks.maxLength, height <= PNGChunks.maxLength,
            width * height <= PNGHeader.maxPixels
        else { throw .invalidDimensions(width: width, height: height) }
        let bitDepth = Int(bytes[8])
        let colorType = bytes[9]
        let allowed: [Int]
        switch colorType {
        case 0: allowed = [1, 2, 4, 8, 16]
        case 2, 4, 6: allowed = [8, 16]
        case 3: allowed = [1, 2, 4, 8]
        default: throw .invalidHeader("colour type \(colorType)")
        }
        guard allowed.contains(bitDepth) else {
            throw .invalidHeader("bit depth \(bitDepth) with colour type \(colorType)")
        }
        guard bytes[10] == 0 else { throw .invalidHeader("compression method \(bytes[10])") }
        guard bytes[11] == 0 else { throw .invalidHeader("filter method \(bytes[11])") }
        guard bytes[12] <= 1 else { throw .invalidHeader("interlace method \(bytes[12])") }
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.colorType = colorType
        self.interlaced = bytes[12] == 1
    }

    /// Samples per pixel.
    var channels: Int {
        switch colorType {
        case 2: return 3
        case 4: return 2
        case 6: return 4
        default: return 1
        }
    }

    /// Bytes per scanline, excluding the filter byte.
    var rowBytes: Int { (width * channels * bitDepth + 7) / 8 }

    /// The filter unit: bytes per complete pixel, at least 1.
    var filterBytesPerPixel: Int { max(1, channels * bitDepth / 8) }
}
