/// Turns strings into coverage masks using a ``TextStyle``.
enum TextRasterizer {
    /// The unrotated, then rotated, coverage mask of `text`; its size equals
    /// `style.size(of: text)`.
    static func mask(for text: String, style: TextStyle) -> CoverageMask {
        let size = style.unrotatedSize(of: text)
        var mask = CoverageMask(width: size.width, height: size.height)
        guard size.width > 0, size.height > 0 else { return mask }
        let font = style.font
        let scale = style.effectiveScale
        let cellMask: UInt16 = 0xFFFF << UInt16(16 - font.cellWidth)
        for (lineIndex, line) in TextStyle.lines(of: text).enumerated() {
            let top = lineIndex * font.cellHeight * scale
            for (column, character) in line.enumerated() {
                let glyph = font.glyphIndex(for: character)
                let left = column * font.cellWidth * scale
                for row in 0..<font.cellHeight {
                    var bits = font.rowBits(glyph: glyph, row: row)
                    if style.bold { bits = (bits | bits >> 1) & cellMask }
                    guard bits != 0 else { continue }
                    for x in 0..<font.cellWidth where bits & (0x8000 >> UInt16(x)) != 0 {
                        for dy in 0..<scale {
                            let y = top + row * scale + dy
                            for dx in 0..<scale { mask[left + x * scale + dx, y] = 255 }
                        }
                    }
                }
            }
        }
        return mask.rotated(degrees: style.rotation)
    }
}
