extension Bitmap {
    /// How ``Bitmap/blit(_:x:y:mode:)`` combines source pixels with the destination.
    public enum BlitMode: Sendable, Hashable {
        /// Copy source pixels verbatim, alpha included.
        case copy
        /// Composite source pixels over the destination using their alpha ("source over").
        case blend
    }

    /// Draws `source` with its top-left corner at column `x`, row `y`.
    ///
    /// Parts falling outside this bitmap are clipped.
    public mutating func blit(_ source: Bitmap, x: Int, y: Int, mode: BlitMode = .blend) {
        let target = PixelRect(x: x, y: y, width: source.width, height: source.height)
            .intersection(bounds)
        guard !target.isEmpty else { return }
        let dstWidth = width
        source.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for row in target.minY..<target.maxY {
                    let sy = row - y
                    let srcStart = (sy * source.width + (target.minX - x)) * 4
                    let dstStart = (row * dstWidth + target.minX) * 4
                    let count = target.width * 4
                    switch mode {
                    case .copy:
                        for k in 0..<count { dst[dstStart + k] = src[srcStart + k] }
                    case .blend:
                        var s = srcStart
                        var d = dstStart
                        for _ in 0..<target.width {
                            let color = RGBA(src[s], src[s + 1], src[s + 2], src[s + 3])
                            Bitmap.composite(color, alpha: 255, into: dst, at: d)
                            s += 4
                            d += 4
                        }
                    }
                }
            }
        }
    }

    /// A copy of the pixels inside `rect`, clipped to the image.
    public func cropped(to rect: PixelRect) -> Bitmap {
        let clipped = rect.intersection(bounds)
        guard !clipped.isEmpty else { return Bitmap(width: 0, height: 0) }
        var result = [UInt8]()
        result.reserveCapacity(clipped.width * clipped.height * 4)
        for row in clipped.minY..<clipped.maxY {
            let start = (row * width + clipped.minX) * 4
            result.append(contentsOf: pixels[start..<start + clipped.width * 4])
        }
        return Bitmap(width: clipped.width, height: clipped.height, pixels: result)
    }

    /// The image turned a quarter turn; counter-clockwise by default.
    public func rotatedQuarterTurn(clockwise: Bool = false) -> Bitmap {
        var result = Bitmap(width: height, height: width)
        for y in 0..<height {
            for x in 0..<width {
                let (nx, ny) = clockwise ? (height - 1 - y, x) : (y, width - 1 - x)
                result[nx, ny] = self[x, y]
            }
        }
        return result
    }

    /// The smallest rectangle containing every pixel for which `isInk` is true, or `nil` if
    /// there is none. Useful for checking where something was drawn.
    public func boundingBox(where isInk: (RGBA) -> Bool) -> PixelRect? {
        var minX = Int.max
        var minY = Int.max
        var maxX = Int.min
        var maxY = Int.min
        for y in 0..<height {
            for x in 0..<width where isInk(self[x, y]) {
                minX = Swift.min(minX, x)
                maxX = Swift.max(maxX, x)
                minY = Swift.min(minY, y)
                maxY = Swift.max(maxY, y)
            }
        }
        guard minX != Int.max else { return nil }
        return PixelRect(minX: minX, minY: minY, maxX: maxX + 1, maxY: maxY + 1)
    }
}
