import Foundation
import Testing

@testable import Attention

/// A Double-precision oracle for decoding, on the cache's own contents (read back as Float):
/// query `s` of sequence `b` sits at position `L_b − Sq + s` and sees the stored positions
/// `j` with `j ≤ pos` (causal) and `j > pos − W` (window), plus the ALiBi bias.
func decodeOracle(
    query q: Tensor, stored: [(keys: Tensor, values: Tensor)], starts: [Int], lengths: [Int],
    causal: Bool = true, window: Int? = nil, alibi: ALiBi? = nil
) -> [Double] {
    let (bN, h, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let hkv = stored[0].keys.shape[0], dv = stored[0].values.shape[2]
    let scale = 1 / Double(d).squareRoot()
    var out = [Double](repeating: 0, count: bN * h * sq * dv)
    let qs = q.scalars
    for b in 0..<bN {
        let ks = stored[b].keys.scalars, vs = stored[b].values.scalars
        let n = stored[b].keys.shape[1], start = starts[b], length = lengths[b]
        let shift = alibi?.alignment.queryShift(queries: sq, keys: length) ?? 0
        for hi in 0..<h {
            let kh = hi / (h / hkv)
            for s in 0..<sq {
                let pos = length - sq + s
                var scores: [(Int, Double)] = []
                for t in 0..<n {
                    let j = start + t
                    if causal && j > pos { continue }
                    if let window, j <= pos - window { continue }
                    var dot = 0.0
                    let qo = ((b * h + hi) * sq + s) * d, ko = (kh * n + t) * d
                    for x in 0..<d { dot += Double(qs[qo + x]) * Double(ks[ko + x]) }
                    var score = dot * scale
                    if let alibi {
                        let dist = Double(s + shift - j)
                        score -=
                            Double(alibi.slopes[hi]) * (alibi.form == .symmetric ? abs(dist) : dist)
                    }
                    scores.append((t, score))
                }
                guard let m = scores.map(\.1).max() else { continue }
                let z = scores.reduce(0.0) { $0 + exp($1.1 - m) }
                for (t, score) in scores {
                    let w = exp(score - m) / z
                    for x in 0..<dv {
                        out[((b * h + hi) * sq + s) * dv + x] +=
                            w * Double(vs[(kh * n + t) * dv + x])
                    }
                }
            }
        }
    }
    return out
}

struct DecodeCase: CustomStringConvertible, Sendable {
    var lengths: [Int]
    var hkv = 2, group = 4, sq = 1, d = 64, dv: Int? = nil
    var description: String {
        "L\(lengths) Hkv\(hkv)×\(group) Sq\(sq) d\(d)/\(dv ?? d)"
    }
}

@Suite struct DecodeAttentionTests {
    static let cases: [DecodeCase] = [
        DecodeCase(lengths: [1], hkv: 1, group: 1),
        DecodeCase(lengths: [300], hkv: 2, group: 4),
        DecodeCase(lengths: [1000, 37], hkv: 1, group: 8, sq: 3),
        DecodeCase(lengths: [533], hkv: 3, group: 1, sq: 16, d: 59, dv: 37),
        DecodeCase(lengths: [16, 700, 5], hkv: 2, group: 8, sq: 16, d: 128),
        DecodeCase(lengths: [2500], hkv: 1, group: 4, sq: 2, d: 32, dv: 20),
    ]

    /// Random K/V appended in two uneven steps (so pages and blocks split mid-sequence).
    static func filled(_ c: DecodeCase, dtype: DType, seed: UInt64, blockSize: Int = 16) throws
        -> (KVCache, PagedKVCache, [Int])
    {
        let dv = c.dv ?? c.d
        var cache = try KVCache(
            batch: c.lengths.count, kvHeads: c.hkv, headDim: c.d, valueDim: dv, capacity: 100,
            pageTokens: 77, dtype: dtype)
        var paged = try PagedKVCache(
            kvHeads: c.hkv, headDim: c.d, valueDim: dv, blockSize: blockSize,
            blockCount: c.lengths.reduce(0) { $0 + ($1 + blockSize - 1) / blockSize + 1 },
            dtype: dtype)
        var ids: [Int] = []
        for (b, length) in c.lengths.enumerated() {
            let id = paged.addSequence()
            ids.append(id)
            let first = length / 3
            for (i, part) in [0..<first, first..<length].enumerated() {
                let k = Tensor.randomNormal(
                    [c.hkv, part.count, c.d], seed: seed &+ UInt64(10 * b + i))
                let v = Tensor.randomNormal(
                    [c.hkv, part.count, dv], seed: seed &+ UInt64(10 * b + i + 5))
                try cache.append(keys: k, values: v, sequence: b)
                try paged.append(keys: k, values: v, sequence: id)
            }
        }
        return (cache, paged, ids)
    }

    /// Whether `execution` decodes a bf16 cache in bf16 pairs (query and P rounded to bf16).
    static func decodesInPairs(_ dtype: DType, _ execution: ExecutionOptions) throws -> Bool {
        try dtype == .bf16 && execution.resolved().half.decodesInPairs
    }

    /// The bf16-pair path's tolerance, normwise relative (max |out − ref| / max |ref|): that of
    /// the fused forward's bf16 tile products, 2× the error of PyTorch's bf16 SDPA
    /// (ReducedPrecisionAttentionTests).
    static let pairTolerance = ReducedPrecisionAttentionTests.tolerance[.bf16]!
    /// Set DECODE_PAIR_ERRORS=1 to print each bf16-pair check's errors.
    static let reportPairErrors = ProcessInfo.processInfo.environment["DECODE_PAIR_ERRORS"] != nil

    /// Decodes case `c` from a contiguous and a paged cache and compares both with the
    /// oracle: within 2e-5 on the fp32-product paths, within ``pairTolerance`` (normwise) on
    /// the bf16-pair path. Returns the contiguous output.
    @discardableResult
    func check(
        _ c: DecodeCase, dtype: DType = .f32, causal: Bool = true, window: Int? = nil,
        alibi: ALiBi.Form? = nil, threads: Int = 2, seed: UInt64 = 1,
        instructionSet: InstructionSet? = nil, halfKernel: ReducedPrecisionKernel? = nil,
        queryDType: DType = .f32, blockSize: Int = 16
    ) throws -> Tensor {
        let (cache, paged, ids) = try Self.filled(c, dtype: dtype, seed: seed, blockSize: blockSize)
        let h = c.hkv * c.group
        let q = Tensor.randomNormal([c.lengths.count, h, c.sq, c.d], seed: seed &+ 99)
            .converted(to: queryDType)
        let slopes = try alibi.map { try ALiBi(heads: h, form: $0) }
        let execution = ExecutionOptions(
            threads: threads, instructionSet: instructionSet, reducedPrecisionKernel: halfKernel)
        let options = DecodeOptions(
            causal: causal, window: window, alibi: slopes, execution: execution)
        let stored = try (0..<c.lengths.count).map { try cache.stored(sequence: $0) }
        let oracle = decodeOracle(
            query: q, stored: stored, starts: Array(repeating: 0, count: c.lengths.count),
            lengths: c.lengths, causal: causal, window: window, alibi: slopes)
        let out = try decodeAttention(query: q, cache: cache, options: options)
        let outPaged = try decodeAttention(query: q, cache: paged, sequences: ids, options: options)
        #expect(out.shape == [c.lengths.count, h, c.sq, c.dv ?? c.d])
        if try Self.decodesInPairs(dtype, execution) {
            let (e, ePaged) = (maxRelativeError(out, oracle), maxRelativeError(outPaged, oracle))
            #expect(e <= Self.pairTolerance, "\(c) bf16 pairs contiguous: \(e)")
            #expect(ePaged <= Self.pairTolerance, "\(c) bf16 pairs paged/\(blockSize): \(ePaged)")
            if Self.reportPairErrors { print("decode bf16 pairs \(c): \(e) / paged \(ePaged)") }
        } else {
            // Float accumulation over ≤ 2500 keys of O(1) values against the Double oracle.
            let tolerance = 2e-5
            #expect(
                maxError(out, oracle) <= tolerance,
                "\(c) \(dtype) contiguous: \(maxError(out, oracle))")
            #expect(
                maxError(outPaged, oracle) <= tolerance,
                "\(c) \(dtype) paged: \(maxError(outPaged, oracle))")
        }
        return out
    }

    @Test(arguments: cases.indices) func matchesOracle(_ i: Int) throws {
        try check(Self.cases[i])
        try check(Self.cases[i], threads: 1)
        try check(Self.cases[i], causal: false)
    }

    @Test(arguments: cases.indices) func masksMatchOracle(_ i: Int) throws {
        try check(Self.cases[i], window: 50)
        try check(Self.cases[i], alibi: .causal)
        try check(Self.cases[i], causal: false, alibi: .symmetric)
        try check(Self.cases[i], window: 7, alibi: .causal)
    }

    @Test(arguments: [DType.bf16, .f16], [1, 3, 4])
    func halfCachesMatchOracle(_ dtype: DType, _ i: Int) throws {
        try check(Self.cases[i], dtype: dtype)
        try check(Self.cases[i], dtype: dtype, window: 33, alibi: .causal)
        // The widening (fp32-product) path, whatever the default on this CPU.
        try check(Self.cases[i], dtype: dtype, halfKernel: .portable)
    }

    /// Every kernel variant this CPU has (AVX-512, AVX2, portable), every element type.
    @Test(arguments: InstructionSet.supported) func everyVariant(_ isa: InstructionSet) throws {
        for dtype in DType.allCases {
            try check(Self.cases[3], dtype: dtype, window: 100, alibi: .causal, instructionSet: isa)
            try check(Self.cases[4], dtype: dtype, instructionSet: isa)
        }
    }

    /// Each query-length 1…16 on a length that is not a multiple of the tile, chunk or block.
    @Test func everyQueryLength() throws {
        for sq in 1...16 {
            try check(
                DecodeCase(lengths: [45, 290], hkv: 2, group: 4, sq: sq, d: 48), seed: UInt64(sq))
        }
    }

    /// Chunks split across threads: a long sequence whose chunks end mid-tile and mid-block.
    @Test func longSequenceManyChunks() throws {
        try check(DecodeCase(lengths: [9001], hkv: 1, group: 4, sq: 1, d: 16), threads: 3)
    }

    @Test func emptyCacheGivesZeros() throws {
        let cache = try KVCache(batch: 2, kvHeads: 2, headDim: 8, capacity: 0)
        let q = Tensor.randomNormal([2, 4, 3, 8], seed: 1)
        let out = try decodeAttention(query: q, cache: cache)
        #expect(out.shape == [2, 4, 3, 8])
        #expect(out.scalars.allSatisfy { $0 == 0 })
        // One empty sequence in a batch: its rows are zeros, the other's match the oracle.
        var mixed = try KVCache(batch: 2, kvHeads: 2, headDim: 8, capacity: 4)
        try mixed.append(
            keys: .randomNormal([2, 5, 8], seed: 2), values: .randomNormal([2, 5, 8], seed: 3),
            sequence: 1)
        let out2 = try decodeAttention(query: q, cache: mixed)
        let oracle = decodeOracle(
            query: q, stored: try (0..<2).map { try mixed.stored(sequence: $0) }, starts: [0, 0],
            lengths: mixed.lengths)
        #expect(maxError(out2, oracle) <= 1e-6)
        #expect(out2.scalars[0..<(4 * 3 * 8)].allSatisfy { $0 == 0 })
        var paged = try PagedKVCache(kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 0)
        let id = paged.addSequence()
        let out3 = try decodeAttention(
            query: q.sliced(axis: 0, range: 0..<1), cache: paged, sequences: [id])
        #expect(out3.scalars.allSatisfy { $0 == 0 })
    }

    /// Appending past the capacity adds pages; earlier pages keep their address and contents.
    @Test func growingKeepsEarlierPages() throws {
        var cache = try KVCache(batch: 1, kvHeads: 2, headDim: 4, capacity: 10, pageTokens: 6)
        let k = Tensor.randomNormal([1, 2, 30, 4], seed: 5),
            v = Tensor.randomNormal([1, 2, 30, 4], seed: 6)
        try cache.append(
            keys: k.sliced(axis: 2, range: 0..<8), values: v.sliced(axis: 2, range: 0..<8))
        let before = cache.pageAddresses
        #expect(before.count == 1 && cache.capacity == 10)
        try cache.append(
            keys: k.sliced(axis: 2, range: 8..<30), values: v.sliced(axis: 2, range: 8..<30))
        #expect(cache.capacity == 10 + 4 * 6)
        #expect(Array(cache.pageAddresses.prefix(1)) == before)
        let stored = try cache.stored(sequence: 0)
        #expect(try stored.keys.scalars == k.reshaped([2, 30, 4]).scalars)
        #expect(try stored.values.scalars == v.reshaped([2, 30, 4]).scalars)
        // Growing again leaves the second generation of pages where it was too.
        let grown = cache.pageAddresses
        try cache.append(
            keys: k.sliced(axis: 2, range: 0..<12), values: v.sliced(axis: 2, range: 0..<12))
        #expect(Array(cache.pageAddresses.prefix(grown.count)) == grown)
        // A copy shares pages until it writes; the original is untouched by the copy's append.
        var copy = cache
        try copy.append(
            keys: k.sliced(axis: 2, range: 0..<1), values: v.sliced(axis: 2, range: 0..<1))
        #expect(try cache.stored(sequence: 0).keys.shape == [2, 42, 4])
        #expect(try copy.stored(sequence: 0).keys.shape == [2, 43, 4])
        #expect(copy.pageAddresses.first == cache.pageAddresses.first)
    }

    @Test func slidingWindowHoldsOnlyW() throws {
        let w = 16
        var cache = try KVCache(batch: 2, kvHeads: 2, headDim: 8, window: w)
        let k = Tensor.randomNormal([2, 2, 100, 8], seed: 7),
            v = Tensor.randomNormal([2, 2, 100, 8], seed: 8)
        var appended = 0
        for step in [3, 20, 1, 1, 40, 35] {
            try cache.append(
                keys: k.sliced(axis: 2, range: appended..<(appended + step)),
                values: v.sliced(axis: 2, range: appended..<(appended + step)))
            appended += step
            #expect(cache.capacity == w)
            #expect(cache.storedRange(sequence: 0).count == min(appended, w))
            let stored = try cache.stored(sequence: 1)
            #expect(stored.keys.shape[1] <= w)
            let lo = max(0, appended - w)
            #expect(
                try stored.keys.scalars
                    == k.sliced(axis: 0, range: 1..<2).sliced(axis: 2, range: lo..<appended)
                    .contiguous().scalars)
            // Decoding one token sees exactly the window, through the ring's wrap.
            let q = Tensor.randomNormal([2, 4, 1, 8], seed: UInt64(appended))
            let out = try decodeAttention(query: q, cache: cache)
            let oracle = decodeOracle(
                query: q, stored: try (0..<2).map { try cache.stored(sequence: $0) },
                starts: [lo, lo], lengths: cache.lengths, window: w)
            #expect(maxError(out, oracle) <= 1e-5)
        }
        // Sq = 4 needs W + 3 positions for its first query: refused, naming the window;
        // a window of W − 3 fits.
        let q4 = Tensor.randomNormal([2, 4, 4, 8], seed: 1)
        #expect(throws: AttentionError.self) { try decodeAttention(query: q4, cache: cache) }
        do { _ = try decodeAttention(query: q4, cache: cache) } catch let e as AttentionError {
            #expect(e.argument == "window")
        }
        let out = try decodeAttention(
            query: q4, cache: cache, options: DecodeOptions(window: w - 3))
        let oracle = decodeOracle(
            query: q4, stored: try (0..<2).map { try cache.stored(sequence: $0) },
            starts: [appended - w, appended - w], lengths: cache.lengths, window: w - 3)
        #expect(maxError(out, oracle) <= 1e-5)
    }

    @Test func pagedBlocksReturnToThePool() throws {
        var cache = try PagedKVCache(kvHeads: 1, headDim: 4, blockSize: 4, blockCount: 5)
        let a = cache.addSequence(), b = cache.addSequence()
        let x = Tensor.randomNormal([1, 9, 4], seed: 1)
        try cache.append(keys: x, values: x, sequence: a)  // 3 blocks
        #expect(cache.freeBlockCount == 2)
        // Too few blocks: refused, nothing changes.
        #expect(throws: AttentionError.self) { try cache.append(keys: x, values: x, sequence: b) }
        #expect(try cache.length(sequence: b) == 0 && cache.freeBlockCount == 2)
        try cache.trim(sequence: a, to: 5)
        #expect(try cache.freeBlockCount == 3 && cache.blockTable(sequence: a).count == 2)
        try cache.free(sequence: a)
        #expect(cache.freeBlockCount == 5)
        #expect(throws: AttentionError.self) { try cache.length(sequence: a) }
        try cache.append(keys: x, values: x, sequence: b)
        #expect(try cache.stored(sequence: b).keys.scalars == x.scalars)
    }

    @Test func badInputNamesTheArgument() throws {
        let cache = try KVCache(batch: 1, kvHeads: 2, headDim: 8, capacity: 4)
        let paged = try PagedKVCache(kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 2)
        var c = cache
        let q = Tensor.zeros([1, 4, 1, 8])
        let cases: [(String, () throws -> Void)] = [
            ("query", { _ = try decodeAttention(query: .zeros([1, 3, 1, 8]), cache: cache) }),
            ("query", { _ = try decodeAttention(query: .zeros([2, 4, 1, 8]), cache: cache) }),
            (
                "window",
                {
                    _ = try decodeAttention(
                        query: q, cache: cache, options: DecodeOptions(window: 0))
                }
            ),
            (
                "scale",
                {
                    _ = try decodeAttention(
                        query: q, cache: cache, options: DecodeOptions(scale: .nan))
                }
            ),
            (
                "threads",
                {
                    _ = try decodeAttention(
                        query: q, cache: cache,
                        options: DecodeOptions(execution: ExecutionOptions(threads: 0)))
                }
            ),
            ("keys", { try c.append(keys: .zeros([1, 2, 3, 7]), values: .zeros([1, 2, 3, 8])) }),
            (
                "values",
                { try c.append(keys: .zeros([1, 2, 3, 8]), values: .zeros([1, 2, 2, 8])) }
            ),
            (
                "sequence",
                { try c.append(keys: .zeros([2, 3, 8]), values: .zeros([2, 3, 8]), sequence: 1) }
            ),
            ("length", { try c.trim(to: 5) }),
            ("batch", { _ = try KVCache(batch: 0, kvHeads: 1, headDim: 1, capacity: 1) }),
            ("window", { _ = try KVCache(batch: 1, kvHeads: 1, headDim: 1, window: 0) }),
            (
                "capacity",
                { _ = try KVCache(batch: 1 << 40, kvHeads: 1 << 20, headDim: 8, capacity: 1 << 20) }
            ),
            ("sequences", { _ = try decodeAttention(query: q, cache: paged, sequences: [3]) }),
        ]
        for (expected, body) in cases {
            var argument: String? = nil
            do { try body() } catch let e as AttentionError { argument = e.argument }
            #expect(argument == expected)
        }
    }

    @Test func halfConversionRoundsToNearestEven() {
        enum C {
            static func bfloat16Bits(_ x: Float) -> UInt16 { DType.bf16.bits(x) }
            static func float16Bits(_ x: Float) -> UInt16 { DType.f16.bits(x) }
            static func float(bfloat16 b: UInt16) -> Float { DType.bf16.float(b) }
            static func float(float16 b: UInt16) -> Float { DType.f16.float(b) }
        }
        // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 → 1 (even);
        // 1 + 3·2^-8 ties between 1 + 2^-7 (odd) and 1 + 2^-6 → 1 + 2^-6.
        #expect(C.float(bfloat16: C.bfloat16Bits(1 + 0x1p-8)) == 1)
        #expect(C.float(bfloat16: C.bfloat16Bits(1 + 3 * 0x1p-8)) == 1 + 0x1p-6)
        #expect(C.float(bfloat16: C.bfloat16Bits(1 + 0x1p-8 + 0x1p-20)) == 1 + 0x1p-7)
        #expect(C.float(bfloat16: C.bfloat16Bits(.nan)).isNaN)
        #expect(C.float(bfloat16: C.bfloat16Bits(-.infinity)) == -.infinity)
        // f16: 11 significant bits, max 65504, smallest subnormal 2^-24.
        #expect(C.float(float16: C.float16Bits(1 + 0x1p-11)) == 1)
        #expect(C.float(float16: C.float16Bits(1 + 3 * 0x1p-11)) == 1 + 0x1p-9)
        #expect(C.float(float16: C.float16Bits(65504)) == 65504)
        #expect(C.float(float16: C.float16Bits(65520)) == .infinity)
        #expect(C.float(float16: C.float16Bits(65519)) == 65504)
        #expect(C.float(float16: C.float16Bits(0x1p-24)) == 0x1p-24)
        #expect(C.float(float16: C.float16Bits(0x1p-25)) == 0)  // tie → even (0)
        #expect(C.float(float16: C.float16Bits(3 * 0x1p-25)) == 0x1p-23)
        #expect(C.float(float16: C.float16Bits(-2.5)) == -2.5)
        #expect(C.float(float16: C.float16Bits(.nan)).isNaN)
        // Every f16 bit pattern survives f16 → f32 → f16 (NaNs stay NaN).
        let mismatches = (UInt16.min...UInt16.max).filter { bits in
            let f = C.float(float16: bits)
            return !f.isNaN && C.float16Bits(f) != bits
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }
}

