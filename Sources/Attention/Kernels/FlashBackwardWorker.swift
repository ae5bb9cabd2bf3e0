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
/// Otherwise (odd widths) the same five products go through the C `sgemm`. bf16/f16
/// operands are widened into the worker's fp32 rows first (`convert`), or multiplied in
/// bf16 pairs (`bf16Dot`, FlashBackwardWorker+BF16.swift).
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
    /// `convert`: the tile's Q and dO rows and the key block's K and V rows in fp32 (row
    /// stride the head width), and the product copies of Q and K when they differ.
    let qRows: UnsafeMutablePointer<Float>, oRows: UnsafeMutablePointer<Float>
    let kRows: UnsafeMutablePointer<Float>, vRows: UnsafeMutablePointer<Float>
    let pqRows: UnsafeMutablePointer<Float>, pkRows: UnsafeMutablePointer<Float>
    /// `bf16Dot`: operands in bf16 pairs (see FlashBackwardWorker+BF16.swift).
    let pairs: FlashBackwardPairs

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
        (wt, dst) = (take(l.keyRowsMax * l.rowsMax), take(l.keyRowsMax * l.rowsMax))
        (accK, accV) = (take(l.keyRowsMax * l.headDim), take(l.keyRowsMax * l.valueDim))
        dq = take(l.rowsMax * l.headDim)
        let fp32 = l.precision != .bf16Dot
        qPanels = take(fp32 ? l.rowsMax * l.headDim : 0)
        oPanels = take(fp32 ? l.rowsMax * l.valueDim : 0)
        kt = take(fp32 ? l.headDim * l.ld : 0)
        vt = take(fp32 ? l.valueDim * l.ld : 0)
        let widen = l.precision != .f32 && l.precision != .bf16Dot
        (qRows, oRows) = (
            take(widen ? l.rowsMax * l.headDim : 0), take(widen ? l.rowsMax * l.valueDim : 0)
        )
        (kRows, vRows) = (take(widen ? l.ld * l.headDim : 0), take(widen ? l.ld * l.valueDim : 0))
        (pqRows, pkRows) = (
            take(widen ? l.rowsMax * l.headDim : 0), take(widen ? l.ld * l.headDim : 0)
        )
        pairs = FlashBackwardPairs(layout, scratch: take(l.pairFloats))
    }

    /// The operands' strides (elements).
    private var strides: (q: [Int], k: [Int], v: [Int], g: [Int]) {
        let p = tiles.problem
        return (p.query.strides, p.key.strides, p.value.strides, tiles.gradOutputStrides)
    }

    /// Widens `rows` rows of `width` bf16/f16 elements (row stride `ld`, from element
    /// `offset` of `base`) into `out` (row stride `width`).
    private func widen(
        _ rows: Int, _ width: Int, _ base: UnsafeRawPointer, _ offset: Int, _ ld: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let src = base.assumingMemoryBound(to: UInt16.self) + offset
        for r in 0..<rows { tiles.half.to_f32(tiles.format, width, src + r * ld, out + r * width) }
    }

    /// The fp32 K and V rows of key block `kb` (and K as the products read it), with their
    /// row strides: the tensors' rows, or the worker's widened copies (`convert`).
    private func keyRows(b: Int, hk: Int, kb: Int) -> (
        k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        productKey: UnsafePointer<Float>
    ) {
        let (_, ks, vs, _) = strides
        let k0 = kb * layout.keyBlock
        let kOffset = b * ks[0] + tiles.problem.key.strides[1] * hk + k0 * ks[2]
        let vOffset = b * vs[0] + hk * vs[1] + k0 * vs[2]
        if tiles.precision == .f32 {
            return (
                tiles.key.assumingMemoryBound(to: Float.self) + kOffset, ks[2],
                tiles.value.assumingMemoryBound(to: Float.self) + vOffset, vs[2],
                tiles.productKey.assumingMemoryBound(to: Float.self) + kOffset
            )
        }
        let sameKey = tiles.productKey == tiles.key
        return (
            UnsafePointer(kRows), layout.headDim, UnsafePointer(vRows), layout.valueDim,
            UnsafePointer(sameKey ? kRows : pkRows)
        )
    }

    /// Prepares key block `kb` of (batch `b`, kv head `hk`): widens its rows (`convert`),
    /// packs Kᵀ and Vᵀ (micro-kernel mode), or packs its bf16 pairs (`bf16Dot`).
    func packKeyBlock(b: Int, hk: Int, kb: Int) {
        let p = tiles.problem, l = layout
        let k0 = kb * l.keyBlock, cols = Swift.min(l.keyBlock, p.keys - k0)
        let colsPad = (cols + 31) / 32 * 32
        let (_, ks, vs, _) = strides
        let kOffset = b * ks[0] + hk * ks[1] + k0 * ks[2]
        let vOffset = b * vs[0] + hk * vs[1] + k0 * vs[2]
        switch l.precision {
        case .bf16Dot:
            pairs.packKeyBlock(tiles, l, cols: cols, kOffset: kOffset, vOffset: vOffset)
            return
        case .convert:
            widen(cols, l.headDim, tiles.key, kOffset, ks[2], into: kRows)
            widen(cols, l.valueDim, tiles.value, vOffset, vs[2], into: vRows)
            if tiles.productKey != tiles.key {
                widen(cols, l.headDim, tiles.productKey, kOffset, ks[2], into: pkRows)
            }
        case .f32: break
        }
        guard l.microKernel else { return }
        let rows = keyRows(b: b, hk: hk, kb: kb)
        tiles.kernels.pack_transposed(cols, l.headDim, rows.k, rows.ldk, kt, l.ld, colsPad)
        tiles.kernels.pack_transposed(cols, l.valueDim, rows.v, rows.ldv, vt, l.ld, colsPad)
    }

    /// Starts key block `kb`: packs its operands and zeroes its `dK`/`dV` accumulators.
    func beginKeyBlock(b: Int, hk: Int, kb: Int) {
        packKeyBlock(b: b, hk: hk, kb: kb)
        accK.update(repeating: 0, count: layout.keyRowsMax * layout.headDim)
        accV.update(repeating: 0, count: layout.keyRowsMax * layout.valueDim)
    }

    /// Writes the accumulated `dK`/`dV` of key block `kb` of (batch `b`, kv head `hk`) into
    /// the gradients (rounded to the call's dtype for bf16/f16).
    func endKeyBlock(b: Int, hk: Int, kb: Int) {
        let p = tiles.problem, (d, dv) = (layout.headDim, layout.valueDim)
        let k0 = kb * layout.keyBlock, cols = Swift.min(layout.keyBlock, p.keys - k0)
        let row = (b * p.kvHeads + hk) * p.keys + k0
        store(cols * d, from: accK, to: tiles.gradKey, at: row * d)
        store(cols * dv, from: accV, to: tiles.gradValue, at: row * dv)
    }

    /// Writes `count` fp32 values to element `offset` of a gradient in the call's dtype.
    private func store(
        _ count: Int, from x: UnsafePointer<Float>, to base: UnsafeMutableRawPointer, at offset: Int
    ) {
        if tiles.problem.query.dtype == .f32 {
            (base.assumingMemoryBound(to: Float.self) + offset).update(from: x, count: count)
        } else {
            tiles.half.from_f32(
                tiles.format, count, x, base.assumingMemoryBound(to: UInt16.self) + offset)
        }
    }

    /// The fp32 `dQ` gradient from row `row` of (batch·H + head) `slice` on (rows of later
    /// heads follow).
    func gradQueryRows(slice: Int, row: Int) -> UnsafeMutablePointer<Float> {
        let p = tiles.problem
        return tiles.gradQuery.assumingMemoryBound(to: Float.self)
            + (slice * p.queries + row) * p.headDim
    }

    /// Starts the dQ pass of query block `qb` of `slice`: zeroes its accumulator (the
    /// gradient's rows for fp32, the worker's padded block otherwise) and returns it.
    func beginQueryBlock(slice: Int, queryBlock qb: Int) -> QueryGradientTarget {
        let p = tiles.problem, d = layout.headDim
        if p.query.dtype == .f32 {
            let q0 = qb * layout.queryBlock, rows = Swift.min(layout.queryBlock, p.queries - q0)
            let out = gradQueryRows(slice: slice, row: q0)
            out.update(repeating: 0, count: rows * d)
            return .rows(out)
        }
        dq.update(repeating: 0, count: layout.rowsMax * d)
        return .padded(dq)
    }

    /// Rounds `rows` finished fp32 `dQ` rows into the bf16/f16 gradient from the first row
    /// of (batch·H + head) `slice` on.
    func roundGradQuery(_ sums: UnsafePointer<Float>, slice: Int, rows: Int) {
        let p = tiles.problem, d = layout.headDim
        store(rows * d, from: sums, to: tiles.gradQuery, at: slice * p.queries * d)
    }

    /// Rounds the worker's finished fp32 `dQ` block (`.padded`) of query block `qb` of
    /// `slice` into the bf16/f16 gradient.
    func roundGradQuery(dq target: QueryGradientTarget, slice: Int, queryBlock qb: Int) {
        guard case .padded(let block) = target else { return }
        let p = tiles.problem, d = layout.headDim
        let q0 = qb * layout.queryBlock, rows = Swift.min(layout.queryBlock, p.queries - q0)
        store(rows * d, from: block, to: tiles.gradQuery, at: (slice * p.queries + q0) * d)
    }

    /// Recomputes tile (`qb`, `kb`) of (batch `b`, head `h`): `P` in `s`, `dS·scale` in `ds`;
    /// returns the weights `dropout(P)` and the tile's operands. Key block `kb` must be
    /// prepared (``packKeyBlock(b:hk:kb:)``).
    func compute(b: Int, h: Int, queryBlock qb: Int, keyBlock kb: Int, partial: Bool)
        -> FlashBackwardTiles.Result
    {
        _ = ak_atomic_fetch_add(tiles.visits, 1)
        let st = scores(b: b, h: h, queryBlock: qb, keyBlock: kb, partial: partial)
        let p = tiles.problem, ld = layout.ld, t = tiles.tile
        let (q0, rows, k0, cols, slice) = (st.q0, st.rows, st.k0, st.cols, b * p.heads + h)
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
            tiles.kernels.exp(cols, row, row)
            // A row whose log-sum-exp is too large to subtract exactly: P = e^(S − m) / l
            // with the backward's own row statistics (FlashBackward+RowStatistics.swift).
            if let rowScale = tiles.rowScale, rowScale[slice * p.queries + q0 + r] != 1 {
                let f = rowScale[slice * p.queries + q0 + r]
                for c in 0..<cols { row[c] *= f }
            }
        }
        let weights = t.gradientFromProducts(
            b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols,
            probabilities: s, weights: w, gradient: ds, ld: ld,
            rowDot: tiles.rowDot + slice * p.queries + q0, scale: p.scale)
        // The products read the operands with non-finite rows zeroed (BackwardInputs).
        return FlashBackwardTiles.Result(
            rows: rows, cols: cols, weights: weights, gradScores: ds,
            query: st.operands.query, ldq: st.operands.ldq, key: st.key, ldk: st.ldk,
            gradOutput: st.operands.gradOutput, ldo: st.operands.ldo)
    }

    /// The scores of tile (`qb`, `kb`) of (batch `b`, head `h`) as ``compute`` sees them —
    /// `scale·Q·Kᵀ`, masked on partial tiles, plus ALiBi — in `s`, and `dO·Vᵀ` in `ds`; with
    /// the operand rows the gradient products read.
    func scores(b: Int, h: Int, queryBlock qb: Int, keyBlock kb: Int, partial: Bool) -> (
        q0: Int, rows: Int, k0: Int, cols: Int,
        operands: (query: UnsafeRawPointer, ldq: Int, gradOutput: UnsafeRawPointer, ldo: Int),
        key: UnsafeRawPointer, ldk: Int
    ) {
        let p = tiles.problem, l = layout, ld = l.ld, t = tiles.tile
        let q0 = qb * l.queryBlock, rows = Swift.min(l.queryBlock, p.queries - q0)
        let k0 = kb * l.keyBlock, cols = Swift.min(l.keyBlock, p.keys - k0)
        let hk = h / p.group
        let (qs, ks, _, gs) = strides
        let qOffset = b * qs[0] + h * qs[1] + q0 * qs[2]
        let gOffset = b * gs[0] + h * gs[1] + q0 * gs[2]
        let operands: (query: UnsafeRawPointer, ldq: Int, gradOutput: UnsafeRawPointer, ldo: Int)
        var key = UnsafeRawPointer(pairs.kInterleaved), ldk = l.headDim
        if l.precision == .bf16Dot {
            pairs.products(
                tiles, l, rows: rows, cols: cols, qOffset: qOffset, gOffset: gOffset,
                scores: s, gradient: ds)
            let (pq, g) = (tiles.productQuery, tiles.gradOutput)
            operands = (pq + 2 * qOffset, qs[2], g + 2 * gOffset, gs[2])
        } else {
            let (qp, ldq, gp, ldg, pq) = queryRows(rows: rows, qOffset: qOffset, gOffset: gOffset)
            let kr = keyRows(b: b, hk: hk, kb: kb)
            if l.microKernel {
                let rowsPad = (rows + 11) / 12 * 12, colsPad = (cols + 31) / 32 * 32
                let kernels = tiles.kernels
                kernels.pack_panels(rows, rowsPad, l.headDim, qp, ldq, p.scale, qPanels)
                kernels.tile_gemm(
                    0, rowsPad, colsPad, l.headDim, qPanels, l.headDim, kt, ld, s, ld, 0, nil)
                kernels.pack_panels(rows, rowsPad, l.valueDim, gp, ldg, 1, oPanels)
                kernels.tile_gemm(
                    0, rowsPad, colsPad, l.valueDim, oPanels, l.valueDim, vt, ld, ds, ld, 0, nil)
            } else {
                tiles.kernels.sgemm(
                    0, 1, rows, cols, p.headDim, p.scale, qp, ldq, kr.k, kr.ldk, 0, s, ld)
                tiles.kernels.sgemm(
                    0, 1, rows, cols, p.valueDim, 1, gp, ldg, kr.v, kr.ldv, 0, ds, ld)
            }
            operands = (UnsafeRawPointer(pq), ldq, UnsafeRawPointer(gp), ldg)
            (key, ldk) = (
                UnsafeRawPointer(kr.productKey), tiles.precision == .f32 ? ks[2] : l.headDim
            )
        }
        if partial {
            t.applyMask(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: ld)
        }
        t.applyALiBi(h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: ld)
        return (q0, rows, k0, cols, operands, key, ldk)
    }

    /// The fp32 Q and dO rows of a tile with their strides, and Q as the products read it
    /// (same stride as Q): the tensors' rows, or the worker's widened copies (`convert`).
    private func queryRows(rows: Int, qOffset: Int, gOffset: Int) -> (
        UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>
    ) {
        let (qs, _, _, gs) = strides, l = layout
        if tiles.precision == .f32 {
            return (
                tiles.query.assumingMemoryBound(to: Float.self) + qOffset, qs[2],
                tiles.gradOutput.assumingMemoryBound(to: Float.self) + gOffset, gs[2],
                tiles.productQuery.assumingMemoryBound(to: Float.self) + qOffset
            )
        }
        widen(rows, l.headDim, tiles.query, qOffset, qs[2], into: qRows)
        widen(rows, l.valueDim, tiles.gradOutput, gOffset, gs[2], into: oRows)
        let sameQuery = tiles.productQuery == tiles.query
        if !sameQuery { widen(rows, l.headDim, tiles.productQuery, qOffset, qs[2], into: pqRows) }
        return (
            UnsafePointer(qRows), l.headDim, UnsafePointer(oRows), l.valueDim,
            UnsafePointer(sameQuery ? qRows : pqRows)
        )
    }

    /// `dV += Wᵀ·dO` and `dK += dSᵀ·Q` into the key block's accumulators.
    func accumulateKeyGradients(_ r: FlashBackwardTiles.Result) {
        let l = layout, kernels = tiles.kernels
        let (d, dv) = (l.headDim, l.valueDim)
        if l.precision == .bf16Dot {
            pairs.accumulateKeyGradients(
                tiles, l, r, transposed: wt, transposedGrad: dst, gradKey: accK, gradValue: accV)
            return
        }
        let query = r.query.assumingMemoryBound(to: Float.self)
        let gradOutput = r.gradOutput.assumingMemoryBound(to: Float.self)
        if l.microKernel {
            let kRows = (r.cols + 11) / 12 * 12
            kernels.pack_transposed(r.rows, r.cols, r.weights, l.ld, wt, l.rowsMax, r.rows)
            kernels.tile_gemm(
                1, kRows, dv, r.rows, wt, l.rowsMax, gradOutput, r.ldo, accV, dv, 1, nil)
            kernels.pack_transposed(r.rows, r.cols, r.gradScores, l.ld, dst, l.rowsMax, r.rows)
            kernels.tile_gemm(1, kRows, d, r.rows, dst, l.rowsMax, query, r.ldq, accK, d, 1, nil)
        } else {
            kernels.sgemm(
                1, 0, r.cols, dv, r.rows, 1, r.weights, l.ld, gradOutput, r.ldo, 1, accV, dv)
            kernels.sgemm(
                1, 0, r.cols, d, r.rows, 1, r.gradScores, l.ld, query, r.ldq, 1, accK, d)
        }
    }

    /// `dQ += dS·K` into `target`.
    func accumulateQueryGradient(_ r: FlashBackwardTiles.Result, into target: QueryGradientTarget) {
        let d = layout.headDim
        switch target {
        case .padded(let block):
            queryProduct(r, into: block, accumulate: true)
        case .rows(let out):
            if (r.rows + 11) / 12 * 12 == r.rows
                || !(layout.microKernel || layout.precision == .bf16Dot)
            {
                queryProduct(r, into: out, accumulate: true)
            } else {  // the padded rows of dS are zero, but they must not land past the tile
                queryProduct(r, into: dq, accumulate: false)
                for i in 0..<r.rows * d { out[i] += dq[i] }
            }
        }
    }

    /// `C (+)= dS·K` into `c` (row stride `headDim`): the tile's rows padded to 12 on the
    /// micro-kernels, exactly its rows on `sgemm`.
    private func queryProduct(
        _ r: FlashBackwardTiles.Result, into c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let l = layout, kernels = tiles.kernels, d = l.headDim
        let key = r.key.assumingMemoryBound(to: Float.self), beta: Int32 = accumulate ? 1 : 0
        if l.precision == .bf16Dot {
            pairs.accumulateQueryGradient(tiles, l, r, into: c, accumulate: accumulate)
        } else if l.microKernel {
            let rowsPad = (r.rows + 11) / 12 * 12
            kernels.tile_gemm(
                1, rowsPad, d, r.cols, r.gradScores, l.ld, key, r.ldk, c, d, beta, nil)
        } else {
            kernels.sgemm(
                0, 0, r.rows, d, r.cols, 1, r.gradScores, l.ld, key, r.ldk, Float(beta), c, d)
        }
    }
}

