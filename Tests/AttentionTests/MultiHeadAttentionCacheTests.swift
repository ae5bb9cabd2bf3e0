import Testing

@testable import Attention

/// The layer's incremental call on both cache kinds: outputs equal one causal call over the
/// whole sequence (the fused kernel, a different code path), the stored positions are never
/// copied, and a failing call leaves the cache as it was.
struct MultiHeadAttentionCacheTests {
    /// Largest |a − b| over the largest |b|.
    func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        let scale = b.scalars.map { abs(Double($0)) }.max() ?? 1
        return zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) }.max()! / scale
    }

    func layer() throws -> MultiHeadAttention {
        var mha = try MultiHeadAttention(dimensions: 32, numHeads: 4, seed: 11, numKVHeads: 2)
        mha.rope = try RoPE(dimensions: 8)
        return mha
    }

    /// Two sequences of different prompt lengths share one block pool: prefilled one at a
    /// time, then stepped together (blocks of 3 positions, so every call crosses blocks). Each
    /// output equals the same positions of one causal call over that sequence (≤ 1e-5 of the
    /// largest output, fp32).
    @Test func pagedPrefillThenJointStepsEqualCausalCalls() throws {
        let mha = try layer()
        let prompts = [7, 2], steps = 5
        let xs = [
            Tensor.randomNormal([1, prompts[0] + steps, 32], seed: 21),
            Tensor.randomNormal([1, prompts[1] + steps, 32], seed: 22),
        ]
        let full = try xs.map { try mha($0, isCausal: true) }
        var pool = try PagedKVCache(kvHeads: 2, headDim: 8, blockSize: 3, blockCount: 16)
        let ids = [pool.addSequence(), pool.addSequence()]
        for i in 0..<2 {
            let y = try mha(
                xs[i].sliced(axis: 1, range: 0..<prompts[i]), cache: &pool, sequences: [ids[i]])
            #expect(try relativeError(y, full[i].sliced(axis: 1, range: 0..<prompts[i])) <= 1e-5)
        }
        for t in 0..<steps {
            let rows = try (0..<2).map { i in
                try xs[i].sliced(axis: 1, range: (prompts[i] + t)..<(prompts[i] + t + 1)).scalars
            }
            let y = try mha(
                Tensor(shape: [2, 1, 32], scalars: rows[0] + rows[1]), cache: &pool,
                sequences: ids)
            for i in 0..<2 {
                let want = try full[i].sliced(
                    axis: 1, range: (prompts[i] + t)..<(prompts[i] + t + 1))
                let error = try relativeError(y.sliced(axis: 0, range: i..<(i + 1)), want)
                #expect(error <= 1e-5, "step \(t) sequence \(i): \(error)")
            }
        }
        #expect(
            try ids.map { try pool.length(sequence: $0) } == [
                prompts[0] + steps, prompts[1] + steps,
            ])
    }

    /// A step writes into the cache's own pages: a preallocated cache keeps its page (the
    /// first version copied the whole page on every call, through a copy-on-write of the
    /// cache value).
    @Test func stepsDoNotCopyStoredPages() throws {
        let mha = try layer()
        var cache = try KVCache(batch: 1, kvHeads: 2, headDim: 8, capacity: 64)
        let pages = cache.pageAddresses
        _ = try mha(Tensor.randomNormal([1, 5, 32], seed: 1), cache: &cache)
        for i in 0..<3 {
            _ = try mha(Tensor.randomNormal([1, 1, 32], seed: UInt64(2 + i)), cache: &cache)
            #expect(cache.pageAddresses == pages, "step \(i)")
        }
        #expect(cache.lengths == [8])
    }

    /// Out of blocks for the second sequence: the error names `blockCount`, and the first
    /// sequence's append is undone (length and free blocks as before).
    @Test func pagedFailureLeavesThePoolUnchanged() throws {
        let mha = try layer()
        var pool = try PagedKVCache(kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 4)
        let a = pool.addSequence(), b = pool.addSequence()
        _ = try mha(Tensor.randomNormal([1, 4, 32], seed: 3), cache: &pool, sequences: [a])
        _ = try mha(Tensor.randomNormal([1, 4, 32], seed: 4), cache: &pool, sequences: [b])
        #expect(pool.freeBlockCount == 2)
        // 8 new positions each: b takes the last 2 free blocks, then a finds none; b's append
        // must be undone.
        var argument: String? = nil
        do {
            _ = try mha(Tensor.randomNormal([2, 8, 32], seed: 5), cache: &pool, sequences: [b, a])
        } catch let e as AttentionError { argument = e.argument }
        #expect(argument == "blockCount")
        #expect(try pool.length(sequence: a) == 4 && pool.length(sequence: b) == 4)
        #expect(pool.freeBlockCount == 2)
        for (ids, expected) in [([a, a], "sequences"), ([a, 99], "sequences"), ([], "sequences")] {
            argument = nil
            do {
                _ = try mha(
                    Tensor.randomNormal([ids.count, 1, 32], seed: 6), cache: &pool, sequences: ids)
            } catch let e as AttentionError { argument = e.argument }
            #expect(argument == expected, "\(ids)")
        }
        argument = nil
        do {
            _ = try mha(Tensor.randomNormal([1, 1, 16], seed: 7), cache: &pool, sequences: [a])
        } catch let e as AttentionError { argument = e.argument }
        #expect(argument == "x")
        #expect(try pool.length(sequence: a) == 4 && pool.freeBlockCount == 2)
    }

    /// A failed step undoes a fork's copy-on-write too. b (a fork of a, sharing a's partly
    /// filled last block) copies that block and takes a new one for its 3 new positions, d
    /// takes a block, then c finds none. Undone last first: b holds the shared block again,
    /// its copy and new block are free, and the free list hands out the same blocks as an
    /// untouched copy of the pool would. (A trim would have kept b on the copy.)
    @Test func pagedFailureUndoesAForksCopy() throws {
        let mha = try layer()
        var pool = try PagedKVCache(kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 5)
        let a = pool.addSequence(), c = pool.addSequence(), d = pool.addSequence()
        _ = try mha(Tensor.randomNormal([1, 6, 32], seed: 3), cache: &pool, sequences: [a])
        let b = try pool.fork(sequence: a)
        #expect(pool.freeBlockCount == 3)
        let untouched = pool
        let ids = [a, b, c, d]
        let tables = try ids.map { try pool.blockTable(sequence: $0) }
        let storedA = try pool.stored(sequence: a).keys.scalars
        var argument: String? = nil
        do {
            _ = try mha(
                Tensor.randomNormal([3, 3, 32], seed: 4), cache: &pool, sequences: [b, d, c])
        } catch let e as AttentionError { argument = e.argument }
        #expect(argument == "blockCount")
        #expect(try ids.map { try pool.blockTable(sequence: $0) } == tables)
        #expect(try pool.length(sequence: b) == 6 && pool.length(sequence: d) == 0)
        #expect(pool.freeBlockCount == 3)
        // The pool goes on as an untouched copy does: the same blocks, in the same order.
        var reference = untouched
        let x = Tensor.randomNormal([2, 3, 32], seed: 5)
        _ = try mha(x, cache: &pool, sequences: [b, d])
        _ = try mha(x, cache: &reference, sequences: [b, d])
        for id in ids {
            #expect(try pool.blockTable(sequence: id) == reference.blockTable(sequence: id))
        }
        #expect(pool.freeBlockCount == 0 && reference.freeBlockCount == 0)
        // a's positions were never written, by the failed step or after it.
        #expect(try pool.stored(sequence: a).keys.scalars == storedA)
    }

    /// A full sliding-window cache takes one position per call; several are refused before
    /// anything is overwritten, and single steps go on to equal a windowed causal call.
    @Test func fullWindowCacheTakesOnePositionPerCall() throws {
        let mha = try layer()
        let w = 6
        var cache = try KVCache(batch: 1, kvHeads: 2, headDim: 8, window: w)
        let x = Tensor.randomNormal([1, 10, 32], seed: 8)
        _ = try mha(x.sliced(axis: 1, range: 0..<5), cache: &cache)
        let before = try cache.stored(sequence: 0)
        var argument: String? = nil
        do { _ = try mha(x.sliced(axis: 1, range: 5..<7), cache: &cache) } catch let e
            as AttentionError
        { argument = e.argument }
        #expect(argument == "x")
        #expect(cache.lengths == [5])
        #expect(try cache.stored(sequence: 0).keys.scalars == before.keys.scalars)
        let full = try mha(x, mask: .slidingWindow(left: w - 1, right: 0))
        for i in 5..<10 {
            let y = try mha(x.sliced(axis: 1, range: i..<(i + 1)), cache: &cache)
            #expect(try relativeError(y, full.sliced(axis: 1, range: i..<(i + 1))) <= 1e-5, "\(i)")
        }
    }
}

