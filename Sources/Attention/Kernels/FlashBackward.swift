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
/// and `dV` of a key block are summed in the worker's scratch and written once per block;
/// mask, ALiBi and dropout go through ``ScoreTile``, as in the forward. The gradients are
/// allocated uninitialized and every element is written by the task that owns it (`dQ`
/// rows are zeroed by their task first), so no serial zero-fill pass runs.
///
/// bf16/f16 operands are read in place (``FlashBackwardPrecision``): widened tile by tile
/// to fp32, or — bf16 with a tile-product kernel — multiplied in bf16 pairs; the gradients
/// are summed in fp32 per task and rounded into the inputs' dtype by the task that
/// finishes them.
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
        // Reduced precision, one pass: each task sums its group's dQ in fp32 (`group × Sq ×
        // D` floats, zeroed by the task), then rounds it into the gradient. The buffer is the
        // forward's pooled Kᵀ buffer when it is large enough (the same size for Sq = Sk and
        // D = Dv), so a forward followed by a backward adds no memory for it.
        let reduced = p.query.dtype != .f32
        let dqFloats = reduced && onePass ? p.group * p.queries * p.headDim : 0
        var visited = 0
        let tile = ScoreTile(p, options)
        // Rows whose log-sum-exp is too large to subtract exactly get the backward's own
        // statistics (shift, then scale: 2 floats per row) before the passes.
        let rowCount = p.batch * p.heads * p.queries
        let exactRows = needsRowStatistics(inputs.logSumExp)
        let statistics = UnsafeMutablePointer<Float>.allocate(
            capacity: exactRows ? 2 * rowCount : 0)
        defer { statistics.deallocate() }
        let dtype = p.query.dtype
        var gradKey: Tensor? = nil, gradValue: Tensor? = nil
        let gradQuery = Tensor(
            uninitializedRawShape: [p.batch, p.heads, p.queries, p.headDim], dtype: dtype
        ) { gq in
            gradKey = Tensor(
                uninitializedRawShape: [p.batch, p.kvHeads, p.keys, p.headDim], dtype: dtype
            ) { gk in
                gradValue = Tensor(
                    uninitializedRawShape: [p.batch, p.kvHeads, p.keys, p.valueDim], dtype: dtype
                ) { gv in
                    withUnsafeMutablePointer(to: &visited) { visits in
                        ScratchPool.withBuffer(count: workers * dqFloats) { dqArena in
                            withOperands(p, inputs) { q, k, v, g, pq, pk, lse, rowDot in
                                func tiles(
                                    _ shift: UnsafePointer<Float>, _ scale: UnsafePointer<Float>?
                                )
                                    -> FlashBackwardTiles
                                {
                                    FlashBackwardTiles(
                                        problem: p, tile: tile, query: q, key: k, value: v,
                                        productQuery: pq, productKey: pk, gradOutput: g,
                                        gradOutputStrides: inputs.gradOutput.strides,
                                        logSumExp: shift, rowScale: scale, rowDot: rowDot,
                                        gradQuery: gq, gradKey: gk, gradValue: gv, visits: visits)
                                }
                                if exactRows {
                                    exactRowStatistics(
                                        tiles(lse, nil), layout, masks: masks, perSlice: perSlice,
                                        workers: workers, scratch: scratch, perWorker: perWorker,
                                        into: statistics)
                                }
                                let plan = UncheckedBox(
                                    exactRows
                                        ? tiles(statistics, statistics + rowCount) : tiles(lse, nil)
                                )
                                // Pass 1: dK, dV (and dQ in one-pass mode) per (batch, kv head[,
                                // key block]).
                                parallelFor(count: keyItems, threads: workers) { item, worker in
                                    let w = FlashBackwardWorker(
                                        plan.value, layout, scratch: scratch + worker * perWorker)
                                    let part = item % keyParts, bk = item / keyParts
                                    let b = bk / p.kvHeads, hk = bk % p.kvHeads
                                    let heads = hk * p.group..<(hk + 1) * p.group
                                    let dq = dqArena + worker * dqFloats
                                    let firstSlice = b * p.heads + heads.lowerBound
                                    // This group's dQ rows: the fp32 gradient's, or fp32 sums.
                                    func queryTarget(_ h: Int, _ qb: Int) -> QueryGradientTarget {
                                        let row = (h - heads.lowerBound) * p.queries + qb * br
                                        return .rows(
                                            reduced
                                                ? dq + row * p.headDim
                                                : w.gradQueryRows(slice: firstSlice, row: row))
                                    }
                                    if onePass {
                                        if reduced {
                                            dq.update(repeating: 0, count: dqFloats)
                                        } else {
                                            w.gradQueryRows(slice: firstSlice, row: 0).update(
                                                repeating: 0, count: p.group * p.queries * p.headDim
                                            )
                                        }
                                    }
                                    for kb in onePass ? 0..<kBlocks : part..<part + 1 {
                                        w.beginKeyBlock(b: b, hk: hk, kb: kb)
                                        for h in heads {
                                            for (qb, kind) in byKey[perSlice ? b * p.heads + h : 0][
                                                kb]
                                            {
                                                let r = w.compute(
                                                    b: b, h: h, queryBlock: qb, keyBlock: kb,
                                                    partial: kind == .partial)
                                                w.accumulateKeyGradients(r)
                                                if onePass {
                                                    w.accumulateQueryGradient(
                                                        r, into: queryTarget(h, qb))
                                                }
                                            }
                                        }
                                        w.endKeyBlock(b: b, hk: hk, kb: kb)
                                    }
                                    if onePass && reduced {
                                        w.roundGradQuery(
                                            dq, slice: firstSlice, rows: dqFloats / p.headDim)
                                    }
                                }
                                // Pass 2 (two-pass mode): dQ per (batch, head, query block).
                                parallelFor(count: queryItems, threads: workers) { item, worker in
                                    let w = FlashBackwardWorker(
                                        plan.value, layout, scratch: scratch + worker * perWorker)
                                    let qb = item % qBlocks, slice = item / qBlocks
                                    let b = slice / p.heads, h = slice % p.heads
                                    let target = w.beginQueryBlock(slice: slice, queryBlock: qb)
                                    for (kb, kind) in masks[perSlice ? slice : 0].visits(
                                        forQueryBlock: qb)
                                    {
                                        w.packKeyBlock(b: b, hk: h / p.group, kb: kb)
                                        let r = w.compute(
                                            b: b, h: h, queryBlock: qb, keyBlock: kb,
                                            partial: kind == .partial)
                                        w.accumulateQueryGradient(r, into: target)
                                    }
                                    if reduced {
                                        w.roundGradQuery(
                                            dq: target, slice: slice, queryBlock: qb)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let gradients = AttentionGradients(
            gradQuery: gradQuery, gradKey: gradKey!, gradValue: gradValue!, backend: .fused)
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

    /// The kernel a fused backward of `dtype` with head widths `headDim`, `valueDim` runs
    /// under `execution`: the bf16 tile-product kernel's name, or the fp32 instruction set
    /// (reduced-precision tiles widened to fp32 first).
    package static func kernelDescription(
        dtype: DType, headDim: Int, valueDim: Int, execution: ResolvedExecution
    ) -> String {
        switch FlashBackwardPrecision(
            dtype: dtype, headDim: headDim, valueDim: valueDim, half: execution.half.kernel)
        {
        case .f32: execution.instructionSet.description
        case .bf16Dot: execution.half.kernel.productsDescription(.bf16)
        case .convert: "widened, \(execution.instructionSet.description)"
        }
    }

    /// Calls `body` with the operands' addresses in their own dtype (`Float` or 2-byte bit
    /// patterns; strides are the tensors'), the log-sum-exp and the row dots.
    private static func withOperands(
        _ p: AttentionProblem, _ inputs: BackwardInputs,
        _ body: (
            _ q: UnsafeRawPointer, _ k: UnsafeRawPointer, _ v: UnsafeRawPointer,
            _ gradOutput: UnsafeRawPointer, _ productQuery: UnsafeRawPointer,
            _ productKey: UnsafeRawPointer, _ logSumExp: UnsafePointer<Float>,
            _ rowDot: UnsafePointer<Float>
        ) -> Void
    ) {
        p.query.withUnsafeRawElements { q in
            p.key.withUnsafeRawElements { k in
                p.value.withUnsafeRawElements { v in
                    inputs.gradOutput.withUnsafeRawElements { g in
                        inputs.productQuery.withUnsafeRawElements { pq in
                            inputs.productKey.withUnsafeRawElements { pk in
                                inputs.logSumExp.withUnsafeElements { lse in
                                    inputs.rowDot.withUnsafeBufferPointer { dots in
                                        body(q, k, v, g, pq, pk, lse, dots.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How one fused backward call reads its operands and multiplies its tiles.
enum FlashBackwardPrecision: Equatable {
    /// fp32 operands read in place, fp32 products.
    case f32
    /// bf16/f16 operands widened to fp32 tile by tile (the Q and dO rows of a tile, the K
    /// and V rows of a key block) inside the workers, then the fp32 products.
    case convert(DType)
    /// bf16 operands multiplied in bf16 pairs with fp32 sums (`dot_gemm`): `S = Q·Kᵀ` and
    /// `dP = dO·Vᵀ` on the inputs as given, `dV += Pᵀ·dO`, `dK += dSᵀ·Q`, `dQ += dS·K` with
    /// `P` and `dS` rounded to bf16 first, as FlashAttention and PyTorch's bf16 backward
    /// do. Needs a tile-product kernel and both head widths multiples of 16.
    case bf16Dot

    /// - Parameter unscaledProductsFit: ``AttentionProblem/unscaledProductsFit`` (the pair
    ///   products sum `q·k` before scaling it).
    init(
        dtype: DType, headDim: Int, valueDim: Int, half: ReducedPrecisionKernel,
        unscaledProductsFit: Bool = true
    ) {
        switch dtype {
        case .f32: self = .f32
        case .bf16
        where half.hasTileProducts && headDim % 16 == 0 && valueDim % 16 == 0
            && unscaledProductsFit:
            self = .bf16Dot
        case let dtype: self = .convert(dtype)
        }
    }

    init(_ p: AttentionProblem) {
        self.init(
            dtype: p.query.dtype, headDim: p.headDim, valueDim: p.valueDim,
            half: p.execution.half.kernel, unscaledProductsFit: p.unscaledProductsFit)
    }
}

/// Where a tile's `dQ += scale·dS·K` goes: fp32 rows, row stride `headDim`.
enum QueryGradientTarget {
    /// Exactly the tile's rows (a ragged last block goes through the worker's scratch).
    case rows(UnsafeMutablePointer<Float>)
    /// A block with room for the tile's rows padded to 12.
    case padded(UnsafeMutablePointer<Float>)
}

/// What every worker of one ``FlashBackward`` call reads: the problem, the score tile's
/// mask/ALiBi/dropout, the operands (in the call's dtype) and the forward's statistics.
struct FlashBackwardTiles {
    let problem: AttentionProblem
    let tile: ScoreTile
    let kernels: ak_table
    let half: ak_half_table
    /// The C format code of a bf16/f16 call.
    let format: Int32
    let precision: FlashBackwardPrecision
    let query: UnsafeRawPointer, key: UnsafeRawPointer, value: UnsafeRawPointer
    /// `query` and `key` as the gradient products read them (``BackwardInputs``).
    let productQuery: UnsafeRawPointer, productKey: UnsafeRawPointer
    let gradOutput: UnsafeRawPointer, gradOutputStrides: [Int]
    /// Per row (`[B, H, Sq]`): what `P = e^(S − logSumExp)` subtracts — the forward's
    /// log-sum-exp, or for rows whose log-sum-exp is too large to subtract exactly the row's
    /// maximum score — and `rowScale`, the factor P then takes (`1/l` for those rows, 1
    /// otherwise; `nil`: 1 everywhere). See FlashBackward+RowStatistics.swift.
    let logSumExp: UnsafePointer<Float>, rowDot: UnsafePointer<Float>
    let rowScale: UnsafePointer<Float>?
    /// The gradients, row-major, in the call's dtype.
    let gradQuery: UnsafeMutableRawPointer, gradKey: UnsafeMutableRawPointer
    let gradValue: UnsafeMutableRawPointer
    /// Tiles computed by both passes (a test compares it with the BlockMask's count).
    let visits: UnsafeMutablePointer<Int>

    init(
        problem: AttentionProblem, tile: ScoreTile, query: UnsafeRawPointer,
        key: UnsafeRawPointer, value: UnsafeRawPointer,
        productQuery: UnsafeRawPointer, productKey: UnsafeRawPointer,
        gradOutput: UnsafeRawPointer, gradOutputStrides: [Int],
        logSumExp: UnsafePointer<Float>, rowScale: UnsafePointer<Float>? = nil,
        rowDot: UnsafePointer<Float>,
        gradQuery: UnsafeMutableRawPointer, gradKey: UnsafeMutableRawPointer,
        gradValue: UnsafeMutableRawPointer, visits: UnsafeMutablePointer<Int>
    ) {
        self.problem = problem
        self.tile = tile
        kernels = problem.execution.kernels.c
        half = problem.execution.half.c
        format = HalfKernelTable.format(problem.query.dtype)
        precision = FlashBackwardPrecision(problem)
        (self.query, self.key, self.value) = (query, key, value)
        (self.productQuery, self.productKey) = (productQuery, productKey)
        (self.gradOutput, self.gradOutputStrides) = (gradOutput, gradOutputStrides)
        (self.logSumExp, self.rowScale) = (logSumExp, rowScale)
        (self.rowDot, self.visits) = (rowDot, visits)
        (self.gradQuery, self.gradKey, self.gradValue) = (gradQuery, gradKey, gradValue)
    }

    /// One recomputed tile: its size, the weights `dropout(P)` and `scale·dS` (row stride
    /// ``FlashBackwardLayout/ld``, in the worker's scratch), and the operand rows the
    /// products read: fp32 rows (the tensors' or the worker's widened copies) or, for
    /// `bf16Dot`, the bf16 rows of the tensors.
    struct Result {
        let rows: Int, cols: Int
        let weights: UnsafePointer<Float>, gradScores: UnsafePointer<Float>
        let query: UnsafeRawPointer, ldq: Int
        let key: UnsafeRawPointer, ldk: Int
        let gradOutput: UnsafeRawPointer, ldo: Int
    }
}