/// Sizes and paddings of one backward call's tiles and per-worker scratch.
struct FlashBackwardLayout {
    let precision: FlashBackwardPrecision
    let queryBlock: Int, keyBlock: Int
    /// Query rows padded to the micro-tile height (12).
    let rowsMax: Int
    /// Row stride of the score tiles (key block padded to 32).
    let ld: Int
    /// Key rows padded to the micro-tile height (12): the rows of the transposed tiles and
    /// of the dK/dV accumulators.
    let keyRowsMax: Int
    let headDim: Int, valueDim: Int
    /// Whether the fp32 products run on `tile_gemm` (both widths multiples of 16).
    let microKernel: Bool

    init(_ p: AttentionProblem) {
        precision = FlashBackwardPrecision(p)
        (queryBlock, keyBlock) = (p.queryBlock, p.keyBlock)
        rowsMax = (p.queryBlock + 11) / 12 * 12
        ld = (p.keyBlock + 31) / 32 * 32
        keyRowsMax = (p.keyBlock + 11) / 12 * 12
        (headDim, valueDim) = (p.headDim, p.valueDim)
        microKernel = p.headDim % 16 == 0 && p.valueDim % 16 == 0
    }

    /// Floats of one worker's scratch (the regions ``FlashBackwardWorker`` takes).
    var floatsPerWorker: Int {
        let fp32 = precision != .bf16Dot ? 1 : 0
        let widen = precision != .f32 && precision != .bf16Dot ? 1 : 0
        return 3 * rowsMax * ld + keyRowsMax * (2 * rowsMax + headDim + valueDim)
            + rowsMax * headDim
            + fp32 * (rowsMax * (headDim + valueDim) + ld * (headDim + valueDim))
            + widen * (rowsMax * (2 * headDim + valueDim) + ld * (2 * headDim + valueDim))
            + pairFloats
    }
}
