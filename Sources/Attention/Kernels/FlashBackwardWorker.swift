import _AttentionKernels

/// One worker's tile pipeline for ``FlashBackward``: recomputes `P`, `dropout(P)` and `dS`
/// of a tile and accumulates its products into the key block's `dK`/`dV` accumulators and
/// into `dQ`. When both head widths are multiples of 16 the products run on the forward's
/// micro-kernel (`tile_gemm`), with operands packed once per tile:
/// ```
/// S   = (scale·Q) · Kᵀ          shape 0: Q in 12-row panels, Kᵀ packed per key block
/// dP  = dO · Vᵀ                 shape 0: dO in panels, Vᵀ packed per key block
/// dV += Wᵀ · dO                 shape 1: W = dropout(P) transposed once into scratch
/// dK += dSᵀ · Q                 shape 1: dS (already × scale) transposed once
/// dQ += dS · K                  shape 1: dS and K read in place
/// ```
/// Otherwise (odd widths) the same five products go through the C `sgemm`.
struct FlashBackwardWorker {
    let tiles: FlashBackwardTiles
    let layout: FlashBackwardLayout
    let s: UnsafeMutablePointer<Float>, ds: UnsafeMutablePointer<Float>
    let w: UnsafeMutablePointer<Float>
    let qPanels: UnsafeMutablePointer<Float>, oPanels: UnsafeMutablePointer<Float>
    let kt: UnsafeMutablePointer<Float>, vt: UnsafeMutablePointer<Float>
    let wt: UnsafeMutablePointer<Float>, dst: UnsafeMutablePointer<Float>
    let accK: UnsafeMutablePointer<Float>, accV: UnsafeMutablePointer<Float>
    let dq: UnsafeMutablePointer<Float>

