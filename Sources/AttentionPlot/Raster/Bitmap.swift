/// A mutable RGBA raster with 8 bits per channel, stored row-major from the top-left corner.
///
/// `Bitmap` is a value type: copies are independent (copy-on-write). Drawing operations clip
/// to the image, so callers may pass coordinates that are partly or wholly outside it.
///
/// ```swift
/// var image = Bitmap(width: 64, height: 32, fill: .white)
/// image.fillRect(PixelRect(x: 4, y: 4, width: 10, height: 10), color: .black)
/// try image.write(to: "square.png")
/// ```
public struct Bitmap: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The pixels as `r, g, b, a` bytes, row-major, `width * height * 4` of them.
    public internal(set) var pixels: [UInt8]

    /// Creates a bitmap with every pixel set to `fill`.
    ///
    /// - Precondition: `width` and `height` are not negative.
    public init(width: Int, height: Int, fill: RGBA = .transparent) {
        precondition(width >= 0 && height >= 0, "Bitmap size must not be negative")
        self.width = width
        self.height = height
        let count = width * height
        if fill == .transparent {
            pixels = [UInt8](repeating: 0, count: count * 4)
        } else {
            pixels = [UInt8](unsafeUninitializedCapacity: count * 4) { buffer, initialized in
                for i in 0..<count {
                    buffer[4 * i] = fill.r
                    buffer[4 * i + 1] = fill.g
                    buffer[4 * i + 2] = fill.b
                    buffer[4 * i + 3] = fill.a
                }
                initialized = count * 4
            }
        }
    }

    /// Wraps existing RGBA bytes (`r, g, b, a` per pixel, row-major).
    ///
    /// - Precondition: `pixels.count == width * height * 4`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "Bitmap size must not be negative")
        precondition(pixels.count == width * height * 4, "expected width * height * 4 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The whole image as a rectangle at the origin.
    public var bounds: PixelRect { PixelRect(x: 0, y: 0, width: width, height: height) }

    /// The pixel at column `x`, row `y`.
    ///
    /// - Precondition: the pixel lies inside the image.
    public subscript(x: Int, y: Int) -> RGBA {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel out of bounds")
            let i = (y * width + x) * 4
            return RGBA(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel out of bounds")
            let i = (y * width + x) * 4
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
            pixels[i + 3] = newValue.a
        }
    }

    /// The pixel at column `x`, row `y`, or `nil` outside the image.
    public func pixel(x: Int, y: Int) -> RGBA? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        return self[x, y]
    }

    /// Sets every pixel to `color` (no blending).
    public mutating func fill(_ color: RGBA) {
        self = Bitmap(width: width, height: height, fill: color)
    }

    /// Paints `color` over the pixels of `rect` that lie inside the image.
    ///
    /// An opaque colour replaces the pixels; a translucent one is composited over them.
    public mutating func fillRect(_ rect: PixelRect, color: RGBA) {
        let clipped = rect.intersection(bounds)
        guard !clipped.isEmpty, color.a > 0 else { return }
        let w = width
        pixels.withUnsafeMutableBufferPointer { buffer in
            for y in clipped.minY..<clipped.maxY {
                var i = (y * w + clipped.minX) * 4
                for _ in clipped.minX..<clipped.maxX {
                    Bitmap.composite(color, alpha: 255, into: buffer, at: i)
                    i += 4
                }
            }
        }
    }

    /// Composites `color` over one pixel with the given coverage (`0...1`, scaling its alpha).
    /// Pixels outside the image are ignored.
    public mutating func blendPixel(x: Int, y: Int, color: RGBA, coverage: Double = 1) {
        guard x >= 0, x < width, y >= 0, y < height, coverage > 0 else { return }
        let alpha = UInt32((min(coverage, 1) * 255).rounded())
        let i = (y * width + x) * 4
        pixels.withUnsafeMutableBufferPointer { buffer in
            Bitmap.composite(color, alpha: alpha, into: buffer, at: i)
        }
    }

    /// Source-over compositing of `color`, its alpha scaled by `alpha / 255`, onto the pixel
    /// whose red byte is at `i`.
    @inline(__always)
    static func composite(
        _ color: RGBA, alpha: UInt32, into buffer: UnsafeMutableBufferPointer<UInt8>, at i: Int
    ) {
        let sa = UInt32(color.a) * alpha  // 0...65025
        if sa == 0 { return }
        if sa == 65025 {
            buffer[i] = color.r
            buffer[i + 1] = color.g
            buffer[i + 2] = color.b
            buffer[i + 3] = 255
            return
        }
        let da = UInt32(buffer[i + 3])
        if da == 255 {
            // Opaque destination: a plain weighted average, rounded.
            let inv = 65025 - sa
            buffer[i] = UInt8((UInt32(color.r) * sa + UInt32(buffer[i]) * inv + 32512) / 65025)
            buffer[i + 1] = UInt8(
                (UInt32(color.g) * sa + UInt32(buffer[i + 1]) * inv + 32512) / 65025)
            buffer[i + 2] = UInt8(
                (UInt32(color.b) * sa + UInt32(buffer[i + 2]) * inv + 32512) / 65025)
            return
        }
        let srcA = Double(sa) / 65025
        let dstA = Double(da) / 255 * (1 - srcA)
        let outA = srcA + dstA
        func channel(_ s: UInt8, _ d: UInt8) -> UInt8 {
            UInt8(((Double(s) * srcA + Double(d) * dstA) / outA).rounded())
        }
        buffer[i] = channel(color.r, buffer[i])
        buffer[i + 1] = channel(color.g, buffer[i + 1])
        buffer[i + 2] = channel(color.b, buffer[i + 2])
        buffer[i + 3] = UInt8((outA * 255).rounded())
    }

    /// Gives a closure direct access to the RGBA bytes, for bulk processing.
    public mutating func withUnsafeMutablePixels<R>(
        _ body: (UnsafeMutableBufferPointer<UInt8>) throws -> R
    ) rethrows -> R {
        try pixels.withUnsafeMutableBufferPointer { try body($0) }
    }
}
