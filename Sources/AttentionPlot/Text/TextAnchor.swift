/// Which point of a text's bounding box is placed at the drawing position.
///
/// For rotated text the anchor refers to the box around the rotated text, as with
/// matplotlib's default `rotation_mode`.
public struct TextAnchor: Sendable, Hashable {
    /// Horizontal alignment of the box relative to the drawing position.
    public enum Horizontal: Sendable, Hashable {
        /// The box starts at the position.
        case left
        /// The box is centred on the position.
        case center
        /// The box ends at the position.
        case right
    }

    /// Vertical alignment of the box relative to the drawing position.
    public enum Vertical: Sendable, Hashable {
        /// The box hangs below the position.
        case top
        /// The box is centred on the position.
        case center
        /// The box sits above the position.
        case bottom
    }

    /// Horizontal alignment.
    public var horizontal: Horizontal
    /// Vertical alignment.
    public var vertical: Vertical

    /// Creates an anchor from its two alignments.
    public init(horizontal: Horizontal, vertical: Vertical) {
        self.horizontal = horizontal
        self.vertical = vertical
    }

    /// Top-left corner.
    public static let topLeft = TextAnchor(horizontal: .left, vertical: .top)
    /// Middle of the top edge.
    public static let top = TextAnchor(horizontal: .center, vertical: .top)
    /// Top-right corner.
    public static let topRight = TextAnchor(horizontal: .right, vertical: .top)
    /// Middle of the left edge.
    public static let left = TextAnchor(horizontal: .left, vertical: .center)
    /// Centre of the box.
    public static let center = TextAnchor(horizontal: .center, vertical: .center)
    /// Middle of the right edge.
    public static let right = TextAnchor(horizontal: .right, vertical: .center)
    /// Bottom-left corner.
    public static let bottomLeft = TextAnchor(horizontal: .left, vertical: .bottom)
    /// Middle of the bottom edge.
    public static let bottom = TextAnchor(horizontal: .center, vertical: .bottom)
    /// Bottom-right corner.
    public static let bottomRight = TextAnchor(horizontal: .right, vertical: .bottom)

    /// The rectangle of size `size` placed at `(x, y)` according to this anchor.
    public func rect(for size: PixelSize, x: Int, y: Int) -> PixelRect {
        let left: Int
        switch horizontal {
        case .left: left = x
        case .center: left = x - size.width / 2
        case .right: left = x - size.width
        }
        let top: Int
        switch vertical {
        case .top: top = y
        case .center: top = y - size.height / 2
        case .bottom: top = y - size.height
        }
        return PixelRect(x: left, y: top, width: size.width, height: size.height)
    }
}
