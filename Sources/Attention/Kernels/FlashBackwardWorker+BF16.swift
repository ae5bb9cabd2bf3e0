import _AttentionKernels

/// One worker's bf16-pair buffers and steps for ``FlashBackwardPrecision/bf16Dot``: every
/// product on the reduced-precision table's `dot_gemm` (`vdpbf16ps`, or BFDOT on arm64),
/// fp32 sums. A pair is two bf16 values adjacent along the product's depth.
/// ```
/// S   = Q · Kᵀ     A: Q rows in pairs (pack_rows)      B: Kᵀ pairs per key block
/// dP  = dO · Vᵀ    A: dO rows in pairs                  B: Vᵀ pairs per key block
/// dV += Pᵀ · dO    A: bf16(Wᵀ), pairs along queries     B: dO in pairs of rows
/// dK += dSᵀ · Q    A: bf16(dSᵀ), pairs along queries    B: Q in pairs of rows
/// dQ += dS · K     A: bf16(dS), pairs along keys        B: K in pairs of rows per key block
/// ```
/// Q, K, V and dO are bf16 already, so the first two products are exact sums of exact
/// products (rounded once per fp32 accumulation); `W = dropout(P)` and `dS` are rounded to
/// bf16 (nearest even) for the last three, as FlashAttention's bf16 backward does.
struct FlashBackwardPairs {
    let query: UnsafeMutablePointer<UInt32>, gradOutput: UnsafeMutablePointer<UInt32>
    let keyT: UnsafeMutablePointer<UInt32>, valueT: UnsafeMutablePointer<UInt32>
    let kInterleaved: UnsafeMutablePointer<UInt32>
    let weightsT: UnsafeMutablePointer<UInt32>, gradScoresT: UnsafeMutablePointer<UInt32>
    let qInterleaved: UnsafeMutablePointer<UInt32>, oInterleaved: UnsafeMutablePointer<UInt32>
    let gradScores: UnsafeMutablePointer<UInt32>
    /// Row factors 1 for `dot_gemm`'s accumulate mode (`C = 1·C + A·B`).
    let ones: UnsafeMutablePointer<Float>

    init(_ l: FlashBackwardLayout, scratch: UnsafeMutablePointer<Float>) {
        var next = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
        let on = l.precision == .bf16Dot ? 1 : 0
        func take(_ n: Int) -> UnsafeMutablePointer<UInt32> {
            defer { next += on * n }
            return next
        }
        let (pd, pv) = (l.headDim / 2, l.valueDim / 2)
        (query, gradOutput) = (take(l.rowsMax * pd), take(l.rowsMax * pv))
        (keyT, valueT) = (take(pd * l.ld), take(pv * l.ld))
        kInterleaved = take(l.ld / 2 * l.headDim)
        weightsT = take(l.keyRowsMax * l.rowsMax / 2)
        gradScoresT = take(l.keyRowsMax * l.rowsMax / 2)
        qInterleaved = take(l.rowsMax / 2 * l.headDim)
        oInterleaved = take(l.rowsMax / 2 * l.valueDim)
        gradScores = take(l.rowsMax * l.ld / 2)
        let n = Swift.max(l.rowsMax, l.keyRowsMax)
        ones = UnsafeMutableRawPointer(take(n)).assumingMemoryBound(to: Float.self)
        if on == 1 { ones.update(repeating: 1, count: n) }
    }

    /// Packs key block `cols` keys from elements `kOffset` / `vOffset`: Kᵀ and Vᵀ pairs for
    /// the score products, and K (the products' copy) in pairs of rows for `dQ`.
    func packKeyBlock(
        _ t: FlashBackwardTiles, _ l: FlashBackwardLayout, cols: Int, kOffset: Int, vOffset: Int
    ) {
        let (ks, vs) = (t.problem.key.strides[2], t.problem.value.strides[2])
        let colsPad = (cols + 31) / 32 * 32
        t.half.pack_transposed!(cols, l.headDim, halves(t.key) + kOffset, ks, keyT, l.ld, colsPad)
        t.half.pack_transposed!(
            cols, l.valueDim, halves(t.value) + vOffset, vs, valueT, l.ld, colsPad)
        t.half.pack_interleaved!(
            cols, l.headDim, halves(t.productKey) + kOffset, ks, kInterleaved, l.headDim,
            l.headDim)
    }

