/// Scaled dot-product attention, `softmax(Q·Kᵀ·scale + mask) · V`.
///
/// Shapes (`B` batch, `H` query heads, `Hkv` key/value heads, `S` lengths, `D` head dim):
/// - `query` `[B, H, Sq, D]`
/// - `key` `[B, Hkv, Sk, D]`, `value` `[B, Hkv, Sk, Dv]`; `H` must be a multiple of `Hkv`
///   (grouped-query / multi-query attention, K/V never copied per head)
/// - result `[B, H, Sq, Dv]`
///
/// Any strides are accepted (e.g. a `[B, S, H, D]` projection viewed with
/// `transposed(1, 2)`); only the last axis must be contiguous for the kernels, otherwise it
/// is copied.
///
/// ```swift
/// let out = try scaledDotProductAttention(query: q, key: k, value: v, mask: .causal)
/// ```
///
/// A query that sees no key outputs zeros (log-sum-exp `−inf`), never NaN; `Sk = 0` makes
/// that every query, and `B`, `H` or `Sq` of 0 give an empty result.
///
/// Non-finite values follow one rule on every backend: a query row that may see at least one
/// key outputs NaN (with a NaN log-sum-exp) when one of those scores is NaN or `+inf`, or
/// when its query or one of those keys' key or value vectors holds a NaN or ±inf. A `−inf`
/// score weighs 0. Keys the mask hides (causal, window, `false`, additive `−inf`) never
/// poison a row, and finite values stay finite however large: a row of `−3.4e38` additive
/// bias (Hugging Face's padding value) averages the values uniformly, as PyTorch does.
/// Details and the few differences from PyTorch: docs/KERNELS.md, "Non-finite values".
///
/// Precision: `query`, `key` and `value` share one ``DType`` (f32, bf16 or f16) and the
/// result has it; products accumulate in fp32, the softmax runs in fp32, and the
/// log-sum-exp (and weights) are fp32. The fused kernel reads bf16/f16 directly (never a
/// widened copy of the inputs); ``ExecutionOptions/reducedPrecisionKernel`` says how
/// (bf16 products on `vdpbf16ps`, BFDOT or AMX tiles, f16 products on AMX-FP16 tiles, or
/// per-tile conversion to the fp32 kernels).
///
/// - Parameters:
///   - mask: which keys each query may see (``AttentionMask``); `.causal` is top-left aligned.
///   - scale: multiplies the scores; default `1/√D`.
///   - dropout: probability of zeroing a weight (kept weights scale by `1/(1−p)`).
///   - seed: dropout seed.
///   - backend: `.automatic` (fused; for `Sq ≤ 16` queries against `Sk ≥ 256` keys with a
///     mask whose visible keys form one interval per query, the split-KV decode kernel of
///     ``decodeAttention(query:cache:options:)``), `.reference` or `.fused` (always the
///     flash kernel).
/// - Throws: ``AttentionError`` for shapes that do not fit, masks that do not broadcast, a
///   dropout outside [0, 1), or a reference run over the memory limit.
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask = .none, scale: Float? = nil,
    dropout: Float = 0, seed: UInt64 = 0, backend: AttentionBackend = .automatic
) throws -> Tensor {
    try scaledDotProductAttention(
        query: query, key: key, value: value,
        options: AttentionOptions(
            mask: mask, scale: scale, dropout: dropout, dropoutSeed: seed, backend: backend)
    ).output
}

/// Scaled dot-product attention with every option; returns the output and, on request,
/// the weights and the log-sum-exp, plus which backend ran and why.
/// See ``scaledDotProductAttention(query:key:value:mask:scale:dropout:seed:backend:)``.
///
/// `options.execution` says how this call runs (threads, kernel variant, tile sizes, memory
/// limit); it is resolved once, so concurrent calls with different settings never interfere.
/// - Throws: ``AttentionError`` as the short form does, and for invalid
///   ``ExecutionOptions`` (naming the setting).
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions
) throws -> AttentionResult {
    let problem = try AttentionProblem(
        query: query, key: key, value: value, options: options, forward: true)
    return try attend(problem, options, outputLayout: .bhsd)
}

