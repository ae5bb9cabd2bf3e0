import Foundation

/// The fused forward kernel: FlashAttention-2 tiling with online softmax.
///
/// For each (batch, head, query block) and each key block the mask leaves visible
/// (``BlockMask``), in base 2 (log2 e is folded into the query scale):
/// ```
/// S  = (scale·log2e·Q_blk) · K_blkᵀ               tile_gemm shape 0, Kᵀ packed per head
/// S += mask / ALiBi        (partial blocks only / every block)
/// m' = max(m, rowmax S);  P = 2^(S − m');  l = l·2^(m−m') + rowsum P    online_softmax
/// O  = 2^(m−m')·O + P · V_blk                     tile_gemm shape 1, V read in place
/// ```
/// and finally `O / l` (0 where `l = 0`). Scratch per worker is O(block·D + S·D); nothing of
/// size `Sq × Sk` is ever allocated. Tile sizes, threads and the kernel table (the C entry
/// points above, one variant per call) come from the problem's ``ResolvedExecution``. The
/// per-block steps are in ``FlashWorker``; see docs/KERNELS.md for the whole design.
package enum FlashAttention {
    /// Where the output goes: `[B, H, Sq, Dv]` or `[B, Sq, H, Dv]` (what a layer reshapes to
    /// `[B, Sq, H·Dv]` without a transpose copy).
    enum OutputLayout { case bhsd, bshd }

    static func forward(
        _ p: AttentionProblem, options: AttentionOptions, outputLayout: OutputLayout
    )
        -> (output: Tensor, logSumExp: Tensor?, visitedTiles: Int)
    {
        if p.isEmpty { return emptyResult(p, options: options, outputLayout: outputLayout) }
        if let e = valueExponent(p, keptWeightScale: options.keptWeightScale) {
            // V·2^−e, then O·2^e: exact (powers of two), and Σ p·v stays finite.
            var scaled = p
            let down = Float(sign: .plus, exponent: -e, significand: 1)
            (scaled.value, scaled.largestValue) = (p.value * down, p.largestValue * down)
            let r = forward(scaled, options: options, outputLayout: outputLayout)
            let up = Float(sign: .plus, exponent: e, significand: 1)
            return (r.output * up, r.logSumExp, r.visitedTiles)
        }
        let (br, bc) = (p.queryBlock, p.keyBlock)
        let (blockMasks, perSlice) = blockMasks(p, options)
        let qBlocks = (p.queries + br - 1) / br
        let bh = p.batch * p.heads
        let workers = Swift.max(1, Swift.min(p.execution.threads, bh * qBlocks))
        // An item is a run of query blocks of one (batch, head): whole heads when there are
        // enough to keep every thread busy, otherwise runs giving ≥ 4 items per thread.
        let parts = bh >= 2 * workers ? 1 : Swift.min(qBlocks, (4 * workers + bh - 1) / bh)
        let chunk = (qBlocks + parts - 1) / parts

        let layout = FlashLayout(
            p, queryBlock: br, keyBlock: bc, keptWeightScale: options.keptWeightScale)
        let outShape =
            outputLayout == .bhsd
            ? [p.batch, p.heads, p.queries, p.valueDim] : [p.batch, p.queries, p.heads, p.valueDim]
        var lse = Tensor.zeros(options.returnLogSumExp ? [p.batch, p.heads, p.queries] : [0])
        var visited = 0

        // Kᵀ (S·D per worker) is written by packing before any read: no zero-fill pass, and
        // its buffer is kept between calls (ScratchPool). Every output element is written by
        // exactly one task's finish step, so the output starts uninitialized.
        let output = ScratchPool.withBuffer(count: layout.ktFloats * workers) {
            ktArena in
            FlashScratch.withArenas(layout, workers: workers) { floats, ints, flags in
                Tensor(uninitializedRawShape: outShape, dtype: p.query.dtype) { out in
                    p.query.withUnsafeRawElements { q in
                        p.key.withUnsafeRawElements { k in
                            p.value.withUnsafeRawElements { v in
                                lse.withUnsafeMutableElements { l in
                                    withUnsafeMutablePointer(to: &visited) { visits in
                                        let plan = FlashPlan(
                                            problem: p, options: options, layout: layout,
                                            outputLayout: outputLayout, query: q, key: k, value: v,
                                            output: out, logSumExp: l, visits: visits,
                                            floatArena: floats, intArena: ints, flagArena: flags,
                                            ktArena: ktArena)
                                        let shared = UncheckedBox(plan)
                                        parallelFor(count: bh * parts, threads: workers) {
                                            item, worker in
                                            var w = FlashWorker(plan: shared.value, worker: worker)
                                            // Largest (causal) query blocks first.
                                            let slice = item / parts, part = item % parts
                                            let blocks = blockMasks[perSlice ? slice : 0]
                                            for qb in stride(
                                                from: Swift.min(qBlocks, (part + 1) * chunk) - 1,
                                                through: part * chunk, by: -1)
                                            {
                                                w.run(slice: slice, queryBlock: qb, blocks: blocks)
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
        return (output, options.returnLogSumExp ? lse : nil, visited)
    }
}

extension FlashAttention {
    /// The power of two the values are divided by when the kernel's unnormalized `Σ p·v`
    /// (at most `Sk·max|v|/(1 − dropout)`: each `p ≤ 1`, kept weights scaled by
    /// `1/(1 − dropout)`) could overflow float32 (that bound ≥ 2¹²⁶), so that it stays below
    /// 2¹²⁰; `nil` otherwise (every ordinary call). The output is multiplied back; both steps
    /// are exact unless a value is so much smaller than the largest that it falls below
    /// float32's normal range.
    static func valueExponent(_ p: AttentionProblem, keptWeightScale: Float = 1) -> Int? {
        let reach = Double(p.largestValue) * Double(p.keys) * Double(keptWeightScale)
        guard reach >= 0x1p126 else { return nil }
        return Int(reach.exponent) - 119
    }

    /// The fused kernels' block classification of `options.mask` for this call's tiles: one
    /// ``BlockMask`` (the caller's ``AttentionOptions/blockMask`` when given), or one per
    /// (batch, head) when the mask varies with them (`perSlice`, indexed `b·H + h`).
    static func blockMasks(_ p: AttentionProblem, _ options: AttentionOptions) -> (
        masks: [BlockMask], perSlice: Bool
    ) {
        let (br, bc) = (p.queryBlock, p.keyBlock)
        if options.mask.dependsOnBatchOrHead {
            let masks = (0..<(p.batch * p.heads)).map {
                BlockMask(
                    mask: options.mask, queries: p.queries, keys: p.keys, queryBlockSize: br,
                    keyBlockSize: bc, batch: $0 / p.heads, head: $0 % p.heads)
            }
            return (masks, true)
        }
        let mask =
            options.blockMask
            ?? BlockMask(
                mask: options.mask, queries: p.queries, keys: p.keys, queryBlockSize: br,
                keyBlockSize: bc)
        return ([mask], false)
    }
}

/// How the tiles of a call reach the fp32 online softmax.
enum FlashPrecision: Equatable {
    /// fp32 inputs, read in place.
    case f32
    /// bf16/f16 inputs, converted to fp32 block by block (Q block, K and V blocks), then the
    /// fp32 kernels.
    case convert(DType)
    /// 2-byte inputs multiplied in pairs of their own format (bf16 on `vdpbf16ps`, BFDOT or
    /// AMX-BF16; f16 on AMX-FP16): Q, Kᵀ and V packed in pairs, P rounded to the format for
    /// the second product, fp32 accumulation and softmax.
    case pairDot

    /// - Parameter keptWeightScale: ``AttentionOptions/keptWeightScale``. Kept weights are
    ///   `P` times it, which f16 pairs hold only up to 65504: f16 calls with a larger factor
    ///   convert.
    init(_ p: AttentionProblem, keptWeightScale: Float = 1) {
        let kernel = p.execution.half.kernel
        switch p.query.dtype {
        case .f32: self = .f32
        case .bf16 where kernel.hasTileProducts && p.unscaledProductsFit: self = .pairDot
        case .f16
        where kernel.hasF16TileProducts && p.unscaledProductsFit && keptWeightScale <= 65504:
            self = .pairDot
        case let dtype: self = .convert(dtype)
        }
    }
}

/// Sizes and paddings of one call. Padding suits every kernel variant (micro-tile rows 12
/// or 6, columns 32/16/8, vectors of 16/8/4), so any variant can run any layout.
struct FlashLayout {
    let precision: FlashPrecision
    /// Pairs per query/key row (`pairDot`).
    let pairs: Int
    let queryBlock: Int, keyBlock: Int
    /// Query-block rows padded to the micro-tile height (12).
    let rowsMax: Int
    let headDim: Int, valueDim: Int
    /// Value width padded to 16; V blocks are copied when it differs from `valueDim`.
    let valueDimPadded: Int
    let keyBlocks: Int

    init(_ p: AttentionProblem, queryBlock: Int, keyBlock: Int, keptWeightScale: Float = 1) {
        precision = FlashPrecision(p, keptWeightScale: keptWeightScale)
        pairs = (p.headDim + 1) / 2
        self.queryBlock = queryBlock
        self.keyBlock = keyBlock
        rowsMax = (queryBlock + 11) / 12 * 12
        headDim = p.headDim
        valueDim = p.valueDim
        valueDimPadded = (p.valueDim + 15) / 16 * 16
        keyBlocks = (p.keys + keyBlock - 1) / keyBlock
    }

    var packsValues: Bool {
        switch precision {
        case .f32: valueDimPadded != valueDim
        case .convert: true
        case .pairDot: false  // V pairs live next to Kᵀ
        }
    }
    /// Floats of per-worker scratch: Q panels, scores, O, a V block, row max/sum/alpha, and
    /// the reduced-precision buffers (`extraFloats`).
    var floatsPerWorker: Int {
        rowsMax * headDim + rowsMax * keyBlock + rowsMax * valueDimPadded
            + (packsValues ? keyBlock * valueDimPadded : 0) + 3 * rowsMax + extraFloats
    }
    /// `convert`: one fp32 block of Q or K rows; `pairDot`: Q and P in pairs (4 bytes each).
    var extraFloats: Int {
        switch precision {
        case .f32: 0
        case .convert: Swift.max(rowsMax, keyBlock) * headDim
        case .pairDot: rowsMax * pairs + rowsMax * keyBlock / 2
        }
    }

    /// Ints per worker: row spans, row intervals, panel spans, and the Kᵀ owner.
    var intsPerWorker: Int { 5 * rowsMax + 1 }
    /// Floats (4-byte words) of one worker's Kᵀ: every key block of one head, `headDim ×
    /// keyBlock` each; for `pairDot` Kᵀ pairs (`pairs × keyBlock` per block) followed by V
    /// pairs (`keyBlock/2 × valueDimPadded` per block).
    var ktFloats: Int {
        precision == .pairDot
            ? keyBlocks * (pairs * keyBlock + keyBlock / 2 * valueDimPadded)
            : keyBlocks * headDim * keyBlock
    }
}

/// The per-call scratch arenas (zeroed), one slice per worker.
enum FlashScratch {
    static func withArenas<R>(
        _ layout: FlashLayout, workers: Int,
        _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<Bool>)
            -> R
    ) -> R {
        let floats = UnsafeMutablePointer<Float>.allocate(
            capacity: layout.floatsPerWorker * workers + 16)
        floats.initialize(repeating: 0, count: layout.floatsPerWorker * workers + 16)
        let ints = UnsafeMutablePointer<Int>.allocate(capacity: layout.intsPerWorker * workers)
        ints.initialize(repeating: -1, count: layout.intsPerWorker * workers)
        let flags = UnsafeMutablePointer<Bool>.allocate(capacity: layout.keyBlocks * workers)
        flags.initialize(repeating: false, count: layout.keyBlocks * workers)
        defer {
            floats.deallocate()
            ints.deallocate()
            flags.deallocate()
        }
        return body(floats, ints, flags)
    }
}
