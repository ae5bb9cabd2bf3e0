/// A fixed-width bitmap font: one glyph of `cellWidth × cellHeight` on/off pixels per
/// character, covering printable ASCII (U+0020 `" "` to U+007E `"~"`).
///
/// The package embeds its fonts as source, so rendering never depends on fonts installed on
/// the system. Characters outside printable ASCII are drawn as `"?"`.
///
/// Use a font through a ``TextStyle``, which adds integer scaling, colour, synthetic bold and
/// rotation.
public struct BitmapFont: Sendable, Hashable, CustomStringConvertible {
    /// A human-readable name, such as `"misc-fixed 8x13"`.
    public let name: String
    /// Advance width of every character, in pixels at scale 1.
    public let cellWidth: Int
    /// Line height, in pixels at scale 1.
    public let cellHeight: Int
    /// Rows from the top of a cell down to the baseline.
    public let ascent: Int
    /// One 16-bit row per glyph row, leftmost pixel in the most significant bit.
    private let rows: [UInt16]

    /// The first code point with a glyph.
    public static let firstCodePoint: UInt32 = 0x20
    /// The last code point with a glyph.
    public static let lastCodePoint: UInt32 = 0x7E
    private static let glyphCount = Int(lastCodePoint - firstCodePoint) + 1
    private static let replacementIndex = Int(UInt32(UInt8(ascii: "?")) - firstCodePoint)

    /// Rows below the baseline.
    public var descent: Int { cellHeight - ascent }

    /// `"name (w×h)"`.
    public var description: String { "\(name) (\(cellWidth)×\(cellHeight))" }

    /// Builds a font from hexadecimal glyph rows (the BDF bitmap convention).
    ///
    /// - Parameter hexGlyphs: One string per character from U+0020 to U+007E, each holding
    ///   `cellHeight` rows of `ceil(cellWidth / 8)` bytes, most significant bit leftmost.
    /// - Precondition: the data is well formed and `cellWidth <= 16`.
    init(name: String, cellWidth: Int, cellHeight: Int, ascent: Int, hexGlyphs: [String]) {
        precondition(cellWidth > 0 && cellWidth <= 16 && cellHeight > 0)
        precondition(hexGlyphs.count == BitmapFont.glyphCount, "expected one glyph per character")
        let bytesPerRow = (cellWidth + 7) / 8
        var rows: [UInt16] = []
        rows.reserveCapacity(hexGlyphs.count * cellHeight)
        for glyph in hexGlyphs {
            let digits = Array(glyph.utf8)
            precondition(digits.count == cellHeight * bytesPerRow * 2, "bad glyph length")
            for row in 0..<cellHeight {
                var value: UInt16 = 0
                for k in 0..<bytesPerRow * 2 {
                    let digit = BitmapFont.hexValue(digits[(row * bytesPerRow * 2) + k])
                    value = value << 4 | UInt16(digit)
                }
                rows.append(value << (16 - bytesPerRow * 8))
            }
        }
        self.name = name
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.ascent = ascent
        self.rows = rows
    }

    /// Whether `character` has its own glyph (otherwise it renders as `"?"`).
    public func hasGlyph(for character: Character) -> Bool {
        guard character.unicodeScalars.count == 1, let scalar = character.unicodeScalars.first
        else { return false }
        return scalar.value >= BitmapFont.firstCodePoint && scalar.value <= BitmapFont.lastCodePoint
    }

    /// Whether pixel `(x, y)` of `character`'s cell is ink. Out-of-cell coordinates are not.
    public func isInk(_ character: Character, x: Int, y: Int) -> Bool {
        guard x >= 0, x < cellWidth, y >= 0, y < cellHeight else { return false }
        return rowBits(glyph: glyphIndex(for: character), row: y) & (0x8000 >> UInt16(x)) != 0
    }

    /// The index of `character`'s glyph, or of `"?"` if it has none.
    func glyphIndex(for character: Character) -> Int {
        guard hasGlyph(for: character), let scalar = character.unicodeScalars.first else {
            return BitmapFont.replacementIndex
        }
        return Int(scalar.value - BitmapFont.firstCodePoint)
    }

    /// Row `row` of glyph `glyph`, leftmost pixel in bit 15.
    func rowBits(glyph: Int, row: Int) -> UInt16 {
        rows[glyph * cellHeight + row]
    }

    private static func hexValue(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: preconditionFailure("invalid hex digit in font data")
        }
    }
}