/// The one internal entry point behind ``scaledDotProductAttention(query:key:value:options:)``
/// and the attention layers: chooses the backend and runs it, writing the output in
/// `outputLayout` — `[B, H, Sq, Dv]`, or `[B, Sq, H, Dv]` (what a layer reshapes to
/// `[B, Sq, H·Dv]`; the fused kernel writes it directly, the reference path's output is
/// transposed into it).
func attend(
    _ problem: AttentionProblem, _ options: AttentionOptions,
    outputLayout: FlashAttention.OutputLayout
) throws -> AttentionResult {
    let (backend, reason) = try chooseBackend(problem, options)
    if problem.decodes {
        let (out, lse) = try FlashDecode.attend(problem, options, outputLayout: outputLayout)
        return AttentionResult(
            output: out, weights: nil, logSumExp: lse, backend: .fused,
            reason:
                "automatic: \(problem.queries) queries against \(problem.keys) keys run on the fused split-KV decode kernel (each key/value read once per head group)"
        )
    }
    switch backend {
    case .fused:
        let (out, lse, _) = FlashAttention.forward(
            problem, options: options, outputLayout: outputLayout)
        return AttentionResult(
            output: out, weights: nil, logSumExp: lse, backend: .fused, reason: reason)
    default:
        var (out, weights, lse) = try ReferenceAttention.forward(problem, options: options)
        if outputLayout == .bshd { out = out.transposed(1, 2).contiguous() }
        out = out.converted(to: problem.query.dtype)  // computed in fp32 from the exact inputs
        return AttentionResult(
            output: out, weights: weights, logSumExp: lse, backend: .reference, reason: reason)
    }
}

func chooseBackend(_ p: AttentionProblem, _ options: AttentionOptions) throws -> (
    AttentionBackend, String
) {
    switch options.backend {
    case .reference:
        return (.reference, "requested: backend .reference")
    case .fused:
        if options.returnWeights {
            throw AttentionError.argument(
                "backend",
                "the fused backend never materializes the [B, H, Sq, Sk] weights; use .reference or .automatic with returnWeights"
            )
        }
        return (.fused, "requested: backend .fused")
    case .automatic:
        if options.returnWeights {
            return (
                .reference,
                "automatic: attention weights were requested, which only the reference path materializes"
            )
        }
        return (.fused, "automatic: fused kernel (O(S·D) memory) supports this problem")
    }
}

/// Validated shapes and layout of one attention call, and its execution settings resolved
/// once (threads, kernel table, the fused kernel's tile sizes, memory limit).
struct AttentionProblem {
    var query: Tensor, key: Tensor, value: Tensor
    let batch: Int, heads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int
    let scale: Float
    let execution: ResolvedExecution
    /// The fused kernel's tiles for this call's mask (``ResolvedExecution/tileSize(for:)``).
    let queryBlock: Int, keyBlock: Int
    /// Inputs hold NaN or infinity, the mask is additive, or scores may overflow: the
    /// backends work in natural-log units and test every visible score for NaN and +inf
    /// (``NonFiniteScreen``).
    let checksScores: Bool
    /// The unscaled products `q·k` cannot overflow either (`D·max|q|·max|k| ≤ 2¹⁰⁰` over the
    /// finite rows): only then may the bf16 pair kernels, which scale after the sum, run.
    let unscaledProductsFit: Bool
    /// A forward the automatic backend runs on the split-KV decode kernel
    /// (``FlashDecode/handles(batch:heads:queries:keys:_:)``). The screen is skipped: that
    /// kernel checks its own scores and recomputes what is not finite, and screening would
    /// read every key and value once more.
    let decodes: Bool
    /// The largest |v| over the finite value rows (0 when not screened): the flash kernel's
    /// unnormalized `Σ p·v` reaches `Sk·max|v|` (``FlashAttention/valueExponent(_:)``).
    var largestValue: Float

