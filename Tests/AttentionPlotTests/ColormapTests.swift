import Testing

@testable import AttentionPlot

@Suite("Colormaps and colour ranges")
struct ColormapTests {
    @Test func endpointsMatchMatplotlib() {
        #expect(Colormap.blues.color(at: 0) == RGBA(hex: "f7fbff"))
        #expect(Colormap.blues.color(at: 1) == RGBA(hex: "08306b"))
        #expect(Colormap.rdBu.color(at: 0) == RGBA(hex: "67001f"))
        #expect(Colormap.rdBu.color(at: 1) == RGBA(hex: "053061"))
        #expect(Colormap.viridis.color(at: 0) == RGBA(hex: "440154"))
        #expect(Colormap.viridis.color(at: 1) == RGBA(hex: "fde725"))
        // Out-of-range and NaN fractions clamp to the ends.
        #expect(Colormap.viridis.color(at: -3) == Colormap.viridis.color(at: 0))
        #expect(Colormap.viridis.color(at: 7) == Colormap.viridis.color(at: 1))
        #expect(Colormap.viridis.color(at: .nan) == Colormap.viridis.color(at: 0))
        for map in Colormap.builtIn { #expect(map.lookupTable.count == 256) }
    }

    @Test func viridisMidpointMatchesTable() {
        // matplotlib: viridis(0.5) is entry 128, #21918c.
        #expect(Colormap.viridis.color(at: 0.5) == RGBA(hex: "21918c"))
    }

    @Test func rdBuCentreIsNearWhiteForSymmetricRange() {
        let values: [Float] = [-2, -0.5, 0, 0.25, 1.5]
        let range = ColorRange.symmetric.resolve(for: values)
        #expect(range == -2...2)
        let centre = Colormap.rdBu.color(for: 0, in: range)
        for channel in [centre.r, centre.g, centre.b] {
            #expect(Double(channel) >= 0.9 * 255)
        }
        // Negative values are red-ish, positive blue-ish.
        let negative = Colormap.rdBu.color(for: -1.5, in: range)
        let positive = Colormap.rdBu.color(for: 1.5, in: range)
        #expect(negative.r > negative.b)
        #expect(positive.b > positive.r)
    }

    @Test func bluesGetsDarkerMonotonically() {
        let table = Colormap.blues.lookupTable
        func luminance(_ c: RGBA) -> Int { 299 * Int(c.r) + 587 * Int(c.g) + 114 * Int(c.b) }
        for (a, b) in zip(table, table.dropFirst()) { #expect(luminance(a) >= luminance(b)) }
    }

    @Test func namedLookupAndReversal() throws {
        #expect(Colormap.named("viridis") == .viridis)
        #expect(Colormap.named("blues") == .blues)
        let reversed = try #require(Colormap.named("RdBu_r"))
        #expect(reversed.name == "RdBu_r")
        #expect(reversed.color(at: 0) == Colormap.rdBu.color(at: 1))
        #expect(reversed.reversed() == .rdBu)
        #expect(Colormap.named("jet") == nil)
    }

    @Test func anchorsAreInterpolatedEvenly() {
        let map = Colormap(name: "bw", anchors: [.black, .white], resolution: 5)
        #expect(map.lookupTable.map(\.r) == [0, 64, 128, 191, 255])
    }

    @Test func colorRangeResolution() {
        let values: [Float] = [3, .nan, -1, .infinity, 2]
        #expect(ColorRange.automatic.resolve(for: values) == -1...3)
        #expect(ColorRange.symmetric.resolve(for: values) == -3...3)
        #expect(ColorRange.fixed(min: 5, max: -5).resolve(for: values) == -5...5)
        #expect(ColorRange.fixed(min: .nan, max: 1).resolve(for: values) == -1...3)
        // Constant data maps to the middle colour rather than an end.
        let constant = ColorRange.automatic.resolve(for: [2, 2])
        #expect(constant.contains(2) && constant.lowerBound < 2 && constant.upperBound > 2)
        #expect(ColorRange.automatic.resolve(for: [.nan]) == 0...1)
    }
}
