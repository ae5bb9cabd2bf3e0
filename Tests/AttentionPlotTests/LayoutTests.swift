import Testing

@testable import AttentionPlot

@Suite("Figure layout")
struct LayoutTests {
    static let tokens = (0..<48).map {
        ["the", "attention", "is", "all", "you", "need", "<eos>", "transformer"][$0 % 8] + "\($0)"
    }

    static func tokenHeatmap(rotation: Double) -> Heatmap {
        let n = tokens.count
        var heatmap = Heatmap(
            rows: n, columns: n, values: (0..<n * n).map { Float($0 % 7) / 7 },
            title: "Attention weights, layer 11 head 7", colormap: .blues)
        heatmap.xTicks = .labels(tokens)
        heatmap.yTicks = .labels(tokens)
        heatmap.xTickRotation = rotation
        heatmap.xLabel = "key token"
        heatmap.yLabel = "query token"
        heatmap.colorbarLabel = "probability"
        return heatmap
    }

    static func logLogPlot() -> LinePlot {
        var plot = LinePlot(
            title: "Scaling", xLabel: "sequence length", yLabel: "seconds", xScale: .log10,
            yScale: .log10)
        let n: [Double] = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
        plot.series = [
            LineSeries(name: "naive attention", x: n, y: n.map { 3e-9 * $0 * $0 }, marker: .circle),
            LineSeries(name: "flash attention", x: n, y: n.map { 1e-9 * $0 * $0 }, marker: .square),
            LineSeries(name: "linear", x: n, y: n.map { 1e-6 * $0 }, style: .dashed),
        ]
        plot.guides = [GuideLine(.through(x0: 64, y0: 1e-5, x1: 128, y1: 4e-5), label: "slope 2")]
        return plot
    }

    static func figures() -> [Figure] {
        var result: [Figure] = []
        for (width, height, dpi) in [(12.0, 10.0, 150.0), (6.4, 4.8, 100), (4, 3, 72), (8, 3, 200)]
        {
            for rotation in [0.0, 45, 90] {
                var figure = Figure(
                    rows: 2, columns: 2, widthInches: width, heightInches: height, dpi: dpi,
                    title: "Diagnostics")
                figure[0, 0] = .heatmap(tokenHeatmap(rotation: rotation))
                figure[0, 1] = .linePlot(logLogPlot())
                var plain = tokenHeatmap(rotation: rotation)
                plain.squareCells = false
                plain.xTicks = .automatic
                figure[1, 0] = .heatmap(plain)
                var linear = LinePlot(title: "Loss", xLabel: "step", yLabel: "loss")
                linear.series = [
                    LineSeries(name: "train", y: (0..<100).map { 1000 / Double($0 + 1) })
                ]
                figure[1, 1] = .linePlot(linear)
                result.append(figure)
            }
        }
        return result
    }

    @Test func decorationsNeverLeaveTheirCell() {
        for figure in Self.figures() {
            let renderer = FigureRenderer(figure: figure, panels: panels(of: figure))
            let placed = renderer.placedPanels()
            #expect(placed.count == 4)
            for panel in placed {
                #expect(
                    panel.cell.contains(panel.scene.bounds),
                    "\(panel.scene.bounds) spills out of \(panel.cell) at \(figure.dpi) dpi")
            }
            let title = renderer.titleScene().bounds
            #expect(!title.isEmpty)
            for panel in placed { #expect(panel.cell.intersection(title).isEmpty) }
        }
    }

    @Test func labelsDoNotOverlap() {
        for figure in Self.figures() {
            for panel in FigureRenderer(figure: figure, panels: panels(of: figure)).placedPanels() {
                let texts: [(rect: PixelRect, rotated: Bool, string: String)] = panel.scene
                    .operations.compactMap {
                        if case .text(let string, let rect, let style) = $0 {
                            return (rect, style.rotation != 0, string)
                        }
                        return nil
                    }
                // Roomy figures keep all their labels; cramped ones may drop some.
                if figure.pixelWidth >= 640 { #expect(texts.count >= 5) }
                for i in texts.indices {
                    for j in texts.indices where j > i && !(texts[i].rotated && texts[j].rotated) {
                        #expect(
                            texts[i].rect.intersection(texts[j].rect).isEmpty,
                            "\(texts[i].string) \(texts[i].rect) overlaps \(texts[j].string) \(texts[j].rect) \(figure.dpi) \(figure.widthInches)"
                        )
                    }
                }
            }
        }
    }

