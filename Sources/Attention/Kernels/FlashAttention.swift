import Foundation
import _AttentionKernels

/// The fused forward kernel: FlashAttention-2 tiling with online softmax.
///
/// For each (batch, head, query block) task, and for each key block the mask leaves
/// visible (``BlockMask``):
/// ```
/// S  = (scale·Q_blk) · K_blkᵀ                     ak_tile_gemm(shape 0), Kᵀ packed per block
/// S += mask / ALiBi        (partial blocks only / every block)
/// m' = max(m, rowmax S);  P = exp(S − m');  l = l·e^(m−m') + rowsum P     ak_online_softmax
/// O  = e^(m−m')·O + P · V_blk                     ak_tile_gemm(shape 1), V read in place
/// ```
/// and finally `O / l` (0 where `l = 0`). Scratch per worker is O(block·D); nothing of size
/// `Sq × Sk` is ever allocated. Tasks are handed out largest-first through an atomic counter,
/// which balances causal work across threads.
package enum FlashAttention {
    /// Where the output goes: `[B, H, Sq, Dv]` or `[B, Sq, H, Dv]` (what a layer reshapes to
    /// `[B, Sq, H·Dv]` without a transpose copy).
    enum OutputLayout { case bhsd, bshd }

    /// Tile sizes; `queryBlock` must be a multiple of 12 and `keyBlock` of 32 (the micro-tile
    /// geometry of every kernel variant).
    nonisolated(unsafe) package static var queryBlock = 96
    nonisolated(unsafe) package static var keyBlock = 128

    /// Tiles that line up with a block-structured mask, so that its blocks classify as
    /// exactly full or empty and no element is tested (BigBird's 64-blocks: 64×64 tiles,
    /// the query side padded to 72 rows); the tuned default otherwise.
    package static func tileSize(for mask: AttentionMask) -> (queries: Int, keys: Int) {
        if case .bigBirdBlocks(let size, _, _, _, _) = mask, size % 32 == 0, size <= 256 {
            return (size, size)
        }
        return (queryBlock, keyBlock)
    }

    static func forward(
        _ p: AttentionProblem, options: AttentionOptions, outputLayout: OutputLayout
    )
        -> (output: Tensor, logSumExp: Tensor?, visitedTiles: Int)
    {
        let (br, bc) = tileSize(for: options.mask)
        let (sq, sk, d, dv) = (p.queries, p.keys, p.headDim, p.valueDim)
        // Padding that suits every kernel variant (micro-tile rows 12 or 6, columns 32/16/8,
        // vectors of 16/8/4), so switching variants at run time is always safe.
        let rowAlign = 12, colAlign = 32
        let dvPad = (dv + 15) / 16 * 16
        let packV = dvPad != dv
        // Scores in base 2: log2 e is folded into the query scale (and into added biases), so
        // the softmax uses 2^x with no ln 2 range reduction.
        let tile = ScoreTile(p, options, base2: true)
        let queryScale = p.scale * Float(M_LOG2E)

        // Block classification: once, or per (batch, head) when the mask varies with them.
        let perSlice = options.mask.dependsOnBatchOrHead
        let blockMasks: [BlockMask] =
            perSlice
            ? (0..<(p.batch * p.heads)).map {
                BlockMask(
                    mask: options.mask, queries: sq, keys: sk, queryBlockSize: br, keyBlockSize: bc,
                    batch: $0 / p.heads, head: $0 % p.heads)
            }
            : [
                options.blockMask
                    ?? BlockMask(
                        mask: options.mask, queries: sq, keys: sk, queryBlockSize: br,
                        keyBlockSize: bc)
            ]

        let outShape =
            outputLayout == .bhsd ? [p.batch, p.heads, sq, dv] : [p.batch, sq, p.heads, dv]
        let outRowStride = outputLayout == .bhsd ? dv : p.heads * dv
        var lse = Tensor.zeros(options.returnLogSumExp ? [p.batch, p.heads, sq] : [0])
        let wantLSE = options.returnLogSumExp

        let qBlocks = (sq + br - 1) / br
        let bh = p.batch * p.heads
        let threads = AttentionConfiguration.threadCount
        let workers = Swift.max(1, Swift.min(threads, bh * qBlocks))
        // Whole heads per item when there are enough heads to keep every thread busy; otherwise
        // each head's query blocks split into runs so that there are ≥ 4 items per thread.
        let parts = bh >= 2 * workers ? 1 : Swift.min(qBlocks, (4 * workers + bh - 1) / bh)
        let chunk = (qBlocks + parts - 1) / parts

        // Per-worker scratch: Q block, Kᵀ of one (batch, kv head) packed block by block as
        // first needed (reused by every query block and every query head of the group that
        // the worker takes next), scores, O accumulator, V block, row state.
        let rowsMax = (br + rowAlign - 1) / rowAlign * rowAlign
        let kBlocks = (sk + bc - 1) / bc
        let qSize = rowsMax * d, ktSize = kBlocks * d * bc, sSize = rowsMax * bc,
            oSize = rowsMax * dvPad
        let vSize = packV ? bc * dvPad : 0
        let perWorker = qSize + sSize + oSize + vSize + 3 * rowsMax
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: perWorker * workers + 16)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: perWorker * workers + 16)
        let scratchBase = SendablePointer(scratch)
        // Kᵀ (S·D per worker) is written by packing before any read: no zero-fill pass, and
        // the buffer is kept between calls (ScratchPool).
        return ScratchPool.withBuffer(count: ktSize * workers) { ktScratch in
            let ktBase = SendablePointer(ktScratch)
            // Tiles computed (a test checks that it equals the BlockMask's count).
            let visits = UnsafeMutablePointer<Int>.allocate(capacity: 1)
            visits.initialize(to: 0)
            defer { visits.deallocate() }
            let visitCounter = SendablePointer(visits)
            // Which (batch, kv head) each worker's Kᵀ holds, and which of its blocks are packed.
            let ktOwner = UnsafeMutablePointer<Int>.allocate(capacity: workers)
            ktOwner.initialize(repeating: -1, count: workers)
            let ktPacked = UnsafeMutablePointer<Bool>.allocate(capacity: workers * kBlocks)
            ktPacked.initialize(repeating: false, count: workers * kBlocks)
            defer { ktOwner.deallocate(); ktPacked.deallocate() }
            let owners = SendablePointer(ktOwner), packedFlags = SendablePointer(ktPacked)
            // Per-row column spans for the softmax of partial interval tiles.
            let spanScratch = UnsafeMutablePointer<Int>.allocate(capacity: 5 * rowsMax * workers)
            defer { spanScratch.deallocate() }
            let spans = SendablePointer(spanScratch)

            // Every output element is written by exactly one task's finalize step.
            let output = Tensor(uninitializedShape: outShape) { out in
                p.query.withUnsafeElements { q in
                    p.key.withUnsafeElements { k in
                        p.value.withUnsafeElements { v in
                            lse.withUnsafeMutableElements { l in
                                let q = SendableConstPointer(q), k = SendableConstPointer(k),
                                    v = SendableConstPointer(v)
                                let out = SendablePointer(out), lsePtr = SendablePointer(l)
                                parallelFor(count: bh * parts, threads: workers) { item, worker in
                                    // An item is a run of query blocks of one (batch, head): a worker packs
                                    // that head's Kᵀ once and reuses it (and across the heads of a kv group,
                                    // which are adjacent: slice = b·H + h). Largest (causal) blocks first.
                                    let slice = item / parts, part = item % parts
                                    for qb in stride(
                                        from: Swift.min(qBlocks, (part + 1) * chunk) - 1,
                                        through: part * chunk, by: -1)
                                    {
                                        let b = slice / p.heads, h = slice % p.heads,
                                            hk = h / p.group
                                        let q0 = qb * br, rows = Swift.min(br, sq - q0)
                                        let rowsPad = (rows + rowAlign - 1) / rowAlign * rowAlign

                                        var cursor = scratchBase.base + worker * perWorker
                                        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
                                            defer { cursor += n }
                                            return cursor
                                        }
                                        let qBuf = take(qSize), s = take(sSize), o = take(oSize)
                                        let ktAll = ktBase.base + worker * ktSize
                                        let vBuf = take(vSize), rowMax = take(rowsMax),
                                            rowSum = take(rowsMax), alpha = take(rowsMax)
                                        let packed = packedFlags.base + worker * kBlocks
                                        let spanBuf = spans.base + worker * 5 * rowsMax
                                        let rowIv = spanBuf + 2 * rowsMax,
                                            panelSpan = rowIv + 2 * rowsMax
                                        if owners.base[worker] != b * p.kvHeads + hk {
                                            owners.base[worker] = b * p.kvHeads + hk
                                            packed.update(repeating: false, count: kBlocks)
                                        }

                                        let qp =
                                            q.base + b * p.query.strides[0] + h * p.query.strides[1]
                                            + q0 * p.query.strides[2]
                                        ak_pack_panels(
                                            rows, rowsPad, d, qp, p.query.strides[2], queryScale,
                                            qBuf)
                                        rowMax.update(repeating: -.infinity, count: rowsPad)
                                        rowSum.update(repeating: 0, count: rowsPad)
                                        alpha.update(repeating: 1, count: rowsPad)
                                        o.update(repeating: 0, count: rowsPad * dvPad)
                                        if tile.intervalMask {
                                            for r in 0..<rows {
                                                let v = options.mask.visibleInterval(
                                                    query: q0 + r, queries: sq, keys: sk)!
                                                (rowIv[2 * r], rowIv[2 * r + 1]) = (
                                                    v.lowerBound, v.upperBound
                                                )
                                            }
                                        }

                                        let kBase =
                                            k.base + b * p.key.strides[0] + hk * p.key.strides[1]
                                        let vBase =
                                            v.base + b * p.value.strides[0] + hk
                                            * p.value.strides[1]
                                        let ks = p.key.strides[2], vs = p.value.strides[2]
                                        let blocks = blockMasks[perSlice ? slice : 0]
                                        for (kb, kind) in blocks.visits(forQueryBlock: qb) {
                                            let k0 = kb * bc, cols = Swift.min(bc, sk - k0)
                                            _ = ak_atomic_fetch_add(visitCounter.base, 1)
                                            let colsPad =
                                                (cols + colAlign - 1) / colAlign * colAlign
                                            let kt = ktAll + kb * d * bc
                                            if !packed[kb] {
                                                ak_pack_transposed(
                                                    cols, d, kBase + k0 * ks, ks, kt, bc, colsPad)
                                                packed[kb] = true
                                            }
                                            var vBlock = UnsafePointer(vBase + k0 * vs), ldv = vs
                                            if packV {
                                                ak_pack_scaled(
                                                    cols, dv, vBlock, vs, 1, vBuf, dvPad, dvPad)
                                                vBlock = UnsafePointer(vBuf)
                                                ldv = dvPad
                                            }
                                            if kind == .partial && tile.trimsColumns {
                                                // Causal diagonal and window edges: the products run per 12-row
                                                // panel over the 16-aligned columns its rows can see (the diagonal
                                                // costs about half a tile); mask and softmax run once over the
                                                // union of those spans. Rows' visible intervals were computed once
                                                // for the query block (rowIv, absolute key positions).
                                                func local(_ r: Int) -> (Int, Int) {
                                                    let a = Swift.max(rowIv[2 * r] - k0, 0),
                                                        b = Swift.min(rowIv[2 * r + 1] - k0, cols)
                                                    return a < b ? (a, b) : (0, 0)
                                                }
                                                var uLo = cols, uHi = 0
                                                for p0 in stride(from: 0, to: rows, by: 12) {
                                                    var a = cols, b = 0
                                                    for r in p0..<Swift.min(rows, p0 + 12) {
                                                        let (x, y) = local(r)
                                                        if x < y {
                                                            (a, b) = (
                                                                Swift.min(a, x), Swift.max(b, y)
                                                            )
                                                        }
                                                    }
                                                    let lo = a < b ? a & ~15 : 0
                                                    let hi16 =
                                                        a < b
                                                        ? Swift.min(colsPad, (b + 15) & ~15) : 0
                                                    if hi16 > lo {
                                                        ak_tile_gemm(
                                                            0, 12, hi16 - lo, d, qBuf + p0 * d, d,
                                                            kt + lo, bc,
                                                            s + p0 * bc + lo, bc, 0, nil)
                                                    }
                                                    let hi = Swift.max(lo, Swift.min(cols, hi16))
                                                    (
                                                        panelSpan[2 * (p0 / 12)],
                                                        panelSpan[2 * (p0 / 12) + 1]
                                                    ) = (lo, hi)
                                                    if hi > lo {
                                                        (uLo, uHi) = (
                                                            Swift.min(uLo, lo), Swift.max(uHi, hi)
                                                        )
                                                    }
                                                }
                                                if uLo >= uHi { (uLo, uHi) = (0, 0) }
                                                let sp = s + uLo, width = uHi - uLo
                                                // Hide what each row cannot see inside the union; its softmax then
                                                // covers only its own 16-aligned span.
                                                for r in 0..<rows {
                                                    let (x, y) = local(r)
                                                    let row = sp + r * bc
                                                    let a = x < y ? x - uLo : width,
                                                        b = x < y ? y - uLo : width
                                                    if a > 0 {
                                                        row.update(repeating: -.infinity, count: a)
                                                    }
                                                    if b < width {
                                                        (row + b).update(
                                                            repeating: -.infinity, count: width - b)
                                                    }
                                                    let lo = x < y ? x & ~15 : uLo
                                                    let hi =
                                                        x < y ? Swift.min(uHi, (y + 15) & ~15) : uLo
                                                    (spanBuf[2 * r], spanBuf[2 * r + 1]) = (
                                                        lo - uLo, Swift.max(lo, hi) - uLo
                                                    )
                                                }
                                                tile.applyALiBi(
                                                    h: h, q0: q0, rows: rows, k0: k0 + uLo,
                                                    cols: width, scores: sp, ld: bc)
                                                ak_online_softmax(
                                                    rows, width, sp, bc, rowMax, rowSum, alpha,
                                                    spanBuf)
                                                tile.applyDropout(
                                                    b: b, h: h, q0: q0, rows: rows, k0: k0 + uLo,
                                                    cols: width, weights: sp, ld: bc)
                                                for p0 in stride(from: 0, to: rows, by: 12) {
                                                    let lo = panelSpan[2 * (p0 / 12)],
                                                        hi = panelSpan[2 * (p0 / 12) + 1]
                                                    ak_tile_gemm(
                                                        1, 12, dvPad, hi - lo, s + p0 * bc + lo, bc,
                                                        vBlock + lo * ldv, ldv, o + p0 * dvPad,
                                                        dvPad, 1, alpha + p0)
                                                }
                                            } else {
                                                ak_tile_gemm(
                                                    0, rowsPad, colsPad, d, qBuf, d, kt, bc, s, bc,
                                                    0, nil)
                                                if kind == .partial {
                                                    tile.applyMask(
                                                        b: b, h: h, q0: q0, rows: rows, k0: k0,
                                                        cols: cols, scores: s, ld: bc)
                                                }
                                                tile.applyALiBi(
                                                    h: h, q0: q0, rows: rows, k0: k0, cols: cols,
                                                    scores: s, ld: bc)
                                                ak_online_softmax(
                                                    rows, cols, s, bc, rowMax, rowSum, alpha, nil)
                                                tile.applyDropout(
                                                    b: b, h: h, q0: q0, rows: rows, k0: k0,
                                                    cols: cols, weights: s, ld: bc)
                                                ak_tile_gemm(
                                                    1, rowsPad, dvPad, cols, s, bc, vBlock, ldv, o,
                                                    dvPad, 1, alpha)
                                            }
                                        }
                                        let outBase =
                                            outputLayout == .bhsd
                                            ? out.base + (slice * sq + q0) * dv
                                            : out.base + ((b * sq + q0) * p.heads + h) * dv
                                        ak_finalize_rows(
                                            rows, dv, o, dvPad, rowSum, outBase, outRowStride)
                                        if wantLSE {
                                            for r in 0..<rows {
                                                // Natural log-sum-exp from the base-2 state: (m + log2 l)·ln 2.
                                                lsePtr.base[slice * sq + q0 + r] =
                                                    rowSum[r] > 0
                                                    ? (rowMax[r] + log2f(rowSum[r])) * Float(M_LN2)
                                                    : -.infinity
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (output, wantLSE ? lse : nil, visits.pointee)
        }
    }
}
