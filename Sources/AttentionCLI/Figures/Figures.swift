import AttentionPlot

/// The package's explanatory figures, built as ``AttentionPlot/Figure`` values so callers
/// (`attention plot …`, `attention demo`) decide where to write them.
///
/// Every figure is reproducible: randomness comes from an explicit seed, and sizes follow
/// matplotlib (inches × dpi = pixels; ``dpi`` is 150 throughout, so a 12 × 10 inch figure
/// is 1800 × 1500 pixels).
///
/// | Figure                    | File                     | Panels | Size (px)   |
/// |---------------------------|--------------------------|--------|-------------|
/// | ``maskPatterns(size:seed:)`` | `attention_masks.png` | 2 × 2  | 1800 × 1500 |
/// | ``positionEncodings(positions:dimensions:heads:)`` | `position_encodings.png` | 1 × 3 | 2700 × 750 |
/// | ``attentionHeads(tokens:dModel:heads:seed:)`` | `attention_heads.png` | 2 × 4 | 1800 × 900 |
/// | ``complexity(_:)``        | `complexity.png`         | 1 × 2  | 2100 × 900  |
enum Figures {
    /// Resolution of every figure, in pixels per inch.
    static let dpi: Double = 150
}