    init(
        _ tiles: FlashBackwardTiles, _ layout: FlashBackwardLayout,
        scratch: UnsafeMutablePointer<Float>
    ) {
        (self.tiles, self.layout) = (tiles, layout)
        let l = layout
        var next = scratch
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { next += n }
            return next
        }
        let tile = l.rowsMax * l.ld
        (s, ds, w) = (take(tile), take(tile), take(tile))
        (qPanels, oPanels) = (take(l.rowsMax * l.headDim), take(l.rowsMax * l.valueDim))
        (kt, vt) = (take(l.headDim * l.ld), take(l.valueDim * l.ld))
        (wt, dst) = (take(l.keyRowsMax * l.rowsMax), take(l.keyRowsMax * l.rowsMax))
        (accK, accV) = (take(l.keyRowsMax * l.headDim), take(l.keyRowsMax * l.valueDim))
        dq = take(l.rowsMax * l.headDim)
    }

    /// Packs Kᵀ and Vᵀ of key block `kb` of (batch `b`, kv head `hk`) (micro-kernel mode).
    func packKeyBlock(b: Int, hk: Int, kb: Int) {
        let p = tiles.problem, l = layout
        guard l.microKernel else { return }
        let k0 = kb * l.keyBlock, cols = Swift.min(l.keyBlock, p.keys - k0)
        let colsPad = (cols + 31) / 32 * 32
        let (ks, vs) = (p.key.strides, p.value.strides)
        tiles.kernels.pack_transposed(
            cols, l.headDim, tiles.key + b * ks[0] + hk * ks[1] + k0 * ks[2], ks[2], kt, l.ld,
            colsPad)
        tiles.kernels.pack_transposed(
            cols, l.valueDim, tiles.value + b * vs[0] + hk * vs[1] + k0 * vs[2], vs[2], vt, l.ld,
            colsPad)
    }

    /// Starts key block `kb`: packs its operands and zeroes its `dK`/`dV` accumulators.
    func beginKeyBlock(b: Int, hk: Int, kb: Int) {
        packKeyBlock(b: b, hk: hk, kb: kb)
        accK.update(repeating: 0, count: layout.keyRowsMax * layout.headDim)
        accV.update(repeating: 0, count: layout.keyRowsMax * layout.valueDim)
    }

    /// Adds the accumulated `dK`/`dV` of a key block (`cols` rows) to `gradKey`/`gradValue`.
    func endKeyBlock(
        cols: Int, gradKey: UnsafeMutablePointer<Float>, gradValue: UnsafeMutablePointer<Float>
    ) {
        let (d, dv) = (layout.headDim, layout.valueDim)
        for i in 0..<cols * d { gradKey[i] += accK[i] }
        for i in 0..<cols * dv { gradValue[i] += accV[i] }
    }

    /// Recomputes tile (`qb`, `kb`) of (batch `b`, head `h`): `P` in `s`, `dS·scale` in `ds`;
    /// returns the weights `dropout(P)` and the tile's operands. In micro-kernel mode Kᵀ/Vᵀ
    /// of `kb` must be packed.
    func compute(b: Int, h: Int, queryBlock qb: Int, keyBlock kb: Int, partial: Bool)
        -> FlashBackwardTiles.Result
    {
        let p = tiles.problem, l = layout, ld = l.ld, t = tiles.tile
        _ = ak_atomic_fetch_add(tiles.visits, 1)
        let q0 = qb * l.queryBlock, rows = Swift.min(l.queryBlock, p.queries - q0)
        let k0 = kb * l.keyBlock, cols = Swift.min(l.keyBlock, p.keys - k0)
        let hk = h / p.group, slice = b * p.heads + h
        let (qs, ks, vs, gs) = (
            p.query.strides, p.key.strides, p.value.strides, tiles.gradOutputStrides
        )
        let qp = tiles.query + b * qs[0] + h * qs[1] + q0 * qs[2]
        let kp = tiles.key + b * ks[0] + hk * ks[1] + k0 * ks[2]
        let vp = tiles.value + b * vs[0] + hk * vs[1] + k0 * vs[2]
        let gp = tiles.gradOutput + b * gs[0] + h * gs[1] + q0 * gs[2]
        let kernels = tiles.kernels
        if l.microKernel {
            let rowsPad = (rows + 11) / 12 * 12, colsPad = (cols + 31) / 32 * 32
            kernels.pack_panels(rows, rowsPad, l.headDim, qp, qs[2], p.scale, qPanels)
            kernels.tile_gemm(
                0, rowsPad, colsPad, l.headDim, qPanels, l.headDim, kt, ld, s, ld, 0, nil)
            kernels.pack_panels(rows, rowsPad, l.valueDim, gp, gs[2], 1, oPanels)
            kernels.tile_gemm(
                0, rowsPad, colsPad, l.valueDim, oPanels, l.valueDim, vt, ld, ds, ld, 0, nil)
        } else {
            kernels.sgemm(0, 1, rows, cols, p.headDim, p.scale, qp, qs[2], kp, ks[2], 0, s, ld)
            kernels.sgemm(0, 1, rows, cols, p.valueDim, 1, gp, gs[2], vp, vs[2], 0, ds, ld)
        }
        if partial {
            t.applyMask(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: ld)
        }
        t.applyALiBi(h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: ld)
        for r in 0..<rows {
            let m = tiles.logSumExp[slice * p.queries + q0 + r], row = s + r * ld
            if m.isNaN {  // the row output NaN: NaN where visible
                ScoreTile.poison(row, cols: cols)
                continue
            }
            guard m > -.infinity else {  // the row saw no key: P = 0
                row.update(repeating: 0, count: cols)
                continue
            }
            for c in 0..<cols { row[c] -= m }
            kernels.exp(cols, row, row)
        }
        let weights = t.gradientFromProducts(
            b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols,
            probabilities: s, weights: w, gradient: ds, ld: ld,
            rowDot: tiles.rowDot + slice * p.queries + q0, scale: p.scale)
        // The products read the operands with non-finite rows zeroed (BackwardInputs).
        return FlashBackwardTiles.Result(
            rows: rows, cols: cols, weights: weights, gradScores: ds,
            query: tiles.productQuery + (qp - tiles.query), ldq: qs[2],
            key: tiles.productKey + (kp - tiles.key), ldk: ks[2], gradOutput: gp, ldo: gs[2])
    }

    /// `dV += Wᵀ·dO` and `dK += dSᵀ·Q` into the key block's accumulators.
    func accumulateKeyGradients(_ r: FlashBackwardTiles.Result) {
        let l = layout, kernels = tiles.kernels
        let (d, dv) = (l.headDim, l.valueDim)
        if l.microKernel {
            let kRows = (r.cols + 11) / 12 * 12
            kernels.pack_transposed(r.rows, r.cols, r.weights, l.ld, wt, l.rowsMax, r.rows)
            kernels.tile_gemm(
                1, kRows, dv, r.rows, wt, l.rowsMax, r.gradOutput, r.ldo, accV, dv, 1, nil)
            kernels.pack_transposed(r.rows, r.cols, r.gradScores, l.ld, dst, l.rowsMax, r.rows)
            kernels.tile_gemm(1, kRows, d, r.rows, dst, l.rowsMax, r.query, r.ldq, accK, d, 1, nil)
        } else {
            kernels.sgemm(
                1, 0, r.cols, dv, r.rows, 1, r.weights, l.ld, r.gradOutput, r.ldo, 1, accV, dv)
            kernels.sgemm(
                1, 0, r.cols, d, r.rows, 1, r.gradScores, l.ld, r.query, r.ldq, 1, accK, d)
        }
    }

    /// `dQ += dS·K` into `gradQuery` (the tile's first row, row stride `headDim`).
    func accumulateQueryGradient(
        _ r: FlashBackwardTiles.Result, into gradQuery: UnsafeMutablePointer<Float>
    ) {
        let l = layout, kernels = tiles.kernels, d = l.headDim
        guard l.microKernel else {
            kernels.sgemm(
                0, 0, r.rows, d, r.cols, 1, r.gradScores, l.ld, r.key, r.ldk, 1, gradQuery, d)
            return
        }
        let rowsPad = (r.rows + 11) / 12 * 12
        if rowsPad == r.rows {
            kernels.tile_gemm(
                1, rowsPad, d, r.cols, r.gradScores, l.ld, r.key, r.ldk, gradQuery, d, 1, nil)
        } else {  // the padded rows of dS are zero, but they must not land past the tile
            kernels.tile_gemm(
                1, rowsPad, d, r.cols, r.gradScores, l.ld, r.key, r.ldk, dq, d, 0, nil)
            for i in 0..<r.rows * d { gradQuery[i] += dq[i] }
        }
    }
}

