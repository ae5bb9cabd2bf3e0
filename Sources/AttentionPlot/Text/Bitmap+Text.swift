extension Bitmap {
    /// Draws `text` so that the point `anchor` of its (rotated) bounding box lands on
    /// column `x`, row `y`.
    ///
    /// Lines are separated by `"\n"`. Characters outside printable ASCII are drawn as `"?"`.
    /// Drawing is clipped to the image.
    ///
    /// - Returns: The bounding box the text occupies; it equals `style.size(of: text)` placed
    ///   at the anchor, and no ink falls outside it.
    @discardableResult
    public mutating func draw(
        _ text: String, x: Int, y: Int, anchor: TextAnchor = .topLeft, style: TextStyle
    ) -> PixelRect {
        let mask = TextRasterizer.mask(for: text, style: style)
        let rect = anchor.rect(for: PixelSize(width: mask.width, height: mask.height), x: x, y: y)
        composite(mask, x: rect.x, y: rect.y, color: style.color)
        return rect
    }
}
