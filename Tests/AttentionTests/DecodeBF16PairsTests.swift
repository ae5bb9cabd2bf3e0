import Foundation
import Testing

@testable import Attention

/// Decoding a bf16 cache in bf16 pairs (`vdpbf16ps`, ``ReducedPrecisionKernel/avx512BF16``)
/// against the Double oracle on the same cache contents, with the tolerance of the fused
/// forward's bf16 tile products (``DecodeAttentionTests/pairTolerance``): every case of
/// issue 12's checks (GQA ratios 1, 4, 8; Sq = 1…16; bottom-right causal, sliding window,
/// ALiBi; lengths that divide into no tile, chunk or block; paged runs shorter than a tile
/// and of odd length; an empty cache). On a CPU without AVX512-BF16 each test prints a skip
/// line and checks nothing else.
@Suite struct DecodeBF16PairsTests {
    static let kernel: ReducedPrecisionKernel? =
        ReducedPrecisionKernel.supported.contains(.avx512BF16) ? .avx512BF16 : nil
    let base = DecodeAttentionTests()

    /// The pair path's options, or nil (and a skip line) where the CPU lacks it.
    func pairKernel(_ test: String) -> ReducedPrecisionKernel? {
        if Self.kernel == nil {
            print("decode bf16 pairs: skipped \(test) (this CPU has no avx512_bf16)")
        }
        return Self.kernel
    }

