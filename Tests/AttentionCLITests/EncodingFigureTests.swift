import Attention
import AttentionPlot
import Foundation
import Testing

@testable import AttentionCLI

@Suite("Position encoding figure")
struct EncodingFigureTests {
    @Test("position_encodings.png is the seed's 2250×750 with three RdBu panels")
    func layout() throws {
        let figure = try Figures.positionEncodings()
        let probe = try FigureProbe(writing: figure, name: "position_encodings.png")
        #expect(probe.bitmap.width == 2250 && probe.bitmap.height == 750)
        let edgeInk = probe.inkNearEdges()
        #expect(edgeInk.isEmpty, "drawn at the canvas edge: \(edgeInk.prefix(3))")
        let panels = probe.panels()
        #expect(panels.count == 3, "found \(panels)")
        // pe.T: 64 dimensions down, 100 positions across.
        let pe = try #require(figure.heatmap(0, 0))
        #expect(pe.rows == 64 && pe.columns == 100)
        #expect(pe.xLabel == "Position" && pe.yLabel == "Dimension")
        let head0 = try #require(figure.heatmap(0, 1))
        let mean = try #require(figure.heatmap(0, 2))
        #expect(head0.rows == 100 && head0.columns == 100 && mean.rows == 100)
        for map in [pe, head0, mean] { #expect(map.colormap == .rdBu) }
        // The panels sit side by side inside the canvas, each wider than tall (pe.T fills
        // its panel).
        try #require(panels.count == 3)
        #expect(panels[0].maxX < panels[1].minX && panels[1].maxX < panels[2].minX)
        #expect(panels[2].maxX < probe.bitmap.width && panels.allSatisfy { $0.maxY < 750 })
    }

    /// `PE[p, x]` by the closed form, in Double.
    static func encoding(position p: Int, feature x: Int, dimensions d: Int) -> Double {
        let angle = Double(p) / pow(10000, Double(x - x % 2) / Double(d))
        return x % 2 == 0 ? sin(angle) : cos(angle)
    }

    @Test(
        "the sinusoidal panel is pe.T: position 0's column alternates sin 0 (white) and cos 0 (blue)"
    )
    func sinusoidalOrientation() throws {
        let (positions, dimensions) = (100, 64)
        let figure = try Figures.positionEncodings(
            positions: positions, dimensions: dimensions, heads: 8)
        let probe = try FigureProbe(writing: figure, name: "position_encodings.png")
        let panels = probe.panels()
        try #require(panels.count == 3)
        let pe = panels[0]
        let centre = Colormap.rdBu.color(at: 0.5), top = Colormap.rdBu.color(at: 1)
        #expect(nearWhite(centre, level: 240))
        func pixel(_ x: Int, _ p: Int) -> RGBA {
            probe.cellCenter(pe, row: x, column: p, rows: dimensions, columns: positions)
        }
        for x in 0..<dimensions {
            // Position 0 (the left column): even features are sin(0) = 0, odd ones cos(0) = 1.
            let colour = pixel(x, 0)
            if x % 2 == 0 {
                #expect(close(colour, centre) && nearWhite(colour, level: 240), "feature \(x)")
            } else {
                #expect(close(colour, top), "feature \(x): \(colour), expected \(top)")
            }
        }
        // Along the top row (feature 0, sin p) the sign follows sin: red where negative.
        for p in 0..<positions where abs(sin(Double(p))) > 0.3 {
            let colour = pixel(0, p)
            #expect((colour.r > colour.b) == (sin(Double(p)) < 0), "sin(\(p)): \(colour)")
        }
        // Every cell has the colour of its closed-form value on the symmetric range (±max).
        let range = try #require(figure.heatmap(0, 0)).resolvedColorRange
        #expect(range.lowerBound == -range.upperBound && abs(range.upperBound - 1) < 1e-3)
        var wrong: [String] = []
        for x in 0..<dimensions {
            for p in 0..<positions {
                let value = Self.encoding(position: p, feature: x, dimensions: dimensions)
                // Either neighbouring table entry, for values on a bucket boundary.
                let fraction = (value - range.lowerBound) / (range.upperBound - range.lowerBound)
                let candidates = [-0.5, 0, 0.5].map { Colormap.rdBu.color(at: fraction + $0 / 256) }
                if !candidates.contains(where: { close(pixel(x, p), $0) }) {
                    wrong.append("PE[\(p), \(x)] = \(value): \(pixel(x, p))")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) cells wrong, first: \(wrong.prefix(3))")
    }

    @Test("ALiBi panels: head 0 is −|i − j|/2, the mean averages all heads' slopes; RdBu ends")
    func alibiValues() throws {
        let figure = try Figures.positionEncodings(positions: 10, dimensions: 8, heads: 8)
        let head0 = try #require(figure.heatmap(0, 1))
        let mean = try #require(figure.heatmap(0, 2))
        let slopes = try ALiBi.slopes(heads: 8)
        let meanSlope = slopes.reduce(0, +) / 8
        for i in 0..<10 {
            for j in 0..<10 {
                #expect(head0[i, j] == -0.5 * Float(abs(i - j)))
                #expect(abs(mean[i, j] + meanSlope * Float(abs(i - j))) < 1e-5)
            }
        }
        // Rendered on matplotlib's default range (min…max): the diagonal (bias 0) is RdBu's
        // blue end, the far corners its red end, in both panels.
        let probe = try FigureProbe(writing: figure, name: "encodings.png")
        let panels = probe.panels()
        try #require(panels.count == 3)
        for panel in panels[1...] {
            for (i, j) in [(9, 0), (0, 9)] {
                let corner = probe.cellCenter(panel, row: i, column: j, rows: 10, columns: 10)
                #expect(close(corner, Colormap.rdBu.color(at: 0)), "(\(i), \(j)): \(corner)")
            }
            for d in 0..<10 {
                let diagonal = probe.cellCenter(panel, row: d, column: d, rows: 10, columns: 10)
                #expect(close(diagonal, Colormap.rdBu.color(at: 1)), "(\(d), \(d)): \(diagonal)")
            }
        }
    }

    @Test("another colormap applies to all three panels")
    func otherColormap() throws {
        let figure = try Figures.positionEncodings(
            positions: 10, dimensions: 8, heads: 8, colormap: .viridis)
        for column in 0..<3 { #expect(figure.heatmap(0, column)?.colormap == .viridis) }
        let probe = try FigureProbe(writing: figure, name: "encodings-viridis.png")
        let panels = probe.panels()
        try #require(panels.count == 3)
        // cos(0) = 1 at feature 1, position 0 is viridis' top; bias 0 on the diagonal too.
        let cosine = probe.cellCenter(panels[0], row: 1, column: 0, rows: 8, columns: 10)
        #expect(close(cosine, Colormap.viridis.color(at: 1)))
        let diagonal = probe.cellCenter(panels[1], row: 4, column: 4, rows: 10, columns: 10)
        #expect(close(diagonal, Colormap.viridis.color(at: 1)))
    }

    @Test("bad sizes throw naming the argument")
    func badArguments() {
        for (call, name) in [
            ({ _ = try Figures.positionEncodings(positions: 0) }, "positions"),
            ({ _ = try Figures.positionEncodings(dimensions: 0) }, "dimensions"),
            ({ _ = try Figures.positionEncodings(heads: 0) }, "heads"),
        ] as [(() throws -> Void, String)] {
            #expect {
                try call()
            } throws: { ($0 as? AttentionError)?.argument == name }
        }
    }
}
