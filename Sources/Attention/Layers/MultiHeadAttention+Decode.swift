extension MultiHeadAttention {
    /// Incremental (decoding) self-attention: projects the new positions `x`, applies
    /// ``rope`` at each sequence's cache offset, appends their keys and values to `cache`,
    /// and attends over everything cached (bottom-right causal, ALiBi if set) with the
    /// flash-decoding kernel.
    ///
    /// ```swift
    /// var cache = try KVCache(batch: 1, kvHeads: mha.numKVHeads, headDim: mha.headDimensions,
    ///                         capacity: 512)
    /// var y = try mha(prompt, cache: &cache)          // prefill [1, P, E]
    /// y = try mha(nextToken, cache: &cache)           // one step [1, 1, E]
    /// ```
    /// A prefill of `P` positions followed by single steps gives the outputs of one causal
    /// call over all of them. The cache must have ``numKVHeads`` heads of
    /// ``headDimensions`` features; `x` holds the same number `S` of new positions for every
    /// sequence (their offsets may differ).
    ///
    /// - Parameters:
    ///   - x: new positions `[B, S, E]`, `B = cache.batch`.
    ///   - cache: this layer's key/value cache; `S` positions are appended to each sequence.
    ///   - execution: overrides the layer's ``execution`` settings for this call.
    /// - Returns: `[B, S, E]`.
    /// - Throws: ``AttentionError`` naming `x`, `cache` or an ``ExecutionOptions`` setting;
    ///   on error the cache is unchanged.
    public func callAsFunction(
        _ x: Tensor, cache: inout KVCache, execution: ExecutionOptions? = nil
    ) throws -> Tensor {
        let options = execution ?? self.execution
        let resolved = try options.resolved()
        guard x.rank == 3, x.shape[2] == dimensions, x.shape[0] == cache.batch else {
            throw AttentionError.shape(
                "x", expected: "[\(cache.batch), S, \(dimensions)] (B = cache.batch)",
                actual: x.shape)
        }
        guard cache.kvHeads == numKVHeads, cache.headDim == headDimensions,
            cache.valueDim == headDimensions
        else {
            throw AttentionError.argument(
                "cache",
                "expected \(numKVHeads) key/value heads of \(headDimensions) features, got \(cache.kvHeads) of \(cache.headDim)/\(cache.valueDim)"
            )
        }
        var q: Tensor, k: Tensor, v: Tensor
        if let selfProjection {
            (q, k, v) = try selfProjections(x, selfProjection, execution: resolved)
        } else {
            q = try heads(queryProjection, x, argument: "x", execution: resolved)
            k = try heads(keyProjection, x, argument: "x", execution: resolved)
            v = try heads(valueProjection, x, argument: "x", execution: resolved)
        }
        let (b, s) = (x.shape[0], x.shape[1])
        var updated = cache
        if let rope, Set(cache.lengths).count > 1 {
            // Sequences at different offsets: rotate and append each on its own.
            var rotated: [Float] = []
            for i in 0..<b {
                let offset = cache.lengths[i]
                rotated += try rope(q.sliced(axis: 0, range: i..<(i + 1)), offset: offset).scalars
                let ki = try rope(k.sliced(axis: 0, range: i..<(i + 1)), offset: offset)
                try updated.append(
                    keys: ki, values: try v.sliced(axis: 0, range: i..<(i + 1)), sequence: i)
            }
            q = Tensor(unchecked: q.shape, storage: rotated)
        } else {
            if let rope {
                let offset = cache.lengths.first ?? 0
                q = try rope(q, offset: offset)
                k = try rope(k, offset: offset)
            }
            try updated.append(keys: k, values: v)
        }
        let out = try withExtendedLifetime(updated) {
            try FlashDecode.attend(
                query: q, cache: updated.view,
                options: DecodeOptions(alibi: alibi, execution: options), outputLayout: .bshd)
        }
        cache = updated
        // [B, S, H, Dh]: merging the heads is a free reshape.
        return try outputProjection.apply(
            try out.reshaped([b, s, dimensions]), execution: resolved)
    }
}
