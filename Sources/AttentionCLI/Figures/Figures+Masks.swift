import Attention
import AttentionPlot
import Foundation

extension Figures {
    /// `attention_masks.png`: the four sparse-attention patterns of the seed project, as
    /// `size × size` 0/1 matrices (dark blue = the query may attend to the key).
    ///
    /// Panels, row-major: local (a window of 16, `slidingWindow(left: 8, right: 8)`),
    /// strided (`strided(stride: 8)`), causal, and BigBird (window 16, 2 global tokens,
    /// 3 random keys per row drawn from `seed`). Each title states the mask's density, the
    /// visible fraction of the `size × size` matrix. 10 × 10 inches at 150 dpi
    /// (1500 × 1500 pixels), the seed's `figsize=(10, 10)`.
    ///
    /// - Parameters:
    ///   - size: sequence length `S` (queries = keys = `S`).
    ///   - seed: seed of BigBird's random keys.
    ///   - colormap: the panels' colours (default Blues, as the seed draws them).
    /// - Throws: ``AttentionError`` naming `size` when it is not positive.
    static func maskPatterns(size: Int = 64, seed: UInt64 = 0, colormap: Colormap = .blues)
        throws -> Figure
    {
        let panels: [(title: String, mask: AttentionMask)] = [
            ("Local (window 16)", .slidingWindow(left: 8, right: 8)),
            ("Strided (stride 8)", .strided(stride: 8)),
            ("Causal", .causal),
            // Short enough that the title fits a 5-inch panel with its density.
            (
                "BigBird (w=16, g=2, r=3)",
                .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: seed)
            ),
        ]
        var figure = try masks(panels, size: size, columns: 2, colormap: colormap)
        figure.title = "Attention mask patterns (\(size) x \(size))"
        return figure
    }

    /// Any list of masks as `size × size` 0/1 heatmaps in a grid of `columns` columns (for
    /// `attention plot masks --mask … --mask …`).
    ///
    /// Each panel is titled `"<title>, density <d>%"` and uses `colormap` over the fixed
    /// range 0…1 (with Blues: white = hidden, dark blue = visible), with "Key position" along
    /// x and "Query position" along y, under the title `"Attention masks (S x S)"`. Each grid
    /// cell is 5 × 5 inches at 150 dpi (750 × 750 pixels), so 2 × 2 panels make the seed's
    /// 10 × 10 inch figure.
    ///
    /// - Parameters:
    ///   - masks: panel titles and masks, drawn row-major.
    ///   - size: sequence length `S` (queries = keys = `S`).
    ///   - columns: panels per row (fewer when there are fewer masks).
    ///   - colormap: the panels' colours (default Blues).
    /// - Throws: ``AttentionError`` naming `masks` (empty), `size`, `columns`, or `mask`
    ///   when a mask does not fit a `size × size` matrix (for example `blocks:` lengths that
    ///   do not sum to `size`).
    static func masks(
        _ masks: [(title: String, mask: AttentionMask)], size: Int, columns: Int = 2,
        colormap: Colormap = .blues
    ) throws -> Figure {
        guard !masks.isEmpty else {
            throw AttentionError(.invalidArgument, argument: "masks", "expected at least one mask")
        }
        guard size > 0 else {
            throw AttentionError(.invalidArgument, argument: "size", "must be > 0, got \(size)")
        }
        guard columns > 0 else {
            throw AttentionError(
                .invalidArgument, argument: "columns", "must be > 0, got \(columns)")
        }
        let columnCount = min(columns, masks.count)
        let rowCount = (masks.count + columnCount - 1) / columnCount
        var figure = Figure(
            rows: rowCount, columns: columnCount, widthInches: 5 * Double(columnCount),
            heightInches: 5 * Double(rowCount), dpi: dpi,
            title: "Attention masks (\(size) x \(size))")
        for (index, entry) in masks.enumerated() {
            try entry.mask.validate(batch: 1, heads: 1, queries: size, keys: size)
            figure[index / columnCount, index % columnCount] = .heatmap(
                maskHeatmap(entry.mask, title: entry.title, size: size, colormap: colormap))
        }
        return figure
    }

    /// One mask as a heatmap: `colormap` over 0…1, titled with its density.
    static func maskHeatmap(
        _ mask: AttentionMask, title: String, size: Int, colormap: Colormap = .blues
    ) -> Heatmap {
        let matrix = mask.materialize(queries: size, keys: size)
        let density = mask.density(queries: size, keys: size)
        var map = Heatmap(
            rows: size, columns: size, values: matrix.scalars,
            title: "\(title), density \(String(format: "%.1f", density * 100))%",
            colormap: colormap, colorRange: .fixed(min: 0, max: 1))
        map.xLabel = "Key position"
        map.yLabel = "Query position"
        map.colorbarLabel = "may attend"
        return map
    }
}