    @Test func thePairPathIsTheDefaultWhereTheCPUHasIt() throws {
        guard let kernel = pairKernel("default") else { return }
        print("decode bf16 pairs: ran \(kernel)")
        #expect(try DecodeAttentionTests.decodesInPairs(.bf16, ExecutionOptions()))
        #expect(
            try DecodeAttentionTests.decodesInPairs(
                .bf16, ExecutionOptions(reducedPrecisionKernel: kernel)))
        // The portable kernel, another instruction set, f32 and f16 caches widen.
        #expect(
            try !DecodeAttentionTests.decodesInPairs(
                .bf16, ExecutionOptions(reducedPrecisionKernel: .portable)))
        #expect(
            try !DecodeAttentionTests.decodesInPairs(.bf16, ExecutionOptions(instructionSet: .avx2))
        )
        #expect(try !DecodeAttentionTests.decodesInPairs(.f16, ExecutionOptions()))
        #expect(try !DecodeAttentionTests.decodesInPairs(.f32, ExecutionOptions()))
    }

    @Test(arguments: DecodeAttentionTests.cases.indices)
    func matchesOracle(_ i: Int) throws {
        guard let kernel = pairKernel("matchesOracle") else { return }
        let c = DecodeAttentionTests.cases[i]
        try base.check(c, dtype: .bf16, halfKernel: kernel)
        try base.check(c, dtype: .bf16, threads: 1, halfKernel: kernel)
        try base.check(c, dtype: .bf16, causal: false, halfKernel: kernel)
        try base.check(c, dtype: .bf16, halfKernel: kernel, queryDType: .bf16)
    }

    @Test(arguments: DecodeAttentionTests.cases.indices)
    func masksMatchOracle(_ i: Int) throws {
        guard let kernel = pairKernel("masksMatchOracle") else { return }
        let c = DecodeAttentionTests.cases[i]
        try base.check(c, dtype: .bf16, window: 50, halfKernel: kernel)
        try base.check(c, dtype: .bf16, alibi: .causal, halfKernel: kernel)
        try base.check(c, dtype: .bf16, causal: false, alibi: .symmetric, halfKernel: kernel)
        try base.check(c, dtype: .bf16, window: 7, alibi: .causal, halfKernel: kernel)
    }

    /// Sq = 1…16 on lengths that are not multiples of the tile, chunk or block.
    @Test func everyQueryLength() throws {
        guard let kernel = pairKernel("everyQueryLength") else { return }
        for sq in 1...16 {
            try base.check(
                DecodeCase(lengths: [45, 290], hkv: 2, group: 4, sq: sq, d: 48), dtype: .bf16,
                seed: UInt64(sq), halfKernel: kernel)
        }
    }

    /// Paged runs shorter than a tile, of odd length (blocks of 1, 5 and 33 positions), and
    /// head dims that leave a partial 32-element chunk (odd ones too).
    @Test(arguments: [1, 5, 33])
    func oddPagedRunsAndHeadDims(_ block: Int) throws {
        guard let kernel = pairKernel("oddPagedRunsAndHeadDims") else { return }
        for (d, dv) in [(1, 1), (7, 33), (64, 96), (128, 128), (33, 65)] {
            try base.check(
                DecodeCase(lengths: [71, 3], hkv: 2, group: 4, sq: 2, d: d, dv: dv), dtype: .bf16,
                seed: UInt64(d), halfKernel: kernel, blockSize: block)
        }
    }

    /// Chunks split across threads end mid-tile and mid-block.
    @Test func longSequenceManyChunks() throws {
        guard let kernel = pairKernel("longSequenceManyChunks") else { return }
        try base.check(
            DecodeCase(lengths: [9001], hkv: 1, group: 4, sq: 1, d: 128), dtype: .bf16, threads: 3,
            halfKernel: kernel)
    }

    /// A ring-buffer window cache: the visible positions wrap around the buffer's end (two
    /// runs with consecutive positions at unrelated addresses, joined into one tile).
    @Test func slidingWindowRing() throws {
        guard let kernel = pairKernel("slidingWindowRing") else { return }
        let (w, d) = (40, 64)
        var cache = try KVCache(batch: 1, kvHeads: 2, headDim: d, window: w, dtype: .bf16)
        let k = Tensor.randomNormal([1, 2, 150, d], seed: 3)
        let v = Tensor.randomNormal([1, 2, 150, d], seed: 4)
        var appended = 0
        for step in [30, 25, 1, 57, 37] {
            try cache.append(
                keys: k.sliced(axis: 2, range: appended..<(appended + step)),
                values: v.sliced(axis: 2, range: appended..<(appended + step)))
            appended += step
            let q = Tensor.randomNormal([1, 8, 1, d], seed: UInt64(appended))
            let out = try decodeAttention(
                query: q, cache: cache,
                options: DecodeOptions(execution: ExecutionOptions(reducedPrecisionKernel: kernel)))
            let oracle = decodeOracle(
                query: q, stored: [try cache.stored(sequence: 0)], starts: [max(0, appended - w)],
                lengths: cache.lengths, window: w)
            let error = maxRelativeError(out, oracle)
            #expect(error <= DecodeAttentionTests.pairTolerance, "after \(appended): \(error)")
        }
    }

    @Test func emptyCacheGivesZeros() throws {
        guard let kernel = pairKernel("emptyCacheGivesZeros") else { return }
        let options = DecodeOptions(execution: ExecutionOptions(reducedPrecisionKernel: kernel))
        let q = Tensor.randomNormal([2, 4, 3, 8], seed: 1)
        let cache = try KVCache(batch: 2, kvHeads: 2, headDim: 8, capacity: 0, dtype: .bf16)
        #expect(
            try decodeAttention(query: q, cache: cache, options: options).scalars.allSatisfy {
                $0 == 0
            })
        var paged = try PagedKVCache(
            kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 0, dtype: .bf16)
        let id = paged.addSequence()
        let out = try decodeAttention(
            query: q.sliced(axis: 0, range: 0..<1), cache: paged, sequences: [id], options: options)
        #expect(out.scalars.allSatisfy { $0 == 0 })
    }

    /// The pair path and the widening path on the same cache agree within the pair
    /// tolerance (normwise, relative to the widening output).
    @Test func agreesWithTheWideningPath() throws {
        guard let kernel = pairKernel("agreesWithTheWideningPath") else { return }
        var errors: [Double] = []
        for c in DecodeAttentionTests.cases {
            let pairs = try base.check(
                c, dtype: .bf16, window: 40, alibi: .causal, halfKernel: kernel)
            let widened = try base.check(
                c, dtype: .bf16, window: 40, alibi: .causal, halfKernel: .portable)
            let reference = widened.scalars.map(Double.init)
            let error = maxRelativeError(pairs, reference)
            #expect(error <= DecodeAttentionTests.pairTolerance, "\(c): \(error)")
            errors.append(error)
        }
        print(
            "decode bf16 pairs vs widening: "
                + errors.map { String(format: "%.2e", $0) }.joined(separator: " "))
        // The pair path rounds the query and P, so it differs (a one-key cache excepted: P = 1).
        #expect(errors.max()! > 0)
    }
}
