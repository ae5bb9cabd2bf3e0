/// An axis-aligned rectangle of whole pixels: columns `x..<x+width`, rows `y..<y+height`.
///
/// The origin is the top-left corner of the image and `y` grows downwards.
public struct PixelRect: Sendable, Hashable, CustomStringConvertible {
    /// Leftmost column.
    public var x: Int
    /// Topmost row.
    public var y: Int
    /// Number of columns; a rectangle with `width <= 0` is empty.
    public var width: Int
    /// Number of rows; a rectangle with `height <= 0` is empty.
    public var height: Int

    /// Creates a rectangle from its top-left corner and size.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Creates the rectangle covering columns `minX..<maxX` and rows `minY..<maxY`.
    public init(minX: Int, minY: Int, maxX: Int, maxY: Int) {
        self.init(x: minX, y: minY, width: maxX - minX, height: maxY - minY)
    }

    /// Leftmost column (same as ``x``).
    public var minX: Int { x }
    /// Topmost row (same as ``y``).
    public var minY: Int { y }
    /// One past the rightmost column.
    public var maxX: Int { x + width }
    /// One past the bottom row.
    public var maxY: Int { y + height }
    /// The middle column (rounded down).
    public var midX: Int { x + width / 2 }
    /// The middle row (rounded down).
    public var midY: Int { y + height / 2 }
    /// Whether the rectangle covers no pixel.
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// Whether pixel `(px, py)` lies inside.
    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// Whether every pixel of `other` lies inside (an empty `other` is always contained).
    public func contains(_ other: PixelRect) -> Bool {
        other.isEmpty
            || (other.minX >= minX && other.maxX <= maxX && other.minY >= minY
                && other.maxY <= maxY)
    }

    /// The pixels common to both rectangles (empty, with zero size, if they do not overlap).
    public func intersection(_ other: PixelRect) -> PixelRect {
        let x0 = max(minX, other.minX)
        let y0 = max(minY, other.minY)
        let x1 = min(maxX, other.maxX)
        let y1 = min(maxY, other.maxY)
        guard x1 > x0, y1 > y0 else { return PixelRect(x: x0, y: y0, width: 0, height: 0) }
        return PixelRect(minX: x0, minY: y0, maxX: x1, maxY: y1)
    }

    /// The smallest rectangle containing both; an empty operand is ignored.
    public func union(_ other: PixelRect) -> PixelRect {
        if isEmpty { return other }
        if other.isEmpty { return self }
        return PixelRect(
            minX: min(minX, other.minX), minY: min(minY, other.minY),
            maxX: max(maxX, other.maxX), maxY: max(maxY, other.maxY))
    }

    /// The rectangle grown by `dx` columns on the left and right and `dy` rows on the top and
    /// bottom (shrunk for negative values).
    public func insetBy(dx: Int, dy: Int) -> PixelRect {
        PixelRect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy)
    }

    /// `"(x, y) width×height"`.
    public var description: String { "(\(x), \(y)) \(width)×\(height)" }
}