    /// `scores = scale·Q·Kᵀ` and `gradient = dO·Vᵀ` of a tile (padded rows and columns 0).
    func products(
        _ t: FlashBackwardTiles, _ l: FlashBackwardLayout, rows: Int, cols: Int, qOffset: Int,
        gOffset: Int, scores: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>
    ) {
        let rowsPad = (rows + 11) / 12 * 12, colsPad = (cols + 31) / 32 * 32
        let (pd, pv) = (l.headDim / 2, l.valueDim / 2)
        let (qs, gs) = (t.problem.query.strides[2], t.gradOutputStrides[2])
        t.half.pack_rows!(rows, rowsPad, l.headDim, halves(t.query) + qOffset, qs, query, pd)
        t.half.dot_gemm!(
            rowsPad, colsPad, pd, query, pd, keyT, l.ld, scores, l.ld, t.problem.scale, nil)
        t.half.pack_rows!(
            rows, rowsPad, l.valueDim, halves(t.gradOutput) + gOffset, gs, gradOutput, pv)
        t.half.dot_gemm!(rowsPad, colsPad, pv, gradOutput, pv, valueT, l.ld, gradient, l.ld, 1, nil)
    }

    /// `dV += bf16(W)ᵀ·dO` and `dK += bf16(dS)ᵀ·Q` into the key block's fp32 accumulators;
    /// `transposed` and `transposedGrad` are fp32 scratch of `keyRowsMax × rowsMax`.
    func accumulateKeyGradients(
        _ t: FlashBackwardTiles, _ l: FlashBackwardLayout, _ r: FlashBackwardTiles.Result,
        transposed wt: UnsafeMutablePointer<Float>, transposedGrad dst: UnsafeMutablePointer<Float>,
        gradKey: UnsafeMutablePointer<Float>, gradValue: UnsafeMutablePointer<Float>
    ) {
        let kRows = (r.cols + 11) / 12 * 12, depth = (r.rows + 1) / 2, lda = l.rowsMax / 2
        let (d, dv) = (l.headDim, l.valueDim)
        t.kernels.pack_transposed(r.rows, r.cols, r.weights, l.ld, wt, l.rowsMax, r.rows)
        t.half.pairs_from_f32!(kRows, r.rows, wt, l.rowsMax, weightsT, lda)
        t.half.pack_interleaved!(r.rows, dv, halves(r.gradOutput), r.ldo, oInterleaved, dv, dv)
        t.half.dot_gemm!(kRows, dv, depth, weightsT, lda, oInterleaved, dv, gradValue, dv, 0, ones)
        t.kernels.pack_transposed(r.rows, r.cols, r.gradScores, l.ld, dst, l.rowsMax, r.rows)
        t.half.pairs_from_f32!(kRows, r.rows, dst, l.rowsMax, gradScoresT, lda)
        t.half.pack_interleaved!(r.rows, d, halves(r.query), r.ldq, qInterleaved, d, d)
        t.half.dot_gemm!(kRows, d, depth, gradScoresT, lda, qInterleaved, d, gradKey, d, 0, ones)
    }

    /// `C (+)= bf16(dS)·K` into an fp32 block with room for the tile's rows padded to 12.
    func accumulateQueryGradient(
        _ t: FlashBackwardTiles, _ l: FlashBackwardLayout, _ r: FlashBackwardTiles.Result,
        into block: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let rowsPad = (r.rows + 11) / 12 * 12, d = l.headDim
        t.half.pairs_from_f32!(rowsPad, r.cols, r.gradScores, l.ld, gradScores, l.ld / 2)
        t.half.dot_gemm!(
            rowsPad, d, (r.cols + 1) / 2, gradScores, l.ld / 2, kInterleaved, d, block, d, 1,
            accumulate ? ones : nil)
    }

    private func halves(_ base: UnsafeRawPointer) -> UnsafePointer<UInt16> {
        base.assumingMemoryBound(to: UInt16.self)
    }
}

extension FlashBackwardLayout {
    /// Floats (4-byte words) of one worker's ``FlashBackwardPairs`` (0 unless `bf16Dot`).
    var pairFloats: Int {
        guard precision == .bf16Dot else { return 0 }
        let (pd, pv) = (headDim / 2, valueDim / 2)
        return rowsMax * (pd + pv) + ld * (pd + pv) + ld / 2 * headDim
            + keyRowsMax * rowsMax + rowsMax / 2 * (headDim + valueDim) + rowsMax * ld / 2
            + Swift.max(rowsMax, keyRowsMax)
    }
}
