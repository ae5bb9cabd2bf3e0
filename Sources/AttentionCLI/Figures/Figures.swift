import AttentionPlot

/// The package's explanatory figures, built as ``AttentionPlot/Figure`` values so callers
/// (`attention plot …`, `attention demo`) decide where to write them.
///
/// Every figure is reproducible: randomness comes from an explicit seed, and sizes follow
/// matplotlib (inches × dpi = pixels; ``dpi`` is 150 throughout, so a 10 × 10 inch figure
/// is 1500 × 1500 pixels). The default figures keep the seed project's sizes, orientations
/// and colormaps (Blues for masks and attention weights, RdBu for position encodings);
/// the `colormap` parameters offer others.
///
/// | Figure                    | File                     | Panels | Size (px)   |
/// |---------------------------|--------------------------|--------|-------------|
/// | ``maskPatterns(size:seed:colormap:)`` | `attention_masks.png` | 2 × 2 | 1500 × 1500 |
/// | ``positionEncodings(positions:dimensions:heads:colormap:)`` | `position_encodings.png` | 1 × 3 | 2250 × 750 |
/// | ``attentionHeads(tokens:dModel:heads:seed:colormap:)`` | `attention_heads.png` | 2 × 4 | 1800 × 900 |
/// | ``complexity(_:)``        | `complexity.png`         | 1 × 2  | 2100 × 900  |
enum Figures {
    /// Resolution of every figure, in pixels per inch.
    static let dpi: Double = 150
}
