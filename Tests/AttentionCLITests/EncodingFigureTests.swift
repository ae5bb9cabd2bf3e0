import Attention
import AttentionPlot
import Foundation
import Testing

@testable import AttentionCLI

@Suite("Position encoding figure")
struct EncodingFigureTests {
    @Test("position_encodings.png is 2700×750 with three panels")
    func layout() throws {
        let figure = try Figures.positionEncodings()
        let probe = try FigureProbe(writing: figure, name: "position_encodings.png")
        #expect(probe.bitmap.width == 2700 && probe.bitmap.height == 750)
        let panels = probe.panels()
        #expect(panels.count == 3, "found \(panels)")
        let pe = try #require(figure.heatmap(0, 0))
        #expect(pe.rows == 100 && pe.columns == 64 && pe.colormap == .rdBu)
        let head0 = try #require(figure.heatmap(0, 1))
        let mean = try #require(figure.heatmap(0, 2))
        #expect(head0.rows == 100 && head0.columns == 100 && mean.rows == 100)
    }

    @Test("the sinusoidal panel maps 0 to RdBu's white centre and cos(0) = 1 to its blue end")
    func sinusoidalZeroIsWhite() throws {
        let figure = try Figures.positionEncodings(positions: 100, dimensions: 64, heads: 8)
        let probe = try FigureProbe(writing: figure, name: "position_encodings.png")
        let panels = probe.panels()
        try #require(panels.count == 3)
        let pe = panels[0]
        let centre = Colormap.rdBu.color(at: 0.5), top = Colormap.rdBu.color(at: 1)
        #expect(nearWhite(centre, level: 240))
        for column in 0..<64 {
            // Position 0: even columns are sin(0) = 0, odd ones cos(0) = 1.
            let pixel = probe.cellCenter(pe, row: 0, column: column, rows: 100, columns: 64)
            if column % 2 == 0 {
                #expect(
                    close(pixel, centre) && nearWhite(pixel, level: 240),
                    "column \(column): \(pixel)")
            } else {
                #expect(close(pixel, top), "column \(column): \(pixel), expected \(top)")
            }
        }
        // Negative values are red: position 4, column 0 is sin(4) ≈ −0.76.
        let negative = probe.cellCenter(pe, row: 4, column: 0, rows: 100, columns: 64)
        #expect(negative.r > negative.b, "sin(4) < 0 should be red, got \(negative)")
    }

    @Test("ALiBi panels: head 0 is −|i − j|/2, the mean averages all heads' slopes")
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
        // Rendered: the diagonal (bias 0) is viridis' top, the far corner its bottom.
        let probe = try FigureProbe(writing: figure, name: "encodings.png")
        let panels = probe.panels()
        try #require(panels.count == 3)
        let corner = probe.cellCenter(panels[1], row: 9, column: 0, rows: 10, columns: 10)
        let diagonal = probe.cellCenter(panels[1], row: 5, column: 5, rows: 10, columns: 10)
        #expect(close(diagonal, Colormap.viridis.color(at: 1)))
        #expect(close(corner, Colormap.viridis.color(at: 0)))
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
