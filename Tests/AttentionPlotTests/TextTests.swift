import Testing

@testable import AttentionPlot

@Suite("Bitmap fonts and text rendering")
struct TextTests {
    static let styles: [TextStyle] = [
        TextStyle(font: .fixed8x13),
        TextStyle(font: .fixed8x13, scale: 2, bold: true),
        TextStyle(font: .fixed10x20),
        TextStyle(font: .fixed10x20, scale: 3),
    ]

    @Test func measurementFollowsCellSize() {
        #expect(TextStyle(font: .fixed8x13).size(of: "Hi") == PixelSize(width: 16, height: 13))
        #expect(
            TextStyle(font: .fixed8x13, scale: 2).size(of: "Hi") == PixelSize(width: 32, height: 26)
        )
        #expect(
            TextStyle(font: .fixed10x20).size(of: "abc\nde") == PixelSize(width: 30, height: 40))
        #expect(TextStyle(rotation: 90).size(of: "abc") == PixelSize(width: 13, height: 24))
        #expect(TextStyle().size(of: "") == .zero)
        let diagonal = TextStyle(rotation: 45).size(of: "abcd")
        #expect(diagonal.width == 32 && diagonal.height == 32)  // ceil((32 + 13) / √2)
    }

    @Test func everyPrintableCharacterHasInkExceptSpace() {
        for font in [BitmapFont.fixed8x13, .fixed10x20] {
            for code in BitmapFont.firstCodePoint...BitmapFont.lastCodePoint {
                let character = Character(Unicode.Scalar(code)!)
                var ink = 0
                for y in 0..<font.cellHeight {
                    for x in 0..<font.cellWidth where font.isInk(character, x: x, y: y) { ink += 1 }
                }
                if character == " " { #expect(ink == 0) } else { #expect(ink > 0, "\(character)") }
            }
        }
    }

    @Test func glyphsHaveExpectedShapes() {
        let font = BitmapFont.fixed8x13
        // "|" is a vertical bar: ink in one column over several rows.
        let barColumns = Set(
            (0..<font.cellHeight).flatMap { y in
                (0..<font.cellWidth).filter { font.isInk("|", x: $0, y: y) }
            })
        #expect(barColumns.count == 1)
        // "_" lies at the bottom, "^" at the top.
        let underscoreRows = (0..<font.cellHeight).filter { y in
            (0..<font.cellWidth).contains { font.isInk("_", x: $0, y: y) }
        }
        #expect(underscoreRows.allSatisfy { $0 >= font.ascent - 1 })
        let caretRows = (0..<font.cellHeight).filter { y in
            (0..<font.cellWidth).contains { font.isInk("^", x: $0, y: y) }
        }
        #expect(caretRows.allSatisfy { $0 < font.cellHeight / 2 })
        // Unsupported characters render as "?".
        #expect(!font.hasGlyph(for: "é"))
        #expect(
            TextRasterizer.mask(for: "é", style: TextStyle())
                == TextRasterizer.mask(for: "?", style: TextStyle()))
    }

    @Test(arguments: [0.0, 90, 45, -30, 180, 270, 12.5])
    func inkStaysInsideMeasuredBox(rotation: Double) throws {
        for var style in Self.styles {
            style.rotation = rotation
            let text = "Attention: qkv_42 {}"
            var canvas = Bitmap(width: 700, height: 700, fill: .white)
            let rect = canvas.draw(text, x: 350, y: 350, anchor: .center, style: style)
            #expect(rect.width == style.size(of: text).width)
            #expect(rect.height == style.size(of: text).height)
            #expect(canvas.bounds.contains(rect))
            let ink = try #require(canvas.boundingBox(where: isInk))
            #expect(rect.contains(ink), "ink \(ink) outside \(rect) at \(rotation)°")
            // The ink spans most of the box, so the box is not wildly oversized.
            #expect(ink.width * 10 >= rect.width * 8 && ink.height * 10 >= rect.height * 5)
        }
    }

    @Test func axisAlignedTextIsCrisp() {
        for rotation in [0.0, 90] {
            for style in Self.styles {
                var s = style
                s.rotation = rotation
                var canvas = Bitmap(width: 600, height: 600, fill: .white)
                canvas.draw("Crisp 0.125 AaBb", x: 10, y: 10, style: s)
                var inkPixels = 0
                for y in 0..<canvas.height {
                    for x in 0..<canvas.width {
                        let pixel = canvas[x, y]
                        #expect(pixel == .white || pixel == .black)
                        if pixel == .black { inkPixels += 1 }
                    }
                }
                #expect(inkPixels > 100)
            }
        }
    }

    @Test func scaledTextIsBlockReplicated() {
        var small = Bitmap(width: 40, height: 20, fill: .white)
        var large = Bitmap(width: 80, height: 40, fill: .white)
        small.draw("Ag", x: 0, y: 0, style: TextStyle(font: .fixed8x13))
        large.draw("Ag", x: 0, y: 0, style: TextStyle(font: .fixed8x13, scale: 2))
        for y in 0..<26 {
            for x in 0..<32 { #expect(large[x, y] == small[x / 2, y / 2]) }
        }
    }

    @Test func anchorsPositionTheBox() {
        let style = TextStyle(font: .fixed8x13)
        var canvas = Bitmap(width: 100, height: 100, fill: .white)
        #expect(
            canvas.draw("ab", x: 50, y: 50, anchor: .topLeft, style: style)
                == PixelRect(x: 50, y: 50, width: 16, height: 13))
        #expect(
            canvas.draw("ab", x: 50, y: 50, anchor: .bottomRight, style: style)
                == PixelRect(x: 34, y: 37, width: 16, height: 13))
        #expect(
            canvas.draw("ab", x: 50, y: 50, anchor: .center, style: style)
                == PixelRect(x: 42, y: 44, width: 16, height: 13))
    }

    @Test func verticalTextReadsBottomToTop() throws {
        // Rotated 90° counter-clockwise, the first character is drawn lowest and the glyphs'
        // tops face left, so an underscore (at the glyph bottom) ends up on the right.
        var canvas = Bitmap(width: 40, height: 40, fill: .white)
        let rect = canvas.draw("_ ", x: 0, y: 0, style: TextStyle(rotation: 90))
        let ink = try #require(canvas.boundingBox(where: isInk))
        #expect(ink.minY >= rect.midY)  // the underscore is in the lower half
        #expect(ink.minX >= rect.midX)
    }

    @Test func matchingPicksNearestSize() {
        #expect(TextStyle.matching(pixelHeight: 13).lineHeight == 13)
        #expect(TextStyle.matching(pixelHeight: 21).lineHeight == 20)
        #expect(TextStyle.matching(pixelHeight: 27).lineHeight == 26)
        #expect(TextStyle.matching(pixelHeight: 41).lineHeight == 40)
    }
}
