/// A point in continuous pixel coordinates: `(0, 0)` is the top-left corner of the image,
/// `(0.5, 0.5)` the centre of its first pixel, and `y` grows downwards.
public struct PixelPoint: Sendable, Hashable {
    /// Horizontal coordinate in pixels.
    public var x: Double
    /// Vertical coordinate in pixels, growing downwards.
    public var y: Double

    /// Creates a point from its coordinates.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    /// The centre of pixel `(column, row)`.
    public static func center(ofPixelX column: Int, y row: Int) -> PixelPoint {
        PixelPoint(x: Double(column) + 0.5, y: Double(row) + 0.5)
    }
}
