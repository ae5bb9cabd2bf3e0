/// The decode kernel behind ``scaledDotProductAttention(query:key:value:options:)``: with the
/// `.automatic` backend, a few queries against many keys (`Sq ≤ 16`, `Sk ≥ 256`: decoding
/// with the new keys already concatenated, chunked prefill, speculative decoding) run as
/// flash-decoding on `key` and `value` read in place, as FlashAttention's forward splits the
/// keys when the queries are too few to fill the machine. Each key/value element is then
/// read once per group of query heads, not once per query head, and every thread has work.
extension FlashDecode {
    /// The most queries per sequence the automatic backend sends to the decode kernel.
    static let automaticQueries = 16

    /// Whether the automatic backend runs a forward of `batch × heads` slices of `queries`
    /// queries against `keys` keys on the decode kernel: `Sq ≤ 16`, `Sk ≥ 256`, and only
    /// what it supports — a mask whose visible keys form one interval per query
    /// (``AttentionMask/isIntervalMask``: none, causal of either alignment, sliding window,
    /// prefix LM, and `.and` of them; the kernel takes each row's interval; block diagonal
    /// is one too, but needs `Sq = Sk`),
    /// ALiBi, no dropout, no weights, no block mask (the log-sum-exp is supported).
    static func handles(
        batch: Int, heads: Int, queries: Int, keys: Int, _ options: AttentionOptions
    ) -> Bool {
        guard options.backend == .automatic, batch * heads > 0, queries >= 1,
            queries <= automaticQueries, keys >= minimumChunk, options.dropout == 0,
            !options.returnWeights, options.blockMask == nil
        else { return false }
        return options.mask.isIntervalMask
    }

    /// Runs a problem ``handles(batch:heads:queries:keys:_:)`` accepted (``AttentionProblem/decodes``);
    /// returns the output in the inputs' dtype and the log-sum-exp `[B, H, Sq]` when
    /// `options.returnLogSumExp`.
    static func attend(
        _ p: AttentionProblem, _ options: AttentionOptions,
        outputLayout: FlashAttention.OutputLayout
    ) throws -> (output: Tensor, logSumExp: Tensor?) {
        // Rows in place at any position stride (a layer's [B, S, H, D] views too); the
        // feature axis has unit stride (AttentionProblem).
        let (k, v) = (p.key, p.value)
        let decodeOptions = DecodeOptions(
            scale: p.scale, causal: false, window: nil, alibi: options.alibi,
            execution: options.execution)
        let intervals = (0..<p.queries).map {
            options.mask.visibleInterval(query: $0, queries: p.queries, keys: p.keys)!
        }
        var lse = Tensor.zeros(options.returnLogSumExp ? [p.batch, p.heads, p.queries] : [0])
        let output = try k.withUnsafeRawElements { keys in
            try v.withUnsafeRawElements { values in
                let width = k.dtype.byteSize
                let view = KVCacheView(
                    dtype: k.dtype, kvHeads: p.kvHeads, headDim: p.headDim, valueDim: p.valueDim,
                    lengths: Array(repeating: p.keys, count: p.batch),
                    starts: Array(repeating: 0, count: p.batch),
                    segments: (0..<p.batch).map { b in
                        [
                            KVSegment(
                                keys: keys + b * k.strides[0] * width,
                                values: values + b * v.strides[0] * width,
                                keyHeadStride: k.strides[1], valueHeadStride: v.strides[1],
                                keyRowStride: k.strides[2],
                                valueLayout: ValueLayout(panel: 0, rowStride: v.strides[2]),
                                valueRow: 0, first: 0, count: p.keys)
                        ]
                    }, window: nil)
                return try lse.withUnsafeMutableElements { l in
                    try attend(
                        query: p.query, cache: view, options: decodeOptions,
                        outputLayout: outputLayout, logSumExp: options.returnLogSumExp ? l : nil,
                        intervals: intervals)
                }
            }
        }
        return (
            output.converted(to: p.query.dtype), options.returnLogSumExp ? lse : nil
        )
    }
}