/// Sizes and paddings of one backward call's tiles and per-worker scratch.
struct FlashBackwardLayout {
    let queryBlock: Int, keyBlock: Int
    /// Query rows padded to the micro-tile height (12).
    let rowsMax: Int
    /// Row stride of the score tiles (key block padded to 32).
    let ld: Int
    /// Key rows padded to the micro-tile height (12): the rows of the transposed tiles and
    /// of the dK/dV accumulators.
    let keyRowsMax: Int
    let headDim: Int, valueDim: Int
    /// Whether the products run on `tile_gemm` (both widths multiples of 16).
    let microKernel: Bool

    init(_ p: AttentionProblem) {
        (queryBlock, keyBlock) = (p.queryBlock, p.keyBlock)
        rowsMax = (p.queryBlock + 11) / 12 * 12
        ld = (p.keyBlock + 31) / 32 * 32
        keyRowsMax = (p.keyBlock + 11) / 12 * 12
        (headDim, valueDim) = (p.headDim, p.valueDim)
        microKernel = p.headDim % 16 == 0 && p.valueDim % 16 == 0
    }

    /// Floats of one worker's scratch.
    var floatsPerWorker: Int {
        3 * rowsMax * ld + rowsMax * (2 * headDim + valueDim) + ld * (headDim + valueDim)
            + keyRowsMax * (2 * rowsMax + headDim + valueDim)
    }
}