@Suite struct MultiHeadAttentionDecodeTests {
    /// max |a − b| / max |b| over all elements.
    func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        let x = a.scalars, y = b.scalars
        let scale = y.map { abs(Double($0)) }.max() ?? 1
        return zip(x, y).map { abs(Double($0) - Double($1)) }.max()! / scale
    }

    /// Prefill P positions, then N single steps (the cache grows past its capacity, sequences
    /// at one offset): the same outputs as one causal call over P + N positions, with RoPE and
    /// grouped-query attention.
    @Test(arguments: [(8, 8), (8, 2), (4, 1)])
    func prefillThenStepsEqualsOneCausalCall(_ heads: (Int, Int)) throws {
        let (e, p, n, b) = (64, 13, 7, 2)
        var mha = try MultiHeadAttention(
            dimensions: e, numHeads: heads.0, seed: 3, numKVHeads: heads.1)
        mha.rope = try RoPE(dimensions: e / heads.0)
        let x = Tensor.randomNormal([b, p + n, e], seed: 4)
        let full = try mha(x, isCausal: true)
        var cache = try KVCache(
            batch: b, kvHeads: heads.1, headDim: e / heads.0, capacity: 8, pageTokens: 5)
        let prefill = try mha(x.sliced(axis: 1, range: 0..<p), cache: &cache)
        #expect(try relativeError(prefill, full.sliced(axis: 1, range: 0..<p)) <= 1e-5)
        for i in p..<(p + n) {
            let y = try mha(x.sliced(axis: 1, range: i..<(i + 1)), cache: &cache)
            let error = try relativeError(y, full.sliced(axis: 1, range: i..<(i + 1)))
            #expect(error <= 1e-5, "step \(i): \(error)")
        }
        #expect(cache.lengths == [p + n, p + n])
    }

    /// Sequences at different offsets (continuous batching): each sequence's step equals its
    /// own causal call.
    @Test func sequencesAtDifferentOffsets() throws {
        let e = 32
        var mha = try MultiHeadAttention(dimensions: e, numHeads: 4, seed: 5, numKVHeads: 2)
        mha.rope = try RoPE(dimensions: 8)
        let x = Tensor.randomNormal([2, 9, e], seed: 6)
        var cache = try KVCache(batch: 2, kvHeads: 2, headDim: 8, capacity: 16)
        // Sequence 0 gets 5 positions of its own first; then both get one step.
        let x0 = try x.sliced(axis: 0, range: 0..<1)
        var solo = try KVCache(batch: 1, kvHeads: 2, headDim: 8, capacity: 16)
        _ = try mha(x0.sliced(axis: 1, range: 0..<5), cache: &solo)
        try cache.append(
            keys: try solo.stored(sequence: 0).keys, values: try solo.stored(sequence: 0).values,
            sequence: 0)
        let step = try Tensor(
            shape: [2, 1, e],
            scalars: try x0.sliced(axis: 1, range: 5..<6).scalars
                + x.sliced(axis: 0, range: 1..<2).sliced(axis: 1, range: 0..<1).scalars)
        let y = try mha(step, cache: &cache)
        let full0 = try mha(x0.sliced(axis: 1, range: 0..<6), isCausal: true)
        let full1 = try mha(
            x.sliced(axis: 0, range: 1..<2).sliced(axis: 1, range: 0..<1), isCausal: true)
        #expect(
            try relativeError(y.sliced(axis: 0, range: 0..<1), full0.sliced(axis: 1, range: 5..<6))
                <= 1e-5)
        #expect(try relativeError(y.sliced(axis: 0, range: 1..<2), full1) <= 1e-5)
        #expect(cache.lengths == [6, 1])
    }

    @Test func badInputNamesTheArgument() throws {
        let mha = try MultiHeadAttention(dimensions: 32, numHeads: 4, numKVHeads: 2)
        var cache = try KVCache(batch: 1, kvHeads: 4, headDim: 8, capacity: 4)
        var argument: String? = nil
        do { _ = try mha(.zeros([1, 1, 32]), cache: &cache) } catch let e as AttentionError {
            argument = e.argument
        }
        #expect(argument == "cache")
        #expect(cache.lengths == [0])
        do { _ = try MultiHeadAttention(dimensions: 32, numHeads: 4, numKVHeads: 3) } catch let e
            as AttentionError
        {
            argument = e.argument
        }
        #expect(argument == "numKVHeads")
    }
}

