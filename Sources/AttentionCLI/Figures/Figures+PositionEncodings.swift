import Attention
import AttentionPlot
import Foundation

extension Figures {
    /// `position_encodings.png`: how position enters attention, in three panels side by
    /// side (18 × 5 inches at 150 dpi, 2700 × 750 pixels).
    ///
    /// 1. The sinusoidal encoding `PE[p, 2i] = sin(p / 10000^(2i/d))`,
    ///    `PE[p, 2i+1] = cos(…)` for the first `positions` positions (rows) and `dimensions`
    ///    features (columns), on RdBu with a symmetric range so 0 is white (red < 0 < blue).
    /// 2. The ALiBi bias `−m₀·|i − j|` of head 0 (symmetric form), `positions × positions`.
    /// 3. The ALiBi bias averaged over all `heads` heads, `mean_h(−m_h·|i − j|)`.
    ///
    /// - Parameters:
    ///   - positions: sequence positions shown (rows of every panel).
    ///   - dimensions: model dimension `d` of the sinusoidal encoding (its columns).
    ///   - heads: number of ALiBi heads (sets the slopes `m_h = 2^(−8(h+1)/heads)`).
    /// - Throws: ``AttentionError`` naming `positions`, `dimensions` or `heads` when one is
    ///   not positive.
    static func positionEncodings(positions: Int = 100, dimensions: Int = 64, heads: Int = 8)
        throws -> Figure
    {
        guard positions > 0 else {
            throw AttentionError(
                .invalidArgument, argument: "positions", "must be > 0, got \(positions)")
        }
        var figure = Figure(
            rows: 1, columns: 3, widthInches: 18, heightInches: 5, dpi: dpi,
            title: "Position information: sinusoidal encoding and ALiBi biases")
        figure[0, 0] = .heatmap(try sinusoidalHeatmap(positions: positions, dimensions: dimensions))

        let alibi = try ALiBi(heads: heads, form: .symmetric)
        let bias = try alibi.bias(queries: positions, keys: positions).scalars
        let perHead = positions * positions
        var headZero = biasHeatmap(
            Array(bias[0..<perHead]), positions: positions,
            title: "ALiBi bias, head 0 (slope \(slopeText(alibi.slopes[0])))")
        headZero.colorbarLabel = "bias = -m0 * |i - j|"
        figure[0, 1] = .heatmap(headZero)

        var mean = [Float](repeating: 0, count: perHead)
        for h in 0..<heads {
            for index in 0..<perHead { mean[index] += bias[h * perHead + index] }
        }
        var meanMap = biasHeatmap(
            mean.map { $0 / Float(heads) }, positions: positions,
            title: "ALiBi bias, mean of \(heads) head\(heads == 1 ? "" : "s")")
        meanMap.colorbarLabel = "mean bias = -mean(m) * |i - j|"
        figure[0, 2] = .heatmap(meanMap)
        return figure
    }

    /// The sinusoidal table's first `positions` rows on RdBu, symmetric around 0.
    static func sinusoidalHeatmap(positions: Int, dimensions: Int) throws -> Heatmap {
        let encoding = try SinusoidalPositionalEncoding(
            dimensions: dimensions, maxLength: positions)
        var map = Heatmap(
            rows: positions, columns: dimensions, values: encoding.table.scalars,
            title: "Sinusoidal encoding (d = \(dimensions))", colormap: .rdBu,
            colorRange: .symmetric)
        map.xLabel = "Dimension"
        map.yLabel = "Position"
        map.colorbarLabel = "PE value"
        // A tall table would be a thin strip with square cells; fill the panel instead.
        map.squareCells = false
        return map
    }

    /// A `positions × positions` bias matrix on viridis (automatic range).
    private static func biasHeatmap(_ values: [Float], positions: Int, title: String) -> Heatmap {
        var map = Heatmap(
            rows: positions, columns: positions, values: values, title: title,
            colormap: .viridis, colorRange: .automatic)
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
