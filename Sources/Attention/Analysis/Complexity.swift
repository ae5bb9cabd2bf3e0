/// Operation and memory counts of attention (the model behind the benchmark's GFLOP/s and
/// the demo's complexity table).
public enum AttentionComplexity {
    /// Attention-core FLOPs: `4·B·H·Sq·Sk·D` (Q·Kᵀ and P·V, a multiply-add counted as 2),
    /// halved for causal square attention; for sparse masks multiply by the density instead.
    public static func flops(
        batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int, density: Double = 1
    ) -> Double {
        4 * Double(batch) * Double(heads) * Double(queries) * Double(keys) * Double(headDim)
            * density
    }

    /// Bytes of one materialized `[B, H, Sq, Sk]` float32 score matrix.
    public static func scoreMatrixBytes(batch: Int, heads: Int, queries: Int, keys: Int) -> Double {
        4 * Double(batch) * Double(heads) * Double(queries) * Double(keys)
    }
}
