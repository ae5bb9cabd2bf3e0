import Foundation

/// How text is drawn: font, integer scale, colour, weight and rotation.
///
/// ```swift
/// let title = TextStyle(font: .fixed8x13, scale: 2, bold: true)
/// let size = title.size(of: "Attention")          // 144×26
/// let yLabel = TextStyle(rotation: 90)             // reads bottom to top
/// let tick = TextStyle(font: .fixed10x20, rotation: 45)
/// ```
public struct TextStyle: Sendable, Hashable {
    /// The glyph source.
    public var font: BitmapFont
    /// Integer magnification; every font pixel becomes a `scale × scale` block, so text stays
    /// sharp. Values below 1 are treated as 1.
    public var scale: Int
    /// Ink colour (its alpha is respected).
    public var color: RGBA
    /// Synthetic bold: each glyph row is widened by one font pixel to the right.
    public var bold: Bool
    /// Counter-clockwise rotation in degrees, as in matplotlib (`90` reads bottom to top).
    /// Multiples of 90° are exact; other angles are anti-aliased by supersampling.
    public var rotation: Double

    /// Creates a style; every parameter has a default.
    public init(
        font: BitmapFont = .fixed8x13, scale: Int = 1, color: RGBA = .black,
        bold: Bool = false, rotation: Double = 0
    ) {
        self.font = font
        self.scale = scale
        self.color = color
        self.bold = bold
        self.rotation = rotation
    }

    /// The scale actually used (at least 1).
    var effectiveScale: Int { max(scale, 1) }

    /// Height of one line of text in pixels, before rotation.
    public var lineHeight: Int { font.cellHeight * effectiveScale }

    /// The size of `text` laid out horizontally: the longest line's width by the number of
    /// lines (`"\n"` separates lines) times ``lineHeight``. Empty text measures zero.
    public func unrotatedSize(of text: String) -> PixelSize {
        guard !text.isEmpty else { return .zero }
        let lines = TextStyle.lines(of: text)
        let longest = lines.map(\.count).max() ?? 0
        return PixelSize(
            width: longest * font.cellWidth * effectiveScale,
            height: lines.count * lineHeight)
    }

    /// The size of the box that ``Bitmap/draw(_:x:y:anchor:style:)`` fills for `text`,
    /// rotation included. All ink falls inside this box.
    public func size(of text: String) -> PixelSize {
        CoverageMask.rotatedSize(unrotatedSize(of: text), degrees: rotation)
    }

    /// A style whose line height is closest (on a log scale) to `pixelHeight`, choosing among
    /// the built-in fonts at scales 1–8.
    public static func matching(
        pixelHeight: Double, color: RGBA = .black, bold: Bool = false, rotation: Double = 0
    ) -> TextStyle {
        var best = TextStyle(font: .fixed8x13, color: color, bold: bold, rotation: rotation)
        var bestError = Double.infinity
        let target = max(pixelHeight, 1)
        for font in [BitmapFont.fixed8x13, .fixed10x20] {
            for scale in 1...8 {
                let error = abs(log(Double(font.cellHeight * scale) / target))
                if error < bestError - 1e-9 {
                    bestError = error
                    best.font = font
                    best.scale = scale
                }
            }
        }
        return best
    }

    static func lines(of text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }
}
