import Testing

@testable import AttentionPlot

@Suite("Bitmap drawing")
struct BitmapTests {
    @Test func fillRectClipsToImage() {
        var image = Bitmap(width: 10, height: 10, fill: .white)
        image.fillRect(PixelRect(x: -5, y: 8, width: 8, height: 10), color: .black)
        #expect(image[0, 9] == .black && image[2, 8] == .black)
        #expect(image[3, 8] == .white && image[0, 7] == .white)
    }

    @Test func translucentFillBlends() {
        var image = Bitmap(width: 1, height: 1, fill: .white)
        image.fillRect(image.bounds, color: RGBA(0, 0, 0, 128))
        #expect(image[0, 0] == RGBA(127, 127, 127, 255))
        var clear = Bitmap(width: 1, height: 1)
        clear.blendPixel(x: 0, y: 0, color: RGBA(200, 100, 0, 255), coverage: 0.5)
        #expect(clear[0, 0] == RGBA(200, 100, 0, 128))
    }

    @Test func blitCopiesAndClips() {
        var source = Bitmap(width: 3, height: 2, fill: RGBA(10, 20, 30))
        source[2, 1] = RGBA(1, 2, 3, 0)
        var target = Bitmap(width: 4, height: 4, fill: .white)
        target.blit(source, x: 2, y: 3, mode: .copy)
        #expect(target[2, 3] == RGBA(10, 20, 30) && target[3, 3] == RGBA(10, 20, 30))
        #expect(target[1, 3] == .white && target[2, 2] == .white)
        var blended = Bitmap(width: 3, height: 2, fill: .white)
        blended.blit(source, x: 0, y: 0, mode: .blend)
        #expect(blended[2, 1] == .white)  // fully transparent source pixel
        #expect(blended.cropped(to: PixelRect(x: 1, y: 0, width: 5, height: 1)).width == 2)
    }

    @Test func quarterTurnsRoundTrip() {
        let image = noiseBitmap(width: 5, height: 3)
        let turned = image.rotatedQuarterTurn()
        #expect(turned.width == 3 && turned.height == 5)
        #expect(turned[0, 4] == image[0, 0])  // counter-clockwise: top-left goes bottom-left
        #expect(turned.rotatedQuarterTurn(clockwise: true) == image)
    }

    @Test func crispLineHitsEndpointsAndStaysThin() {
        var image = Bitmap(width: 20, height: 20, fill: .white)
        image.drawCrispLine(x0: 2, y0: 3, x1: 17, y1: 11, color: .black)
        #expect(image[2, 3] == .black && image[17, 11] == .black)
        for x in 2...17 {
            let inked = (0..<20).filter { image[x, $0] == .black }
            #expect(inked.count >= 1 && inked.count <= 2)
        }
    }

    @Test func antialiasedLineCoversItsPathOnly() throws {
        var image = Bitmap(width: 60, height: 40, fill: .white)
        image.drawLine(
            from: PixelPoint(x: 5.5, y: 20.5), to: PixelPoint(x: 54.5, y: 20.5), color: .black,
            width: 3)
        #expect(image[30, 20] == .black && image[30, 19] == .black && image[30, 21] == .black)
        #expect(image[30, 17] == .white && image[30, 23] == .white)
        let ink = try #require(image.boundingBox(where: isInk))
        #expect(ink == PixelRect(minX: 4, minY: 19, maxX: 56, maxY: 22))  // round caps: ±1.5 px
    }

    @Test func dashedLineHasGaps() {
        var image = Bitmap(width: 100, height: 10, fill: .white)
        image.drawPolyline(
            [PixelPoint(x: 0, y: 5.5), PixelPoint(x: 100, y: 5.5)], color: .black, width: 1,
            dash: [6, 4])
        let row = (0..<100).map { image[$0, 5] == .white }
        var runs = 0
        for (a, b) in zip(row, row.dropFirst()) where a != b { runs += 1 }
        #expect(runs >= 15)  // about ten dashes, each with two edges
    }

    @Test func linesRespectClipRectangle() {
        var image = Bitmap(width: 30, height: 30, fill: .white)
        let clip = PixelRect(x: 10, y: 10, width: 10, height: 10)
        image.drawLine(
            from: PixelPoint(x: 0, y: 0), to: PixelPoint(x: 30, y: 30), color: .black, width: 2,
            clip: clip)
        image.drawMarker(.circle, at: PixelPoint(x: 10, y: 10), size: 8, color: .black, clip: clip)
        for y in 0..<30 {
            for x in 0..<30 where !clip.contains(x: x, y: y) { #expect(image[x, y] == .white) }
        }
        #expect(image[15, 15] == .black)
    }

    @Test(arguments: Marker.allCases)
    func markersAreCentredAndSized(marker: Marker) throws {
        var image = Bitmap(width: 40, height: 40, fill: .white)
        image.drawMarker(marker, at: PixelPoint(x: 20, y: 20), size: 16, color: .black)
        let ink = try #require(image.boundingBox(where: isInk))
        #expect(PixelRect(x: 11, y: 11, width: 18, height: 18).contains(ink))
        #expect(ink.width >= 10 && ink.height >= 10)
        if marker != .cross { #expect(image[20, 20] == .black) }
    }
}