    @Test func tokenLabelsAreThinnedOnlyWhenCrowded() {
        func labelCount(_ figure: Figure) -> Int {
            let panel = FigureRenderer(figure: figure, panels: panels(of: figure)).placedPanels()[0]
            return panel.scene.operations.filter {
                if case .text(let string, _, _) = $0 { return Self.tokens.contains(string) }
                return false
            }.count
        }
        let roomy = Figure(
            .heatmap(Self.tokenHeatmap(rotation: 90)), widthInches: 20, heightInches: 20, dpi: 100)
        #expect(labelCount(roomy) == 2 * Self.tokens.count)
        let cramped = Figure(
            .heatmap(Self.tokenHeatmap(rotation: 0)), widthInches: 4, heightInches: 4, dpi: 100)
        let shown = labelCount(cramped)
        #expect(shown > 4 && shown < 2 * Self.tokens.count)
    }

    @Test func rotatedTickLabelsEndAtTheirTicks() throws {
        var heatmap = Heatmap(rows: 1, columns: 3, values: [0, 1, 2])
        heatmap.xTicks = .labels(["alpha", "beta", "gamma"])
        heatmap.xTickRotation = 45
        heatmap.showsColorbar = false
        let figure = Figure(.heatmap(heatmap), widthInches: 6, heightInches: 3, dpi: 100)
        let panel = try #require(
            FigureRenderer(figure: figure, panels: panels(of: figure)).placedPanels().first)
        let matrix = try #require(
            panel.scene.operations.compactMap { op -> PixelRect? in
                if case .cells(let rect, _, _, _) = op { return rect }
                return nil
            }.first)
        let labels = panel.scene.operations.compactMap { op -> PixelRect? in
            if case .text(_, let rect, let style) = op, style.rotation == 45 { return rect }
            return nil
        }
        #expect(labels.count == 3)
        for (column, rect) in labels.enumerated() {
            let tickX = matrix.minX + (2 * column + 1) * matrix.width / 6
            // Anchored at the top right, shifted right by half a rotated line height.
            #expect(rect.maxX > tickX && rect.maxX - tickX <= 6)
            #expect(rect.minY > matrix.maxY)
        }
    }

    @Test func degenerateInputsStillRenderInsideTheirCells() {
        var logOfNegatives = LinePlot(xScale: .log10, yScale: .log10)
        logOfNegatives.series = [LineSeries(name: "bad", x: [-1, 0], y: [-5, 0])]
        var allNaN = LinePlot(title: "NaN")
        allNaN.series = [LineSeries(y: [.nan, .infinity])]
        var onePoint = LinePlot(yScale: .log10)
        onePoint.series = [LineSeries(name: "one", x: [3], y: [7], marker: .cross)]
        let panels: [Panel] = [
            .linePlot(LinePlot()), .linePlot(logOfNegatives), .linePlot(allNaN),
            .linePlot(onePoint), .heatmap(Heatmap(matrix: [[5]])),
            .heatmap(Heatmap(matrix: [[.nan, .nan]], colorRange: .symmetric)),
            .heatmap(
                Heatmap(rows: 1, columns: 2, values: [1, 1], colorRange: .fixed(min: 1, max: 1))),
        ]
        var figure = Figure(rows: 2, columns: 4, widthInches: 12, heightInches: 6, dpi: 100)
        for (index, panel) in panels.enumerated() { figure[index / 4, index % 4] = panel }
        let placed = FigureRenderer(figure: figure, panels: self.panels(of: figure)).placedPanels()
        #expect(placed.count == panels.count)
        for panel in placed { #expect(panel.cell.contains(panel.scene.bounds)) }
        let image = figure.render()
        #expect(image.width == 1200 && image.height == 600)
    }

    private func panels(of figure: Figure) -> [Panel?] {
        (0..<figure.rows).flatMap { row in (0..<figure.columns).map { figure[row, $0] } }
    }
}
