import Attention
import AttentionPlot
import Foundation

extension Figures {
    /// `position_encodings.png`: how position enters attention, in three panels side by
    /// side, 15 × 5 inches at 150 dpi (2250 × 750 pixels, the seed's `figsize=(15, 5)`).
    ///
    /// 1. The sinusoidal encoding `PE[p, 2i] = sin(p / 10000^(2i/d))`,
    ///    `PE[p, 2i+1] = cos(…)` transposed as the seed draws it (`pe.T`): position `p`
    ///    along x (`positions` columns), feature `2i`/`2i+1` along y (`dimensions` rows,
    ///    feature 0 at the top), on RdBu with a symmetric range so 0 is white
    ///    (red < 0 < blue).
    /// 2. The ALiBi bias `−m₀·|i − j|` of head 0 (symmetric form), `positions × positions`.
    /// 3. The ALiBi bias averaged over all `heads` heads, `mean_h(−m_h·|i − j|)`.
    ///
    /// The ALiBi panels use the same colormap from their smallest value (the far corners,
    /// red on RdBu) to their largest (0 on the diagonal, blue), matplotlib's default range.
    ///
    /// - Parameters:
    ///   - positions: sequence positions shown (x of the sinusoidal panel, both axes of the
    ///     ALiBi panels).
    ///   - dimensions: model dimension `d` of the sinusoidal encoding (its rows).
    ///   - heads: number of ALiBi heads (sets the slopes `m_h = 2^(−8(h+1)/heads)`).
    ///   - colormap: the colours of all three panels (default RdBu, as the seed draws them).
    /// - Throws: ``AttentionError`` naming `positions`, `dimensions` or `heads` when one is
    ///   not positive.
    static func positionEncodings(
        positions: Int = 100, dimensions: Int = 64, heads: Int = 8, colormap: Colormap = .rdBu
    ) throws -> Figure {
        guard positions > 0 else {
            throw AttentionError(
                .invalidArgument, argument: "positions", "must be > 0, got \(positions)")
        }
        var figure = Figure(
            rows: 1, columns: 3, widthInches: 15, heightInches: 5, dpi: dpi,
            title: "Position information: sinusoidal encoding and ALiBi biases")
        figure[0, 0] = .heatmap(
            try sinusoidalHeatmap(positions: positions, dimensions: dimensions, colormap: colormap))

        let alibi = try ALiBi(heads: heads, form: .symmetric)
        let bias = try alibi.bias(queries: positions, keys: positions).scalars
        let perHead = positions * positions
        var headZero = biasHeatmap(
            Array(bias[0..<perHead]), positions: positions,
            title: "ALiBi bias, head 0 (slope \(slopeText(alibi.slopes[0])))", colormap: colormap)
        headZero.colorbarLabel = "bias = -m0 * |i - j|"
        figure[0, 1] = .heatmap(headZero)

        var mean = [Float](repeating: 0, count: perHead)
        for h in 0..<heads {
            for index in 0..<perHead { mean[index] += bias[h * perHead + index] }
        }
        var meanMap = biasHeatmap(
            mean.map { $0 / Float(heads) }, positions: positions,
            title: "ALiBi bias, mean of \(heads) head\(heads == 1 ? "" : "s")", colormap: colormap)
        meanMap.colorbarLabel = "mean bias = -mean(m) * |i - j|"
        figure[0, 2] = .heatmap(meanMap)
        return figure
    }

    /// The sinusoidal table's first `positions` rows, transposed (`pe.T`: `dimensions` rows,
    /// `positions` columns), on `colormap` symmetric around 0.
    static func sinusoidalHeatmap(positions: Int, dimensions: Int, colormap: Colormap = .rdBu)
        throws -> Heatmap
    {
        let encoding = try SinusoidalPositionalEncoding(
            dimensions: dimensions, maxLength: positions)
        let table = encoding.table.transposed(0, 1).contiguous()
        var map = Heatmap(
            rows: dimensions, columns: positions, values: table.scalars,
            title: "Sinusoidal encoding (d = \(dimensions))", colormap: colormap,
            colorRange: .symmetric)
        map.xLabel = "Position"
        map.yLabel = "Dimension"
        map.colorbarLabel = "PE value"
        // The seed's `aspect='auto'`: fill the panel rather than keep square cells.
        map.squareCells = false
        return map
    }

    /// A `positions × positions` bias matrix on `colormap` (automatic range).
    private static func biasHeatmap(
        _ values: [Float], positions: Int, title: String, colormap: Colormap
    ) -> Heatmap {
        var map = Heatmap(
            rows: positions, columns: positions, values: values, title: title,
            colormap: colormap, colorRange: .automatic)
        map.xLabel = "Key position"
        map.yLabel = "Query position"
        return map
    }

    /// A slope as a fraction `1/2ᵏ` when it is one (every power-of-two head count), else
    /// as a decimal.
    private static func slopeText(_ slope: Float) -> String {
        let inverse = 1 / Double(slope)
        let rounded = inverse.rounded()
        if abs(inverse - rounded) < 1e-3 && rounded >= 1 { return "1/\(Int(rounded))" }
        return String(format: "%.3g", Double(slope))
    }
}
