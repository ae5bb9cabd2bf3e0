import Foundation
import Testing

@testable import Attention

/// `PagedKVCache.fork(sequence:)`: a fork shares its parent's blocks, a shared partly filled
/// last block is copied before either sequence writes into it, whole blocks stay shared until
/// both drop them, and decoding either sequence sees exactly its own positions.
struct PagedForkTests {
    /// The first `n` positions of each head of `x` (`[Hkv, S, D]`) followed by all of `y`'s
    /// (`[Hkv, S', D]`), as the scalars of an `[Hkv, n + S', D]` tensor.
    static func joined(_ x: Tensor, first n: Int, _ y: Tensor? = nil) -> [Float] {
        let (heads, d) = (x.shape[0], x.shape[2])
        let (xs, ys) = (x.scalars, y?.scalars ?? [])
        let sy = y?.shape[1] ?? 0
        var out: [Float] = []
        for h in 0..<heads {
            out += xs[(h * x.shape[1]) * d..<(h * x.shape[1] + n) * d]
            out += ys[(h * sy) * d..<((h + 1) * sy) * d]
        }
        return out
    }

    /// f32 with value panels (Dv = 64: blocks of 16 positions hold one panel, blocks of 64
    /// two panels of 32) and bf16 value rows; 2 KV heads. The parent has one whole block and
    /// 8 positions of a second.
    @Test(arguments: [(DType.f32, 16), (.f32, 64), (.bf16, 16)])
    func forksShareUntilWritten(_ dtype: DType, _ blockSize: Int) throws {
        var cache = try PagedKVCache(
            kvHeads: 2, headDim: 8, valueDim: 64, blockSize: blockSize, blockCount: 8,
            dtype: dtype)
        // Values exact in bf16, so stored contents compare exactly.
        func input(_ s: Int, _ d: Int, _ seed: UInt64) -> Tensor {
            Tensor.randomNormal([2, s, d], seed: seed).converted(to: dtype).converted(to: .f32)
        }
        // The layout under test: f32 panels of min(blockSize, 32) positions, bf16 rows.
        #expect(
            KVPage.valuePanel(unit: blockSize, valueDim: 64, dtype: dtype)
                == (dtype == .f32 ? Swift.min(blockSize, 32) : 0))
        let n = blockSize + 8
        let (k, v) = (input(n, 8, 1), input(n, 64, 2))
        let a = cache.addSequence()
        try cache.append(keys: k, values: v, sequence: a)
        #expect(cache.freeBlockCount == 6)
        let b = try cache.fork(sequence: a)
        #expect(cache.freeBlockCount == 6, "a fork takes no block")
        #expect(try cache.blockTable(sequence: b) == cache.blockTable(sequence: a))
        #expect(try cache.length(sequence: b) == n)
        try cache.append(keys: input(0, 8, 9), values: input(0, 64, 9), sequence: b)
        #expect(cache.freeBlockCount == 6, "nothing appended, nothing copied")

        // b writes into the shared last block: it gets a copy, a keeps the original.
        let (kb, vb) = (input(1, 8, 3), input(1, 64, 4))
        let tableA = try cache.blockTable(sequence: a)
        try cache.append(keys: kb, values: vb, sequence: b)
        #expect(cache.freeBlockCount == 5)
        let tableB = try cache.blockTable(sequence: b)
        #expect(try cache.blockTable(sequence: a) == tableA)
        #expect(tableB[0] == tableA[0] && tableB[1] != tableA[1])
        #expect(try cache.stored(sequence: a).keys.scalars == Self.joined(k, first: n))
        #expect(try cache.stored(sequence: a).values.scalars == Self.joined(v, first: n))
        #expect(try cache.stored(sequence: b).keys.scalars == Self.joined(k, first: n, kb))
        #expect(try cache.stored(sequence: b).values.scalars == Self.joined(v, first: n, vb))

