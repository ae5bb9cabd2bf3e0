/// Expands unfiltered PNG scanlines of any colour type and bit depth into RGBA.
struct PNGPixelConverter {
    let header: PNGHeader
    let palette: [RGBA]
    let transparency: [UInt8]?

    /// Builds the bitmap from scanlines that still carry their (now meaningless) filter byte.
    func bitmap(from scanlines: [UInt8]) throws(PNGError) -> Bitmap {
        let width = header.width
        let height = header.height
        let depth = header.bitDepth
        let channels = header.channels
        let stride = header.rowBytes + 1
        let maxSample = (1 << depth) - 1
        let transparentKey = try colorKey()
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        var paletteError = false

        scanlines.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let rowStart = y * stride + 1
                    /// Sample `index` of this row at its original precision.
                    func sample(_ index: Int) -> Int {
                        switch depth {
                        case 16:
                            let i = rowStart + 2 * index
                            return Int(src[i]) << 8 | Int(src[i + 1])
                        case 8:
                            return Int(src[rowStart + index])
                        default:
                            let bit = index * depth
                            let byte = Int(src[rowStart + bit / 8])
                            return (byte >> (8 - depth - bit % 8)) & maxSample
                        }
                    }
                    /// A sample reduced to 8 bits.
                    func byte(_ value: Int) -> UInt8 {
                        depth == 16 ? UInt8(value >> 8) : UInt8(value * 255 / maxSample)
                    }
                    for x in 0..<width {
                        let d = (y * width + x) * 4
                        let base = x * channels
                        var color: RGBA
                        switch header.colorType {
                        case 0:
                            let v = sample(base)
                            color = RGBA(byte(v), byte(v), byte(v))
                            if let key = transparentKey, key[0] == v { color.a = 0 }
                        case 2:
                            let r = sample(base)
                            let g = sample(base + 1)
                            let b = sample(base + 2)
                            color = RGBA(byte(r), byte(g), byte(b))
                            if let key = transparentKey, key[0] == r, key[1] == g, key[2] == b {
                                color.a = 0
                            }
                        case 3:
                            let index = sample(base)
                            guard index < palette.count else {
                                paletteError = true
                                return
                            }
                            color = palette[index]
                            if let alphas = transparency, index < alphas.count {
                                color.a = alphas[index]
                            }
                        case 4:
                            let v = byte(sample(base))
                            color = RGBA(v, v, v, byte(sample(base + 1)))
                        default:
                            color = RGBA(
                                byte(sample(base)), byte(sample(base + 1)),
                                byte(sample(base + 2)), byte(sample(base + 3)))
                        }
                        dst[d] = color.r
                        dst[d + 1] = color.g
                        dst[d + 2] = color.b
                        dst[d + 3] = color.a
                    }
                }
            }
        }
        if paletteError { throw .invalidHeader("palette index out of range") }
        return Bitmap(width: width, height: height, pixels: pixels)
    }

    /// The sample values marked fully transparent by `tRNS`, for greyscale and RGB images.
    private func colorKey() throws(PNGError) -> [Int]? {
        guard let data = transparency else { return nil }
        switch header.colorType {
        case 0:
            guard data.count == 2 else { throw .invalidHeader("tRNS length \(data.count)") }
            return [Int(data[0]) << 8 | Int(data[1])]
        case 2:
            guard data.count == 6 else { throw .invalidHeader("tRNS length \(data.count)") }
            return (0..<3).map { Int(data[2 * $0]) << 8 | Int(data[2 * $0 + 1]) }
        case 3:
            guard data.count <= palette.count else {
                throw .invalidHeader("tRNS has more entries than PLTE")
            }
            return nil
        default:
            throw .invalidHeader("tRNS not allowed with colour type \(header.colorType)")
        }
    }
}
