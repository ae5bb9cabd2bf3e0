import Attention
import AttentionPlot
import Testing

@testable import AttentionCLI

@Suite("Mask pattern figure")
struct MaskFigureTests {
    @Test("attention_masks.png is the seed's 1500×1500 with four 64×64 panels in reading order")
    func layout() throws {
        let figure = try Figures.maskPatterns()
        let probe = try FigureProbe(writing: figure, name: "attention_masks.png")
        #expect(probe.bitmap.width == 1500 && probe.bitmap.height == 1500)
        let edgeInk = probe.inkNearEdges()
        #expect(edgeInk.isEmpty, "drawn at the canvas edge: \(edgeInk.prefix(3))")
        let panels = probe.panels()
        try #require(panels.count == 4, "found \(panels)")
        // 2 × 2: two panels side by side, then two more below.
        #expect(panels[0].maxX < panels[1].minX && panels[0].maxY < panels[2].minY)
        for (index, rect) in panels.enumerated() {
            #expect(abs(rect.width - rect.height) <= 1, "panel \(index) \(rect) has square cells")
        }
        for (row, column) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let map = try #require(figure.heatmap(row, column))
            #expect(map.rows == 64 && map.columns == 64)
            #expect(map.xLabel == "Key position" && map.yLabel == "Query position")
            #expect(map.colormap == .blues)
        }
    }

    @Test(
        "the causal panel is Blues' low colour above the diagonal and its high colour on and below it"
    )
    func causalPanelPixels() throws {
        let size = 64
        let figure = try Figures.maskPatterns(size: size)
        let probe = try FigureProbe(writing: figure, name: "attention_masks.png")
        let panels = probe.panels()
        try #require(panels.count == 4)
        let causal = panels[2]
        let low = Colormap.blues.color(at: 0), high = Colormap.blues.color(at: 1)
        #expect(nearWhite(low) && !nearWhite(high))
        var wrong: [String] = []
        for i in 0..<size {
            for j in 0..<size {
                let pixel = probe.cellCenter(causal, row: i, column: j, rows: size, columns: size)
                let expected = j <= i ? high : low
                if !close(pixel, expected) {
                    wrong.append("(\(i), \(j)) is \(pixel), expected \(expected)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) cells wrong, first: \(wrong.prefix(3))")
    }

    @Test("every panel draws exactly its materialized mask")
    func panelsMatchMasks() throws {
        let size = 64
        let figure = try Figures.maskPatterns(size: size, seed: 7)
        let probe = try FigureProbe(writing: figure, name: "attention_masks.png")
        let panels = probe.panels()
        try #require(panels.count == 4)
        let masks: [AttentionMask] = [
            .slidingWindow(left: 8, right: 8), .strided(stride: 8), .causal,
            .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 7),
        ]
        let low = Colormap.blues.color(at: 0), high = Colormap.blues.color(at: 1)
        for (panel, mask) in zip(panels, masks) {
            let matrix = mask.materialize(queries: size, keys: size).scalars
            var mismatches = 0
            for i in 0..<size {
                for j in 0..<size {
                    let pixel = probe.cellCenter(
                        panel, row: i, column: j, rows: size, columns: size)
                    if !close(pixel, matrix[i * size + j] == 1 ? high : low) { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "\(mask): \(mismatches) cells differ")
        }
    }

    @Test("titles state each mask's density")
    func titlesCarryDensity() throws {
        let figure = try Figures.maskPatterns(size: 64)
        let causal = try #require(figure.heatmap(1, 0))
        // 64·65/2 visible of 64² = 50.8%.
        #expect(causal.title == "Causal, density 50.8%")
        let strided = try #require(figure.heatmap(0, 1))
        #expect(strided.title?.hasSuffix("density 12.5%") == true)
        let bigBird = try #require(figure.heatmap(1, 1))
        let density = AttentionMask.bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 0)
            .density(queries: 64, keys: 64)
        #expect(bigBird.title?.hasSuffix(String(format: "density %.1f%%", density * 100)) == true)
    }

    @Test("another colormap paints the same cells with its own ends")
    func otherColormap() throws {
        let size = 16
        let figure = try Figures.maskPatterns(size: size, colormap: .viridis)
        let probe = try FigureProbe(writing: figure, name: "masks-viridis.png")
        let panels = probe.panels()
        try #require(panels.count == 4)
        let low = Colormap.viridis.color(at: 0), high = Colormap.viridis.color(at: 1)
        for i in 0..<size {
            for j in 0..<size {
                let pixel = probe.cellCenter(
                    panels[2], row: i, column: j, rows: size, columns: size)
                #expect(close(pixel, j <= i ? high : low), "causal (\(i), \(j)): \(pixel)")
            }
        }
    }

    @Test("the BigBird panel follows the seed")
    func bigBirdSeed() throws {
        let a = try #require(try Figures.maskPatterns(seed: 1).heatmap(1, 1))
        let b = try #require(try Figures.maskPatterns(seed: 1).heatmap(1, 1))
        let c = try #require(try Figures.maskPatterns(seed: 2).heatmap(1, 1))
        #expect(a.values == b.values)
        #expect(a.values != c.values)
    }

    @Test("masks(_:size:columns:) lays out any list in a grid and rejects bad input")
    func customMasks() throws {
        let list: [(title: String, mask: AttentionMask)] = [
            ("causal", .causal), ("window:4,0", .slidingWindow(left: 4, right: 0)),
            ("strided:4", .strided(stride: 4)),
        ]
        let figure = try Figures.masks(list, size: 32, columns: 2)
        #expect(figure.rows == 2 && figure.columns == 2)
        #expect(figure[1, 1] == nil)
        #expect(figure.title == "Attention masks (32 x 32)")
        #expect(figure.pixelWidth == 1500 && figure.pixelHeight == 1500)
        let probe = try FigureProbe(writing: figure, name: "masks.png")
        #expect(probe.panels().count == 3)
        let wide = try Figures.masks(list, size: 32, columns: 3)
        #expect(wide.pixelWidth == 2250 && wide.pixelHeight == 750, "5 × 5 inches per panel")

        let single = try Figures.masks([("causal", .causal)], size: 8)
        #expect(single.rows == 1 && single.columns == 1)

        #expect(throws: AttentionError.self) { try Figures.masks([], size: 8) }
        #expect(throws: AttentionError.self) { try Figures.masks(list, size: 0) }
        #expect(throws: AttentionError.self) { try Figures.masks(list, size: 8, columns: 0) }
        // blocks: lengths must sum to the size.
        let blocks = try AttentionMask(parsing: "blocks:3,4")
        #expect(throws: AttentionError.self) { try Figures.masks([("blocks", blocks)], size: 8) }
    }
}
