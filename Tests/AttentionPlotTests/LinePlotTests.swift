import Foundation
import Testing

@testable import AttentionPlot

@Suite("Line plots and ticks")
struct LinePlotTests {
    @Test func linearTicksAreNice() {
        let first = TickMath.linearCandidates(0...1)[0]
        #expect(first.count <= 12)
        #expect(first.first?.value == 0 && first.last?.value == 1)
        let sparse = TickMath.linearCandidates(0...1).first { $0.count <= 6 }!
        #expect(sparse.map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(
            TickMath.linearCandidates(-3.2...47)
                .contains { $0.map(\.label) == ["0", "10", "20", "30", "40"] })
    }

    @Test func numberFormatting() {
        #expect(TickMath.format(2.5, step: 0.5) == "2.5")
        #expect(TickMath.format(-0.25, step: 0.25) == "-0.25")
        #expect(TickMath.format(1500, step: 500) == "1500")
        #expect(TickMath.format(2e7, step: 1e7) == "2e7")
        #expect(TickMath.format(1.5e-5, step: 5e-6) == "1.5e-5")
        #expect(TickMath.format(0, step: 0.1) == "0.0")
        #expect(TickMath.format(0, step: 5) == "0")
        #expect(TickMath.format(0, step: 1e7) == "0")
        #expect(TickMath.formatDecade(0) == "1")
        #expect(TickMath.formatDecade(3) == "1000")
        #expect(TickMath.formatDecade(-2) == "0.01")
        #expect(TickMath.formatDecade(9) == "1e9")
        #expect(TickMath.formatDecade(-7) == "1e-7")
    }

    @Test func logAxisHasDecadeTicksAndEvenSpacing() throws {
        let axis = LineAxis(scale: .log10, values: [10, 100_000], explicit: nil)
        #expect(axis.limits.lowerBound < 10 && axis.limits.upperBound > 100_000)
        let ticks = try #require(axis.tickCandidates(.automatic).first)
        let major = ticks.filter(\.isMajor).map(\.value)
        #expect(major == [10, 100, 1000, 10_000, 100_000])
        #expect(ticks.filter { !$0.isMajor }.count > 20)
        let fractions = major.compactMap { axis.fraction($0) }
        let gaps = zip(fractions, fractions.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { abs($0 - gaps[0]) < 1e-9 })
        #expect(axis.fraction(0) == nil && axis.fraction(-5) == nil)
    }

    @Test func shortLogRangeFallsBackToLinearValues() throws {
        let axis = LineAxis(scale: .log10, values: [20, 80], explicit: nil)
        let ticks = try #require(axis.tickCandidates(.automatic).first)
        #expect(ticks.contains { $0.label == "50" })
    }

    @Test func explicitLimitsAndTicks() throws {
        let axis = LineAxis(scale: .linear, values: [5], explicit: 0...10)
        #expect(axis.limits == 0...10)
        let ticks = try #require(
            axis.tickCandidates(.labeled(values: [0, 5, 20], labels: ["a", "b", "c"])).first)
        #expect(ticks.map(\.label) == ["a", "b"])
        #expect(axis.tickCandidates(.hidden) == [[]])
    }

    @Test func seriesAreDrawnInsideThePlotInTheirColours() throws {
        let red = RGBA(220, 0, 0)
        var plot = LinePlot(title: "t", xLabel: "x", yLabel: "y", xScale: .log10, yScale: .log10)
        let x: [Double] = [1, 10, 100, 1000]
        plot.series = [
            LineSeries(name: "quadratic", x: x, y: x.map { $0 * $0 }, color: red, marker: .circle)
        ]
        plot.guides = [.horizontal(at: 1e9)]  // outside the data: clipped away entirely
        plot.legend = .hidden
        let image = Figure(.linePlot(plot), widthInches: 5, heightInches: 4, dpi: 100).render()
        let ink = try #require(image.boundingBox { $0 == red })
        // The frame encloses every red pixel.
        let frameColumns = (0..<image.width).filter { x in
            (0..<image.height).filter { image[x, $0] == .black }.count > 200
        }
        let left = try #require(frameColumns.first)
        let right = try #require(frameColumns.last)
        #expect(ink.minX > left && ink.maxX <= right)
        // A power law on log-log axes is a straight line: the curve's midpoint is near the
        // middle of its bounding box.
        let midX = ink.midX
        let reds = (0..<image.height).filter { image[midX, $0] == red }
        let centre = Double(try #require(reds.first) + reds.last!) / 2
        #expect(abs(centre - Double(ink.midY)) < 4)
    }

    @Test func colorsCycleThroughTab10() {
        var plot = LinePlot()
        plot.series = [
            LineSeries(y: [1, 2]), LineSeries(y: [1, 2], color: .black), LineSeries(y: [2, 3]),
        ]
        #expect(plot.color(ofSeries: 0) == RGBA.tab10[0])
        #expect(plot.color(ofSeries: 1) == .black)
        #expect(plot.color(ofSeries: 2) == RGBA.tab10[1])
    }

    @Test func legendListsNamedSeries() throws {
        var plot = LinePlot()
        plot.series = [LineSeries(name: "alpha", y: [1, 2, 3]), LineSeries(y: [3, 2, 1])]
        plot.guides = [.horizontal(at: 2, label: "threshold")]
        let figure = Figure(.linePlot(plot))
        let panel = try #require(
            FigureRenderer(figure: figure, panels: [.linePlot(plot)]).placedPanels().first)
        let strings = panel.scene.operations.compactMap { op -> String? in
            if case .text(let string, _, _) = op { return string }
            return nil
        }
        #expect(strings.contains("alpha") && strings.contains("threshold"))
        plot.legend = .hidden
        let hidden = try #require(
            FigureRenderer(figure: figure, panels: [.linePlot(plot)]).placedPanels().first)
        #expect(
            !hidden.scene.operations.contains {
                if case .text("alpha", _, _) = $0 { return true }
                return false
            })
    }

    @Test func figureFileMatchesRender() throws {
        var plot = LinePlot(title: "Loss")
        plot.series = [LineSeries(name: "train", y: [3, 2, 1.5, 1.2], marker: .diamond)]
        let figure = Figure(.linePlot(plot), widthInches: 3, heightInches: 2, dpi: 100)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try figure.write(to: directory + "/loss.png")
        let decoded = try Bitmap(contentsOfPNGFile: directory + "/loss.png")
        #expect(decoded == figure.render())

        var transparent = figure
        transparent.background = .transparent
        let png = try transparent.pngData()
        #expect(png[25] == 6)  // IHDR colour type: RGBA
        #expect(try PNGDecoder.decode(png)[0, 0] == .transparent)
    }
}
