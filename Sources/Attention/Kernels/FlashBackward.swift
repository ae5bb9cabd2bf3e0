import _AttentionKernels

/// The fused backward kernel, FlashAttention-2 style: nothing of size `Sq × Sk` is
/// allocated; every visited tile recomputes its probabilities from the forward's
/// log-sum-exp (natural log) and the mask's block classification (``BlockMask``, the
/// forward's) decides which tiles are visited at all:
/// ```
/// S  = scale·Q_blk·K_blkᵀ (+ mask on partial tiles, + ALiBi)
/// P  = exp(S − LSE)                     (0 for rows that saw no key, LSE = −inf)
/// dP = dropout(dO_blk·V_blkᵀ);  dS = P ∘ (dP − D),  D = rowsum(dO ∘ O)
/// ```
/// Each task owns the rows it writes (no atomics; the result does not depend on the thread
/// schedule). With enough (batch, kv head) pairs for the threads (``singlePass(_:)``), one
/// task per pair visits its key blocks in order and, per tile, `dV += dropout(P)ᵀ·dO`,
/// `dK += scale·dSᵀ·Q`, `dQ += scale·dS·K` (5 tile products). Otherwise two passes:
/// 1. per (batch, key/value head, key block): for every query head of the group and every
///    query block that sees the key block, `dV` and `dK` as above;
/// 2. per (batch, head, query block): for every visible key block, `dQ += scale·dS·K`,
///    recomputing `S` and `dP` (7 tile products) in exchange for no `dQ` reduction.
/// Tile products go through the call's C `sgemm` (correctness first; no packed micro-tiles yet);
/// mask, ALiBi and dropout through ``ScoreTile``, as in the forward.
package enum FlashBackward {
    static func gradients(
        _ p: AttentionProblem, _ options: AttentionOptions, _ inputs: BackwardInputs
    ) -> (gradients: AttentionGradients, visitedTiles: Int) {
        let (br, bc) = (p.queryBlock, p.keyBlock)
        let (masks, perSlice) = FlashAttention.blockMasks(p, options)
        let qBlocks = (p.queries + br - 1) / br, kBlocks = (p.keys + bc - 1) / bc
        // The classification seen from the key side: per key block, the query blocks that
        // visit it (and how). Size: the number of visited tiles.
        let byKey: [[[(queryBlock: Int, kind: BlockKind)]]] = masks.map { mask in
            var lists = [[(queryBlock: Int, kind: BlockKind)]](repeating: [], count: kBlocks)
            for qb in 0..<qBlocks {
                for (kb, kind) in mask.visits(forQueryBlock: qb) { lists[kb].append((qb, kind)) }
            }
            return lists
        }
        let onePass = singlePass(p)
        let keyParts = onePass ? 1 : kBlocks
        let keyItems = p.batch * p.kvHeads * keyParts
        let queryItems = onePass ? 0 : p.batch * p.heads * qBlocks
        let workers = Swift.max(1, Swift.min(p.execution.threads, Swift.max(keyItems, queryItems)))
        let perWorker = 3 * br * bc
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }

        var dQ = Tensor.zeros([p.batch, p.heads, p.queries, p.headDim])
        var dK = Tensor.zeros([p.batch, p.kvHeads, p.keys, p.headDim])
        var dV = Tensor.zeros([p.batch, p.kvHeads, p.keys, p.valueDim])
        var visited = 0
        let tile = ScoreTile(p, options)
        inputs.logSumExp.withUnsafeElements { lse in
            withUnsafeMutablePointer(to: &visited) { visits in
                withPointers(p, inputs, &dQ, &dK, &dV) { q, k, v, g, rowDot, gq, gk, gv in
                    let plan = UncheckedBox(
                        FlashBackwardTiles(
                            problem: p, tile: tile, queryBlock: br, keyBlock: bc, query: q,
                            key: k, value: v, gradOutput: g,
                            gradOutputStrides: inputs.gradOutput.strides,
                            logSumExp: lse, rowDot: rowDot, visits: visits))
                    let (d, dv) = (p.headDim, p.valueDim)
                    // Pass 1: dK, dV (and dQ in one-pass mode) per (batch, kv head[, key block]).
                    parallelFor(count: keyItems, threads: workers) { item, worker in
                        let t = plan.value, sgemm = t.kernels.sgemm
                        let part = item % keyParts, bk = item / keyParts
                        let b = bk / p.kvHeads, hk = bk % p.kvHeads
                        let buffers = scratch + worker * perWorker
                        for kb in onePass ? 0..<kBlocks : part..<part + 1 {
                            let k0 = kb * bc, cols = Swift.min(bc, p.keys - k0)
                            let gkp = gk + (bk * p.keys + k0) * d,
                                gvp = gv + (bk * p.keys + k0) * dv
                            for h in hk * p.group..<(hk + 1) * p.group {
                                for (qb, kind) in byKey[perSlice ? b * p.heads + h : 0][kb] {
                                    let r = t.compute(
                                        b: b, h: h, queryBlock: qb, keyBlock: kb,
                                        partial: kind == .partial, scratch: buffers)
                                    sgemm(
                                        1, 0, cols, dv, r.rows, 1, r.weights, bc, r.gradOutput,
                                        r.ldo, 1, gvp, dv)
                                    sgemm(
                                        1, 0, cols, d, r.rows, p.scale, r.gradScores, bc, r.query,
                                        r.ldq, 1, gkp, d)
                                    if onePass {
                                        sgemm(
                                            0, 0, r.rows, d, cols, p.scale, r.gradScores, bc, r.key,
                                            r.ldk, 1,
                                            gq + ((b * p.heads + h) * p.queries + qb * br) * d,
                                            d)
                                    }
                                }
                            }
                        }
                    }
                    // Pass 2 (two-pass mode): dQ per (batch, head, query block).
                    parallelFor(count: queryItems, threads: workers) { item, worker in
                        let t = plan.value
                        let qb = item % qBlocks, slice = item / qBlocks
                        let b = slice / p.heads, h = slice % p.heads
                        let q0 = qb * br
                        let buffers = scratch + worker * perWorker
                        for (kb, kind) in masks[perSlice ? slice : 0].visits(forQueryBlock: qb) {
                            let r = t.compute(
                                b: b, h: h, queryBlock: qb, keyBlock: kb, partial: kind == .partial,
                                scratch: buffers)
                            t.kernels.sgemm(
                                0, 0, r.rows, d, r.cols, p.scale, r.gradScores, bc, r.key, r.ldk, 1,
                                gq + (slice * p.queries + q0) * d, d)
                        }
                    }
                }
            }
        }
        let gradients = AttentionGradients(
            gradQuery: dQ, gradKey: dK, gradValue: dV, backend: .fused)
        return (gradients, visited)
    }

    /// Whether one task per (batch, kv head) keeps the threads busy: then each task owns that
    /// head's dK, dV and its group's dQ, and one pass computes all three (5 tile products
    /// per tile, dQ summed in a fixed key-block order). Otherwise key blocks are split
    /// across tasks for dK/dV and dQ takes a second pass over query blocks.
    static func singlePass(_ p: AttentionProblem) -> Bool {
        p.batch * p.kvHeads >= 2 * p.execution.threads
    }
}

