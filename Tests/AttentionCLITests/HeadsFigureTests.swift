import Attention
import AttentionPlot
import Testing

@testable import AttentionCLI

@Suite("Attention heads figure")
struct HeadsFigureTests {
    static let tokens = "The cat sat on the mat and then left .".split(separator: " ").map(
        String.init)

    @Test(
        "attention_heads.png is the seed's 1800×900 with 8 Blues panels of token-labelled weights")
    func layout() throws {
        let figure = try Figures.attentionHeads(tokens: Self.tokens)
        let probe = try FigureProbe(writing: figure, name: "attention_heads.png")
        #expect(probe.bitmap.width == 1800 && probe.bitmap.height == 900)
        let edgeInk = probe.inkNearEdges()
        #expect(edgeInk.isEmpty, "drawn at the canvas edge: \(edgeInk.prefix(3))")
        #expect(figure.rows == 2 && figure.columns == 4)
        let panels = probe.panels()
        #expect(panels.count == 8, "found \(panels)")
        for h in 0..<8 {
            let map = try #require(figure.heatmap(h / 4, h % 4))
            #expect(map.title == "Head \(h)")
            #expect(map.xTicks == .labels(Self.tokens) && map.yTicks == .labels(Self.tokens))
            #expect(map.xTickRotation == 45)
            #expect(map.colormap == .blues)
        }
    }

    @Test("each panel draws its head's weights, and every row of weights sums to 1")
    func panelsShowWeights() throws {
        let figure = try Figures.attentionHeads(tokens: Self.tokens, seed: 3)
        let probe = try FigureProbe(writing: figure, name: "attention_heads.png")
        let panels = probe.panels()
        try #require(panels.count == 8)
        let s = Self.tokens.count
        for h in 0..<8 {
            let map = try #require(figure.heatmap(h / 4, h % 4))
            for i in 0..<s {
                let row = (0..<s).map { Double(map[i, $0]) }.reduce(0, +)
                #expect(abs(row - 1) < 1e-4, "head \(h) row \(i) sums to \(row)")
                for j in 0..<s {
                    let pixel = probe.cellCenter(panels[h], row: i, column: j, rows: s, columns: s)
                    #expect(
                        close(pixel, map.cellColor(row: i, column: j)), "head \(h) (\(i), \(j))")
                }
            }
        }
        // Blues: the largest weight of all heads is the darkest blue, the smallest the palest.
        var all: [Float] = []
        for h in 0..<8 { all += try #require(figure.heatmap(h / 4, h % 4)).values }
        let top = try #require(all.indices.max { all[$0] < all[$1] })
        let bottom = try #require(all.indices.min { all[$0] < all[$1] })
        for (index, end) in [(top, 1.0), (bottom, 0.0)] {
            let h = index / (s * s), i = index % (s * s) / s, j = index % s
            let pixel = probe.cellCenter(panels[h], row: i, column: j, rows: s, columns: s)
            #expect(close(pixel, Colormap.blues.color(at: end)), "head \(h) (\(i), \(j))")
        }
        // The heads differ from one another.
        let h0 = try #require(figure.heatmap(0, 0)), h1 = try #require(figure.heatmap(0, 1))
        #expect(h0.values != h1.values)
    }

    @Test("weights match MultiHeadAttention on shared token embeddings plus sinusoidal PE")
    func weightsFromLayer() throws {
        let tokens = ["The", "cat", "the", "cat"]
        let weights = try Figures.headWeights(tokens: tokens, dModel: 16, heads: 2, seed: 5)
        let embedding = TokenEmbedding(dimensions: 16, seed: 5)
        #expect(embedding.vector(for: "The") == embedding.vector(for: "the"))
        #expect(embedding.vector(for: "cat") != embedding.vector(for: "the"))
        let x = try SinusoidalPositionalEncoding(dimensions: 16, maxLength: 4)(embedding(tokens))
        // The seed's layers have no biases.
        let layer = try MultiHeadAttention(dimensions: 16, numHeads: 2, bias: false, seed: 5)
        #expect(weights == (try layer.attentionWithWeights(x).weights.scalars))
        let biased = try MultiHeadAttention(dimensions: 16, numHeads: 2, bias: true, seed: 5)
        #expect(weights != (try biased.attentionWithWeights(x).weights.scalars))
        #expect(weights.count == 2 * 4 * 4)
    }

    @Test("token vectors depend only on the token and the seed")
    func embeddingsAreStable() {
        let a = TokenEmbedding(dimensions: 8, seed: 1)
        #expect(a.vector(for: "mat") == TokenEmbedding(dimensions: 8, seed: 1).vector(for: "MAT"))
        #expect(a.vector(for: "mat") != TokenEmbedding(dimensions: 8, seed: 2).vector(for: "mat"))
        // FNV-1a reference values.
        #expect(TokenEmbedding.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(TokenEmbedding.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test("other head counts make a 4-wide grid; bad sizes throw")
    func gridsAndErrors() throws {
        let three = try Figures.attentionHeads(tokens: ["a", "b"], dModel: 12, heads: 3)
        #expect(three.pixelWidth == 1350 && three.pixelHeight == 450)
        let one = try Figures.attentionHeads(tokens: ["a", "b"], dModel: 4, heads: 1)
        #expect(one.pixelWidth == 900, "at least 6 inches wide, so the title fits")
        #expect(three.rows == 1 && three.columns == 3)
        let twelve = try Figures.attentionHeads(tokens: ["a", "b"], dModel: 24, heads: 12)
        #expect(twelve.rows == 3 && twelve.columns == 4)
        #expect(throws: AttentionError.self) { try Figures.attentionHeads(tokens: []) }
        #expect(throws: AttentionError.self) {
            try Figures.attentionHeads(tokens: ["a"], dModel: 10, heads: 4)
        }
    }
}
