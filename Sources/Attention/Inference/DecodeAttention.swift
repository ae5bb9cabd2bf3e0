/// Attention of a few new queries per sequence against a key/value cache (decoding,
/// chunked prefill, speculative decoding): `softmax(Q·Kᵀ·scale + bias) · V` over each
/// sequence's cached positions, with the flash-decoding kernel.
///
/// Shapes (`B` sequences, `H` query heads, `Hkv` = `cache.kvHeads` dividing `H`):
/// - `query` `[B, H, Sq, D]` (any strides); `Sq` is typically 1…16
/// - result `[B, H, Sq, Dv]`
///
/// The cache is split into chunks across threads; each chunk computes a partial
/// (running max, sum, accumulator) for all `H / Hkv` query heads of a key/value group at
/// once, so every cached element is read once per step; the partials are merged by
/// log-sum-exp. Sequences may have different lengths (time follows the total); a sequence
/// with no visible key outputs zeros. NaN and infinity follow the rule of the other paths
/// (a row that sees a non-finite query, key or value, or a score of NaN or `+inf`, outputs
/// NaN; docs/KERNELS.md, "Non-finite values").
///
/// Precision: f32 and f16 caches, and bf16 caches on the ``ReducedPrecisionKernel/portable``
/// kernel, are widened to fp32 in registers (fp32 products). A bf16 cache on a kernel with
/// bf16 products (``ReducedPrecisionKernel/avx512BF16``, the default where the CPU has it)
/// multiplies in bf16 pairs: the query rows are rounded to bf16 once per step — exact when
/// `query` is bf16, the normal case — and the softmax weights are rounded to bf16 before
/// they multiply the values; sums, the softmax and its statistics stay fp32 (the rounding of
/// PyTorch's and FlashAttention's bf16 kernels). Choose the kernel with
/// `options.execution.reducedPrecisionKernel`.
///
/// - Parameters:
///   - query: the new queries, `[B, H, Sq, D]` with `B = cache.batch`, `D = cache.headDim`.
///   - cache: the keys and values; the queries' own keys must already be appended.
///   - options: scale, causal alignment, window, ALiBi, threads.
/// - Throws: ``AttentionError`` naming `query`, `scale`, `window`, `alibi` or an
///   ``ExecutionOptions`` setting.
public func decodeAttention(
    query: Tensor, cache: KVCache, options: DecodeOptions = DecodeOptions()
) throws -> Tensor {
    try withExtendedLifetime(cache) {
        try FlashDecode.attend(
            query: query, cache: cache.view, options: options, outputLayout: .bhsd)
    }
}

/// ``decodeAttention(query:cache:options:)`` against a ``PagedKVCache``: batch entry `i` of
/// `query` attends to sequence `sequences[i]`.
/// - Throws: ``AttentionError`` naming `sequences` (an identifier not live), `query`,
///   `scale`, `window`, `alibi` or an ``ExecutionOptions`` setting.
public func decodeAttention(
    query: Tensor, cache: PagedKVCache, sequences: [Int], options: DecodeOptions = DecodeOptions()
) throws -> Tensor {
    let view: KVCacheView
    do { view = try cache.view(sequences: sequences) } catch let e as AttentionError {
        throw AttentionError(e.kind, argument: "sequences", e.message)
    }
    return try withExtendedLifetime(cache) {
        try FlashDecode.attend(query: query, cache: view, options: options, outputLayout: .bhsd)
    }
}

/// A decode call's validated settings.
struct DecodeProblem {
    let batch: Int, heads: Int, kvHeads: Int, queries: Int, headDim: Int, valueDim: Int
    let scale: Float
    let causal: Bool
    let window: Int?
    let alibi: ALiBi?
    let execution: ResolvedExecution
    /// The keys query `s` of every sequence sees, when a forward's mask gives them (the
    /// automatic backend's few-query route, `FlashDecode+Tensors.swift`); `nil`: the causal
    /// edge and window above.
    var intervals: [Range<Int>]? = nil
    var group: Int { heads / kvHeads }

    init(query: Tensor, cache: KVCacheView, options: DecodeOptions) throws {
        let b = cache.lengths.count
        guard query.rank == 4, query.shape[0] == b, query.shape[1] > 0,
            query.shape[1] % cache.kvHeads == 0, query.shape[3] == cache.headDim
        else {
            throw AttentionError.shape(
                "query",
                expected:
                    "[\(b), H, Sq, \(cache.headDim)] with H a multiple of the cache's \(cache.kvHeads) key/value heads",
                actual: query.shape)
        }
        (batch, heads, kvHeads, queries) = (b, query.shape[1], cache.kvHeads, query.shape[2])
        (headDim, valueDim) = (cache.headDim, cache.valueDim)
        if let scale = options.scale, !scale.isFinite {
            throw AttentionError.argument("scale", "expected a finite number, got \(scale)")
        }
        scale = options.scale ?? 1 / Float(headDim).squareRoot()
        if let w = options.window, w < 1 {
            throw AttentionError.argument("window", "expected ≥ 1, got \(w)")
        }
        if let alibi = options.alibi, alibi.slopes.count != heads {
            throw AttentionError.argument(
                "alibi", "expected \(heads) slopes (one per query head), got \(alibi.slopes.count)")
        }
        causal = options.causal
        window = options.window ?? cache.window
        alibi = options.alibi
        execution = try options.execution.resolved()
        // A ring buffer dropped positions: no visible key may be among them.
        for i in 0..<b where cache.starts[i] > 0 {
            let r = visibleRange(query: 0, length: cache.lengths[i], start: 0)
            if !r.isEmpty && r.lowerBound < cache.starts[i] {
                throw AttentionError.argument(
                    "window",
                    "query 0 of sequence \(i) sees positions from \(r.lowerBound), but the cache holds only \(cache.starts[i])..<\(cache.lengths[i]); use a window ≤ \(cache.window.map { $0 - queries + 1 } ?? 0) (W − Sq + 1) or a larger cache window"
                )
            }
        }
    }

    /// The absolute key positions query `s` of a sequence of `length` positions (holding
    /// `start..<length`) sees: `intervals[s]`, or bottom-right aligned, clipped to the causal
    /// edge and window.
    func visibleRange(query s: Int, length: Int, start: Int) -> Range<Int> {
        if let intervals {
            let r = intervals[s].clamped(to: start..<length)
            return r.isEmpty ? 0..<0 : r
        }
        let pos = length - queries + s
        let hi = causal ? Swift.min(length, pos + 1) : length
        var lo = window.map { pos - $0 + 1 } ?? 0
        lo = Swift.max(lo, start)
        return lo < hi ? lo..<hi : 0..<0
    }
}
