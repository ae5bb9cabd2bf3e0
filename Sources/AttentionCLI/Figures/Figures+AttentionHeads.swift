import Attention
import AttentionPlot

extension Figures {
    /// `attention_heads.png`: the attention weights of every head of a randomly initialised
    /// ``MultiHeadAttention`` layer over a token sequence — what each head "looks at" before
    /// any training, driven only by token identity and position.
    ///
    ///     x = embedding(tokens) + PE            [1, S, dModel]
    ///     (_, w) = MultiHeadAttention(dimensions: dModel, numHeads: heads, bias: false,
    ///                                 seed: seed).attentionWithWeights(x)   w: [1, H, S, S]
    ///
    /// The layer has no biases, as the seed's (`bias=False`). The embeddings are
    /// ``TokenEmbedding`` vectors (one per distinct lowercase token, drawn from `seed`), PE is
    /// ``SinusoidalPositionalEncoding``. Panel `h` shows head `h`'s `S × S` weights
    /// (rows = queries, which sum to 1) on Blues (the seed's colormap), over one range shared
    /// by all heads (the smallest to the largest weight), tokens labelling both axes, x labels
    /// rotated 45° as the seed draws them. Four panels per row at 3 × 3 inches each (the
    /// figure at least 6 inches wide), 150 dpi: 8 heads give 2 × 4 panels, the seed's
    /// `figsize=(3·ncols, 3·nrows)` = 12 × 6 inches (1800 × 900 pixels).
    ///
    /// - Parameters:
    ///   - tokens: the sequence, `S ≥ 1` tokens.
    ///   - dModel: model width `E`; a multiple of `heads`.
    ///   - heads: number of heads `H`.
    ///   - seed: seed of the layer's weights and of the embeddings.
    ///   - colormap: the panels' colours (default Blues).
    /// - Throws: ``AttentionError`` naming `tokens` when empty, or `dimensions` when `dModel`
    ///   is not a positive multiple of `heads`.
    static func attentionHeads(
        tokens: [String], dModel: Int = 64, heads: Int = 8, seed: UInt64 = 0,
        colormap: Colormap = .blues
    ) throws -> Figure {
        let weights = try headWeights(tokens: tokens, dModel: dModel, heads: heads, seed: seed)
        return attentionHeads(
            tokens: tokens, weights: weights, heads: heads,
            title: "Attention weights per head (row = query, column = key)", colormap: colormap)
    }

    /// The heads figure for given weights `[H, S, S]` (row-major, `S` = `tokens.count`): the
    /// layout of ``attentionHeads(tokens:dModel:heads:seed:colormap:)`` (4 columns, token
    /// labels, one colour range for all heads). A trained model's heads
    /// (`attention plot heads --model`) draw through here.
    static func attentionHeads(
        tokens: [String], weights: [Float], heads: Int, title: String, colormap: Colormap = .blues
    ) -> Figure {
        let s = tokens.count
        precondition(weights.count == heads * s * s, "weights must be [H, S, S]")
        let columns = min(4, heads)
        let rows = (heads + columns - 1) / columns
        var figure = Figure(
            rows: rows, columns: columns, widthInches: max(6, 3 * Double(columns)),
            heightInches: 3 * Double(rows), dpi: dpi, title: title)
        // One range for every head, so colours compare across panels (and all panels lay
        // out alike).
        let range = ColorRange.fixed(
            min: Double(weights.min() ?? 0), max: Double(weights.max() ?? 1))
        for h in 0..<heads {
            var map = Heatmap(
                rows: s, columns: s, values: Array(weights[h * s * s..<(h + 1) * s * s]),
                title: "Head \(h)", colormap: colormap, colorRange: range)
            map.xTicks = .labels(tokens)
            map.yTicks = .labels(tokens)
            map.xTickRotation = 45
            figure[h / columns, h % columns] = .heatmap(map)
        }
        return figure
    }

    /// The per-head weights `[H, S, S]` (row-major) behind ``attentionHeads(tokens:dModel:heads:seed:)``.
    static func headWeights(tokens: [String], dModel: Int, heads: Int, seed: UInt64) throws
        -> [Float]
    {
        guard !tokens.isEmpty else {
            throw AttentionError(
                .invalidArgument, argument: "tokens", "expected at least one token")
        }
        let layer = try MultiHeadAttention(
            dimensions: dModel, numHeads: heads, bias: false, seed: seed)
        let encoding = try SinusoidalPositionalEncoding(
            dimensions: dModel, maxLength: tokens.count)
        let x = try encoding(TokenEmbedding(dimensions: dModel, seed: seed)(tokens))
        return try layer.attentionWithWeights(x).weights.scalars
    }
}
