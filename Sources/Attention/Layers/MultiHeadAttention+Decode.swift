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
    /// sequence (their offsets may differ). The cache is updated in place: the positions
    /// already stored are neither copied nor moved.
    ///
    /// A sliding-window cache (``KVCache/init(batch:kvHeads:headDim:valueDim:window:dtype:)``)
    /// of `W` positions takes calls of any `S` while a sequence's length stays ≤ `W`, and
    /// then one position per call: the first of several new positions would need keys the
    /// ring buffer has dropped.
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
        try checkCache(kvHeads: cache.kvHeads, headDim: cache.headDim, valueDim: cache.valueDim)
        if let w = cache.window, x.rank == 3, x.shape[1] > 1,
            let full = cache.lengths.firstIndex(where: { $0 + x.shape[1] > w })
        {
            throw AttentionError.argument(
                "x",
                "\(x.shape[1]) new positions for sequence \(full) (length \(cache.lengths[full])) overflow the cache's window of \(w): once a sliding-window cache is full, pass one position per call"
            )
        }
        let lengths = cache.lengths
        return try decodeStep(
            x, lengths: lengths, execution: execution,
            append: { k, v, sequence in
                if let sequence {
                    try cache.append(keys: k, values: v, sequence: sequence)
                } else {
                    try cache.append(keys: k, values: v)
                }
            },
            rollback: {
                // Only a failure inside the kernel gets here; a ring buffer's overwritten
                // positions cannot be restored, which the window check above rules out.
                for (i, l) in lengths.enumerated() where cache.window == nil {
                    try? cache.trim(to: l, sequence: i)
                }
            },
            attend: { q, options in
                try withExtendedLifetime(cache) {
                    try FlashDecode.attend(
                        query: q, cache: cache.view, options: options, outputLayout: .bshd)
                }
            })
    }

    /// ``callAsFunction(_:cache:execution:)`` against a ``PagedKVCache`` (vLLM-style
    /// continuous batching): batch entry `i` of `x` extends sequence `sequences[i]` of the
    /// shared block pool, taking blocks as needed.
    ///
    /// ```swift
    /// var pool = try PagedKVCache(kvHeads: mha.numKVHeads, headDim: mha.headDimensions,
    ///                             blockSize: 16, blockCount: 4096)
    /// let a = pool.addSequence(), b = pool.addSequence()
    /// _ = try mha(promptA, cache: &pool, sequences: [a])   // prefill [1, P, E]
    /// _ = try mha(promptB, cache: &pool, sequences: [b])
    /// let y = try mha(nextTokens, cache: &pool, sequences: [a, b])   // [2, 1, E]
    /// ```
    /// - Parameters:
    ///   - x: new positions `[B, S, E]`, `B = sequences.count`.
    ///   - cache: the block pool; `S` positions are appended to each listed sequence.
    ///   - sequences: live sequence identifiers (``PagedKVCache/addSequence()``), no repeats.
    ///   - execution: overrides the layer's ``execution`` settings for this call.
    /// - Returns: `[B, S, E]`.
    /// - Throws: ``AttentionError`` naming `x`, `cache`, `sequences`, `blockCount` (the pool
    ///   has too few free blocks) or an ``ExecutionOptions`` setting; on error the cache is
    ///   unchanged.
    public func callAsFunction(
        _ x: Tensor, cache: inout PagedKVCache, sequences: [Int],
        execution: ExecutionOptions? = nil
    ) throws -> Tensor {
        try checkCache(kvHeads: cache.kvHeads, headDim: cache.headDim, valueDim: cache.valueDim)
        guard !sequences.isEmpty, Set(sequences).count == sequences.count else {
            throw AttentionError.argument(
                "sequences", "expected one or more distinct identifiers, got \(sequences)")
        }
        var saved: [(blocks: [Int], length: Int)] = []
        for id in sequences {
            do { saved.append(try cache.savedTable(sequence: id)) } catch let e as AttentionError {
                throw AttentionError(e.kind, argument: "sequences", e.message)
            }
        }
        let lengths = saved.map(\.length)
        var appended = 0
        return try decodeStep(
            x, lengths: lengths, execution: execution, alwaysPerSequence: true,
            append: { k, v, i in
                try cache.append(keys: k, values: v, sequence: sequences[i ?? 0])
                appended += 1
            },
            rollback: {
                // Exactly as before, a block copied from a fork's shared one included.
                for i in (0..<appended).reversed() {
                    cache.restore(sequence: sequences[i], to: saved[i])
                }
            },
            attend: { q, options in
                try withExtendedLifetime(cache) {
                    try FlashDecode.attend(
                        query: q, cache: try cache.view(sequences: sequences), options: options,
                        outputLayout: .bshd)
                }
            })
    }

    private func checkCache(kvHeads: Int, headDim: Int, valueDim: Int) throws {
        guard kvHeads == numKVHeads, headDim == headDimensions, valueDim == headDimensions else {
            throw AttentionError.argument(
                "cache",
                "expected \(numKVHeads) key/value heads of \(headDimensions) features, got \(kvHeads) of \(headDim)/\(valueDim)"
            )
        }
    }

    /// The shared step: projections, RoPE at each sequence's offset, `append` (sequence index
    /// or nil for all at once), `attend` on the rotated queries, the output projection. On a
    /// throw after the first `append`, `rollback` restores the cache.
    private func decodeStep(
        _ x: Tensor, lengths: [Int], execution: ExecutionOptions?, alwaysPerSequence: Bool = false,
        append: (_ keys: Tensor, _ values: Tensor, _ sequence: Int?) throws -> Void,
        rollback: () -> Void,
        attend: (_ query: Tensor, _ options: DecodeOptions) throws -> Tensor
    ) throws -> Tensor {
        let options = execution ?? self.execution
        let resolved = try options.resolved()
        let b = lengths.count
        guard x.rank == 3, x.shape[2] == dimensions, x.shape[0] == b else {
            throw AttentionError.shape(
                "x", expected: "[\(b), S, \(dimensions)] (B = the cache's sequences)",
                actual: x.shape)
        }
        var q: Tensor, k: Tensor, v: Tensor
        if let selfProjection {
            (q, k, v) = try selfProjections(x, selfProjection, execution: resolved)
        } else {
            q = try heads(queryProjection, x, argument: "x", execution: resolved)
            k = try heads(keyProjection, x, argument: "x", execution: resolved)
            v = try heads(valueProjection, x, argument: "x", execution: resolved)
        }
        let s = x.shape[1]
        // Everything that can fail before the cache changes: rotate first, append after.
        var rows: [(k: Tensor, v: Tensor)] = []
        if alwaysPerSequence || (rope != nil && Set(lengths).count > 1) {
            // Sequences at different offsets: rotate and append each on its own.
            var rotated: [Float] = []
            for i in 0..<b {
                var ki = try k.sliced(axis: 0, range: i..<(i + 1))
                if let rope {
                    rotated += try rope(q.sliced(axis: 0, range: i..<(i + 1)), offset: lengths[i])
                        .scalars
                    ki = try rope(ki, offset: lengths[i])
                }
                rows.append((ki, try v.sliced(axis: 0, range: i..<(i + 1))))
            }
            if rope != nil { q = Tensor(unchecked: q.shape, storage: rotated) }
        } else if let rope {
            let offset = lengths.first ?? 0
            q = try rope(q, offset: offset)
            k = try rope(k, offset: offset)
        }
        let out: Tensor
        do {
            if rows.isEmpty {
                try append(k, v, nil)
            } else {
                for (i, row) in rows.enumerated() { try append(row.k, row.v, i) }
            }
            out = try attend(q, DecodeOptions(alibi: alibi, execution: options))
        } catch {
            rollback()
            throw error
        }
        // [B, S, H, Dh]: merging the heads is a free reshape.
        return try outputProjection.apply(
            try out.reshaped([b, s, dimensions]), execution: resolved)
    }
}