/// Caches larger than the machine can hold throw an error naming the argument instead of
/// trapping in the allocator (or meeting the OOM killer when written).
struct KVCacheAllocationTests {
    /// 2²⁷ positions × (2²⁰ + 2²⁰) f32 elements: 1 PiB, more than any machine's memory.
    @Test func oversizedCachesThrow() throws {
        #expect {
            _ = try KVCache(batch: 1, kvHeads: 1, headDim: 1 << 20, capacity: 1 << 27)
        } throws: { ($0 as? AttentionError)?.argument == "capacity" }
        #expect {
            _ = try PagedKVCache(
                kvHeads: 1, headDim: 1 << 20, blockSize: 1 << 7, blockCount: 1 << 20)
        } throws: { ($0 as? AttentionError)?.argument == "blockCount" }
        // Growing by a page that cannot be allocated: the append throws, nothing changes.
        var cache = try KVCache(
            batch: 1, kvHeads: 1, headDim: 1 << 20, capacity: 1, pageTokens: 1 << 27)
        let k = Tensor.randomNormal([1, 1, 1, 1 << 20], seed: 1)
        try cache.append(keys: k, values: k)
        let two = Tensor.randomNormal([1, 1, 2, 1 << 20], seed: 2)
        #expect {
            try cache.append(keys: two, values: two)
        } throws: { ($0 as? AttentionError)?.argument == "keys" }
        #expect(cache.lengths == [1] && cache.capacity == 1)
        let stored = try cache.stored(sequence: 0)
        #expect(stored.keys.scalars == k.scalars)
    }

    /// A page that fits alone but not with what the growing cache already holds is refused
    /// (a cache's pages together may not pass the allocation ceiling either).
    @Test func pagesCountWhatTheCacheHolds() throws {
        let ceiling = Int(clamping: MemoryBudget.allocationCeiling().bytes)
        func page(besides held: Int) throws -> KVPage {
            try KVPage(
                units: 1, heads: 1, tokens: 4, headDim: 8, valueDim: 8, dtype: .f32,
                alreadyHeld: held, argument: "keys")
        }
        #expect(try page(besides: 0).storageBytes == 4 * 16 * 4)
        #expect(try page(besides: ceiling - 256).storageBytes == 256)
        #expect {
            _ = try page(besides: ceiling - 255)
        } throws: {
            let e = $0 as? AttentionError
            return e?.argument == "keys" && e?.message.contains("besides") == true
        }
        #expect { _ = try page(besides: Int.max) } throws: { ($0 as? AttentionError) != nil }
    }

    /// Copy-on-write before the first write, for a sliding-window (ring) cache as for a
    /// growing one: appending to a copy leaves the original's contents alone.
    @Test func copiesDoNotShareWrites() throws {
        for window in [nil, 5] as [Int?] {
            var cache =
                try window.map { try KVCache(batch: 2, kvHeads: 1, headDim: 4, window: $0) }
                ?? KVCache(batch: 2, kvHeads: 1, headDim: 4, capacity: 3, pageTokens: 2)
            let k = Tensor.randomNormal([2, 1, 4, 4], seed: 3)
            try cache.append(keys: k, values: k)
            let before = try cache.stored(sequence: 1)
            var copy = cache
            let other = Tensor.randomNormal([1, 3, 4], seed: 4)
            try copy.append(keys: other, values: other, sequence: 1)
            let after = try cache.stored(sequence: 1)
            #expect(after.keys.scalars == before.keys.scalars, "window \(window ?? 0)")
            #expect(after.values.scalars == before.values.scalars, "window \(window ?? 0)")
            #expect(try copy.stored(sequence: 1).keys.scalars != before.keys.scalars)
        }
    }
}