    /// - Parameters:
    ///   - execution: settings the caller already resolved (a layer resolves once for its
    ///     projections and the attention); `nil`: resolve `options.execution`.
    ///   - forward: a forward call (``decodes`` may hold), not a backward one.
    init(
        query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions,
        execution: ResolvedExecution? = nil, forward: Bool = false
    ) throws {
        guard query.rank == 4 else {
            throw AttentionError.shape(
                "query", expected: "rank 4 [B, H, Sq, D]", actual: query.shape)
        }
        let (b, h, sq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        guard key.rank == 4, key.shape[0] == b, key.shape[3] == d, key.shape[1] > 0,
            h % key.shape[1] == 0
        else {
            throw AttentionError.shape(
                "key", expected: "[\(b), Hkv, Sk, \(d)] with \(h) (query heads) a multiple of Hkv",
                actual: key.shape)
        }
        let (hkv, sk) = (key.shape[1], key.shape[2])
        guard value.rank == 4, value.shape[0] == b, value.shape[1] == hkv, value.shape[2] == sk
        else {
            throw AttentionError.shape(
                "value", expected: "[\(b), \(hkv), \(sk), Dv] (batch, heads and length of key)",
                actual: value.shape)
        }
        guard d > 0 else {
            throw AttentionError.shape(
                "query", expected: "a head dimension D ≥ 1 (shared with key)", actual: query.shape)
        }
        guard value.shape[3] > 0 else {
            throw AttentionError.shape(
                "value", expected: "a value dimension Dv ≥ 1", actual: value.shape)
        }
        guard options.dropout >= 0 && options.dropout < 1 else {
            throw AttentionError.argument(
                "dropout", "expected a probability in [0, 1), got \(options.dropout)")
        }
        if let scale = options.scale, !scale.isFinite {
            throw AttentionError.argument("scale", "expected a finite number, got \(scale)")
        }
        if let alibi = options.alibi, alibi.slopes.count != h {
            throw AttentionError.argument(
                "alibi", "expected \(h) slopes (one per query head), got \(alibi.slopes.count)")
        }
        for (name, t) in [("key", key), ("value", value)] where t.dtype != query.dtype {
            throw AttentionError.argument(
                name,
                "dtype \(t.dtype) differs from the query's \(query.dtype) (query, key and value must share one dtype: f32, bf16 or f16)"
            )
        }
        try options.mask.validate(batch: b, heads: h, queries: sq, keys: sk)
        let execution = try execution ?? options.execution.resolved()
        let (bq, bk) = execution.tileSize(for: options.mask)
        if let blocks = options.blockMask {
            guard blocks.queries == sq, blocks.keys == sk, blocks.queryBlockSize == bq,
                blocks.keyBlockSize == bk
            else {
                throw AttentionError.argument(
                    "blockMask",
                    "built for \(blocks.queries)×\(blocks.keys) with \(blocks.queryBlockSize)×\(blocks.keyBlockSize) tiles; this call needs \(sq)×\(sk) with \(bq)×\(bk) (use BlockMask.forFusedKernel with this call's execution options)"
                )
            }
        }
        // Kernels need a unit stride along the feature axis.
        var q = query.strides[3] == 1 ? query : query.contiguous()
        var k = key.strides[3] == 1 ? key : key.contiguous()
        var v = value.strides[3] == 1 ? value : value.contiguous()
        (batch, heads, kvHeads, queries, keys, headDim, valueDim) = (
            b, h, hkv, sq, sk, d, value.shape[3]
        )
        scale = options.scale ?? 1 / Float(d).squareRoot()
        self.execution = execution
        (queryBlock, keyBlock) = (bq, bk)
        decodes =
            forward && FlashDecode.handles(batch: b, heads: h, queries: sq, keys: sk, options)
        (checksScores, unscaledProductsFit, largestValue) =
            decodes
            ? (false, true, 0)
            : NonFiniteScreen.apply(
                query: &q, key: &k, value: &v, scale: scale, options: options,
                execution: execution)
        (self.query, self.key, self.value) = (q, k, v)
    }

    /// Whether the output is empty or every row sees no key (no kernel needs to run).
    var isEmpty: Bool { batch * heads * queries == 0 || keys == 0 }

    /// Query heads per key/value head.
    var group: Int { heads / kvHeads }
}