        // a's last block is its own now: written in place; the rest takes a third block.
        let (ka, va) = (input(blockSize - 4, 8, 5), input(blockSize - 4, 64, 6))
        try cache.append(keys: ka, values: va, sequence: a)  // 2·blockSize + 4 positions
        #expect(cache.freeBlockCount == 4)
        #expect(try Array(cache.blockTable(sequence: a).prefix(2)) == tableA)
        #expect(try cache.stored(sequence: a).values.scalars == Self.joined(v, first: n, va))
        #expect(try cache.stored(sequence: b).values.scalars == Self.joined(v, first: n, vb))

        // Decoding both sequences at once sees each one's own positions.
        let q = Tensor.randomNormal([2, 4, 1, 8], seed: 7)
        let out = try decodeAttention(query: q, cache: cache, sequences: [a, b])
        let stored = try [a, b].map { try cache.stored(sequence: $0) }
        let oracle = decodeOracle(
            query: q, stored: stored, starts: [0, 0], lengths: [2 * blockSize + 4, n + 1])
        // bf16: the pair kernel rounds the query and P to bf16 (as in DecodeAttentionTests).
        if dtype == .f32 {
            #expect(maxError(out, oracle) <= 1e-5)
        } else {
            #expect(maxRelativeError(out, oracle) <= DecodeAttentionTests.pairTolerance)
        }

        // Freeing a returns only the blocks b does not hold; b is intact.
        try cache.free(sequence: a)
        #expect(cache.freeBlockCount == 6)
        #expect(try cache.stored(sequence: b).keys.scalars == Self.joined(k, first: n, kb))
        try cache.free(sequence: b)
        #expect(cache.freeBlockCount == 8)
    }

    /// Whole shared blocks are never copied: a fork of a sequence that ends on a block
    /// boundary appends into fresh blocks. Trimming a fork into a shared block and appending
    /// copies that block and leaves the parent's positions alone.
    @Test func wholeBlocksStaySharedAndTrimmedForksCopy() throws {
        var cache = try PagedKVCache(kvHeads: 1, headDim: 4, blockSize: 4, blockCount: 4)
        let x = Tensor.randomNormal([1, 8, 4], seed: 11)
        let a = cache.addSequence()
        try cache.append(keys: x, values: x, sequence: a)  // two full blocks
        let b = try cache.fork(sequence: a), c = try cache.fork(sequence: a)
        let y = Tensor.randomNormal([1, 1, 4], seed: 12)
        try cache.append(keys: y, values: y, sequence: b)
        #expect(cache.freeBlockCount == 1, "one new block, nothing copied")
        #expect(try Array(cache.blockTable(sequence: b).prefix(2)) == cache.blockTable(sequence: a))
        try cache.trim(sequence: c, to: 6)  // into a's second block, still shared
        #expect(cache.freeBlockCount == 1)
        try cache.append(keys: y, values: y, sequence: c)  // copies that block
        #expect(cache.freeBlockCount == 0)
        #expect(try cache.stored(sequence: a).keys.scalars == x.scalars)
        #expect(try cache.stored(sequence: c).keys.scalars == Self.joined(x, first: 6, y))
        // b back to 6 positions frees its third block; 3 more need a copy of the shared
        // block and a new one, with one free: refused, nothing changes.
        try cache.trim(sequence: b, to: 6)
        #expect(cache.freeBlockCount == 1)
        let before = try cache.blockTable(sequence: b)
        let y3 = Tensor.randomNormal([1, 3, 4], seed: 13)
        #expect(throws: AttentionError.self) { try cache.append(keys: y3, values: y3, sequence: b) }
        #expect(try cache.blockTable(sequence: b) == before && cache.length(sequence: b) == 6)
        #expect(throws: AttentionError.self) { _ = try cache.fork(sequence: 99) }
        for id in [a, b, c] { try cache.free(sequence: id) }
        #expect(cache.freeBlockCount == 4)
    }
}