/// What an append stores, for inputs of every dtype: a 2-byte input into a cache of the same
/// dtype keeps its bits; other pairs round once to nearest even (the Swift scalar conversion
/// `DType.bits` is the reference); reading back is exact.
struct KVCacheInputTests {
    @Test(arguments: [DType.f32, .bf16, .f16])
    func appendStoresRoundedOnce(_ cacheType: DType) throws {
        let (hkv, s, d) = (2, 37, 24)
        // A strided view (positions reversed through a transposition) of each input dtype.
        let base = Tensor.randomNormal([1, hkv, d, s], standardDeviation: 3, seed: 30)
        for inputType in [DType.f32, .bf16, .f16] {
            let keys = base.converted(to: inputType).transposed(2, 3)
            let values = keys.converted(to: inputType)
            var cache = try KVCache(
                batch: 1, kvHeads: hkv, headDim: d, capacity: 8, pageTokens: 5, dtype: cacheType)
            try cache.append(keys: keys, values: values)
            var pool = try PagedKVCache(
                kvHeads: hkv, headDim: d, blockSize: 4, blockCount: 20, dtype: cacheType)
            let id = pool.addSequence()
            try pool.append(keys: keys, values: values, sequence: id)
            let input = keys.contiguous().scalars  // exact: the input's own values
            let expected: [Float] =
                cacheType == .f32 ? input : input.map { cacheType.float(cacheType.bits($0)) }
            for (label, stored) in [
                ("contiguous", try cache.stored(sequence: 0)),
                ("paged", try pool.stored(sequence: id)),
            ] {
                #expect(
                    stored.keys.scalars.map(\.bitPattern) == expected.map(\.bitPattern),
                    "\(inputType) → \(cacheType) \(label) keys")
                #expect(
                    stored.values.scalars.map(\.bitPattern) == expected.map(\.bitPattern),
                    "\(inputType) → \(cacheType) \(label) values")
            }
        }
    }
}
