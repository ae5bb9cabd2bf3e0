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
/// The tile products run on the forward's micro-kernel (see ``FlashBackwardWorker``); `dK`
/// and `dV` of a key block are summed in the worker's scratch and added once per block;
/// mask, ALiBi and dropout go through ``ScoreTile``, as in the forward.
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
        let layout = FlashBackwardLayout(p)
        let perWorker = layout.floatsPerWorker
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        scratch.initialize(repeating: 0, count: workers * perWorker)
        defer { scratch.deallocate() }

        var dQ = Tensor.zeros([p.batch, p.heads, p.queries, p.headDim])
        var dK = Tensor.zeros([p.batch, p.kvHeads, p.keys, p.headDim])
        var dV = Tensor.zeros([p.batch, p.kvHeads, p.keys, p.valueDim])
        var visited = 0
        let tile = ScoreTile(p, options)
        inputs.logSumExp.withUnsafeElements { lse in
            withUnsafeMutablePointer(to: &visited) { visits in
                withPointers(p, inputs, &dQ, &dK, &dV) { q, k, v, g, rowDot, gq, gk, gv, pq, pk in
                    let plan = UncheckedBox(
                        FlashBackwardTiles(
                            problem: p, tile: tile, query: q, key: k, value: v, productQuery: pq,
                            productKey: pk, gradOutput: g,
                            gradOutputStrides: inputs.gradOutput.strides,
                            logSumExp: lse, rowDot: rowDot, visits: visits))
                    let (d, dv) = (p.headDim, p.valueDim)
                    // Pass 1: dK, dV (and dQ in one-pass mode) per (batch, kv head[, key block]).
                    parallelFor(count: keyItems, threads: workers) { item, worker in
                        let w = FlashBackwardWorker(
                            plan.value, layout, scratch: scratch + worker * perWorker)
                        let part = item % keyParts, bk = item / keyParts
                        let b = bk / p.kvHeads, hk = bk % p.kvHeads
                        for kb in onePass ? 0..<kBlocks : part..<part + 1 {
                            let k0 = kb * bc, cols = Swift.min(bc, p.keys - k0)
                            w.beginKeyBlock(b: b, hk: hk, kb: kb)
                            for h in hk * p.group..<(hk + 1) * p.group {
                                for (qb, kind) in byKey[perSlice ? b * p.heads + h : 0][kb] {
                                    let r = w.compute(
                                        b: b, h: h, queryBlock: qb, keyBlock: kb,
                                        partial: kind == .partial)
                                    w.accumulateKeyGradients(r)
                                    if onePass {
                                        w.accumulateQueryGradient(
                                            r,
                                            into: gq + ((b * p.heads + h) * p.queries + qb * br) * d
                                        )
                                    }
                                }
                            }
                            w.endKeyBlock(
                                cols: cols, gradKey: gk + (bk * p.keys + k0) * d,
                                gradValue: gv + (bk * p.keys + k0) * dv)
                        }
                    }
                    // Pass 2 (two-pass mode): dQ per (batch, head, query block).
                    parallelFor(count: queryItems, threads: workers) { item, worker in
                        let w = FlashBackwardWorker(
                            plan.value, layout, scratch: scratch + worker * perWorker)
                        let qb = item % qBlocks, slice = item / qBlocks
                        let b = slice / p.heads, h = slice % p.heads
                        for (kb, kind) in masks[perSlice ? slice : 0].visits(forQueryBlock: qb) {
                            w.packKeyBlock(b: b, hk: h / p.group, kb: kb)
                            let r = w.compute(
                                b: b, h: h, queryBlock: qb, keyBlock: kb, partial: kind == .partial)
                            w.accumulateQueryGradient(
                                r, into: gq + (slice * p.queries + qb * br) * d)
                        }
                    }
                }
            }
        }
        let gradients = AttentionGradients(
            gradQuery: dQ, gradKey: dK, gradValue: dV, backend: .fused)
        return (gradients, visited)
    }

    /// The backward's tuned key tile: 96 keys (dK/dV pad key rows to 12: 128 would run
    /// 132). On the 2-core Zen 4 reference machine 96×96 tiles ran 0–5% faster than the
    /// forward's 96×128 without a mask and 5–28% faster causal (64 keys was slower).
    static let tunedKeyBlock = 96

    /// `options` with the backward's tuned tiles when the caller left the tiles to the
    /// library (no requested tile, no precomputed block mask, no mask-aligned tiles).
    static func tiled(_ options: AttentionOptions) -> AttentionOptions {
        let e = options.execution
        guard options.backend != .reference, options.blockMask == nil, e.queryBlock == nil,
            e.keyBlock == nil,
            ResolvedExecution.tileSize(for: options.mask, queryBlock: nil, keyBlock: nil)
                == (ExecutionOptions.defaultQueryBlock, ExecutionOptions.defaultKeyBlock)
        else { return options }
        var tuned = options
        tuned.execution.keyBlock = tunedKeyBlock
        return tuned
    }

    /// Whether one task per (batch, kv head) keeps the threads busy: then each task owns that
    /// head's dK, dV and its group's dQ, and one pass computes all three (5 tile products
    /// per tile, dQ summed in a fixed key-block order). Otherwise key blocks are split
    /// across tasks for dK/dV and dQ takes a second pass over query blocks.
    static func singlePass(_ p: AttentionProblem) -> Bool {
        p.batch * p.kvHeads >= 2 * p.execution.threads
    }
}

/// What every worker of one ``FlashBackward`` call reads: the problem, the score tile's
/// mask/ALiBi/dropout, the operands and the forward's statistics.
struct FlashBackwardTiles {
    let problem: AttentionProblem
    let tile: ScoreTile
    let kernels: ak_table
    let query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>
    /// `query` and `key` as the gradient products read them (``BackwardInputs``).
    let productQuery: UnsafePointer<Float>, productKey: UnsafePointer<Float>
    let gradOutput: UnsafePointer<Float>, gradOutputStrides: [Int]
    let logSumExp: UnsafePointer<Float>, rowDot: UnsafePointer<Float>
    /// Tiles computed by both passes (a test compares it with the BlockMask's count).
    let visits: UnsafeMutablePointer<Int>

    init(
        problem: AttentionProblem, tile: ScoreTile, query: UnsafePointer<Float>,
        key: UnsafePointer<Float>, value: UnsafePointer<Float>,
        productQuery: UnsafePointer<Float>, productKey: UnsafePointer<Float>,
        gradOutput: UnsafePointer<Float>, gradOutputStrides: [Int],
        logSumExp: UnsafePointer<Float>, rowDot: UnsafePointer<Float>,
        visits: UnsafeMutablePointer<Int>
    ) {
        self.problem = problem
        self.tile = tile
        kernels = problem.execution.kernels.c
        (self.query, self.key, self.value) = (query, key, value)
        (self.productQuery, self.productKey) = (productQuery, productKey)
        (self.gradOutput, self.gradOutputStrides) = (gradOutput, gradOutputStrides)
        (self.logSumExp, self.rowDot, self.visits) = (logSumExp, rowDot, visits)
    }

    /// One recomputed tile: its size, the weights `dropout(P)` and `scale·dS` (row stride
    /// ``FlashBackwardLayout/ld``, in the worker's scratch), and the operand rows the
    /// products need.
    struct Result {
        let rows: Int, cols: Int
        let weights: UnsafePointer<Float>, gradScores: UnsafePointer<Float>
        let query: UnsafePointer<Float>, ldq: Int
        let key: UnsafePointer<Float>, ldk: Int
        let gradOutput: UnsafePointer<Float>, ldo: Int
    }
}
