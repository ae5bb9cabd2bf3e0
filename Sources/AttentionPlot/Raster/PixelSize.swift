/// A width and height in whole pixels.
public struct PixelSize: Sendable, Hashable, CustomStringConvertible {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Creates a size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Zero by zero.
    public static let zero = PixelSize(width: 0, height: 0)

    /// `"width×height"`.
    public var description: String { "\(width)×\(height)" }
}