/// The per-tile recomputation shared by both passes of ``FlashBackward``.
struct FlashBackwardTiles {
    let problem: AttentionProblem
    let tile: ScoreTile
    let queryBlock: Int, keyBlock: Int
    let kernels: ak_table
    let query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>
    let gradOutput: UnsafePointer<Float>, gradOutputStrides: [Int]
    let logSumExp: UnsafePointer<Float>, rowDot: UnsafePointer<Float>
    /// Tiles computed by both passes (a test compares it with the BlockMask's count).
    let visits: UnsafeMutablePointer<Int>

    init(
        problem: AttentionProblem, tile: ScoreTile, queryBlock: Int, keyBlock: Int,
        query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
        gradOutput: UnsafePointer<Float>, gradOutputStrides: [Int],
        logSumExp: UnsafePointer<Float>, rowDot: UnsafePointer<Float>,
        visits: UnsafeMutablePointer<Int>
    ) {
        self.problem = problem
        self.tile = tile
        (self.queryBlock, self.keyBlock) = (queryBlock, keyBlock)
        kernels = problem.execution.kernels.c
        (self.query, self.key, self.value) = (query, key, value)
        (self.gradOutput, self.gradOutputStrides) = (gradOutput, gradOutputStrides)
        (self.logSumExp, self.rowDot, self.visits) = (logSumExp, rowDot, visits)
    }

    /// One recomputed tile: its size, the weights `dropout(P)` and `dS` (row stride
    /// `keyBlock`, in the worker's scratch), and the operand rows the products need.
    struct Result {
        let rows: Int, cols: Int
        let weights: UnsafePointer<Float>, gradScores: UnsafePointer<Float>
        let query: UnsafePointer<Float>, ldq: Int
        let key: UnsafePointer<Float>, ldk: Int
        let gradOutput: UnsafePointer<Float>, ldo: Int
    }

    /// Recomputes `P`, `dropout(P)` and `dS` of tile (`queryBlock`, `keyBlock`) of
    /// (batch `b`, head `h`) into `scratch` (3 · queryBlock · keyBlock floats).
    func compute(
        b: Int, h: Int, queryBlock qb: Int, keyBlock kb: Int, partial: Bool,
        scratch: UnsafeMutablePointer<Float>
    ) -> Result {
        let p = problem, bc = keyBlock
        _ = ak_atomic_fetch_add(visits, 1)
        let q0 = qb * queryBlock, rows = Swift.min(queryBlock, p.queries - q0)
        let k0 = kb * bc, cols = Swift.min(bc, p.keys - k0)
        let hk = h / p.group, slice = b * p.heads + h
        let (qs, ks, vs, gs) = (p.query.strides, p.key.strides, p.value.strides, gradOutputStrides)
        let qp = query + b * qs[0] + h * qs[1] + q0 * qs[2]
        let kp = key + b * ks[0] + hk * ks[1] + k0 * ks[2]
        let vp = value + b * vs[0] + hk * vs[1] + k0 * vs[2]
        let gp = gradOutput + b * gs[0] + h * gs[1] + q0 * gs[2]
        let s = scratch, ds = s + queryBlock * bc, w = ds + queryBlock * bc

        kernels.sgemm(0, 1, rows, cols, p.headDim, p.scale, qp, qs[2], kp, ks[2], 0, s, bc)
        if partial {
            tile.applyMask(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: bc)
        }
        tile.applyALiBi(h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: s, ld: bc)
        for r in 0..<rows {
            let m = logSumExp[slice * p.queries + q0 + r], row = s + r * bc
            guard m > -.infinity else {  // the row saw no key: P = 0
                row.update(repeating: 0, count: cols)
                continue
            }
            for c in 0..<cols { row[c] -= m }
            kernels.exp(cols, row, row)
        }
        let weights = tile.scoreGradient(
            b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, probabilities: s, weights: w,
            gradient: ds, ld: bc, gradOutput: gp, ldo: gs[2], value: vp, ldv: vs[2],
            valueDim: p.valueDim, rowDot: rowDot + slice * p.queries + q0)
        return Result(
            rows: rows, cols: cols, weights: weights, gradScores: ds, query: qp, ldq: qs[2],
            key: kp, ldk: ks[2], gradOutput: gp, ldo: gs[2])
    }
}
