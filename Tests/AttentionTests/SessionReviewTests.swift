import Foundation
import Testing

@testable import Attention

/// A review of the session's bf16 backward (tile products and widening), the bf16 decode in
/// pairs and the decode layer overloads, on awkward inputs: every head width from 1 to 256
/// that the pair paths either take (multiples of 16) or must fall back from, Sq ≠ Sk, Sk = 1,
/// key counts below one tile, GQA ratios 1…8, permuted bf16 views, batches of very
/// different lengths, windows wider than the cache, ALiBi, non-finite inputs, 1 and 2 threads
/// and concurrent callers. Oracles and tolerances are the suites' own: the Double backward
/// (``DoubleAttention``) within ``ReducedPrecisionBackwardTests/tolerance``, the Double
/// decode (``decodeOracle``) within ``DecodeAttentionTests/pairTolerance`` on the pair path
/// and 2e-5 on the widening one.
@Suite struct SessionReviewTests {
    static let headDims = [1, 2, 15, 16, 17, 31, 33, 48, 80, 96, 112, 128, 160, 256]
    /// The default bf16 kernel (tile products where the CPU has them) and the widening one.
    static let kernels: [ReducedPrecisionKernel?] = [nil, .portable]

    let backward = ReducedPrecisionBackwardTests()
    let decode = DecodeAttentionTests()

    // MARK: bf16 backward

    /// Every head width (value width the same, and a different one) through both bf16
    /// kernels, small tiles (several query and key blocks, ragged last ones), Sq ≠ Sk both
    /// ways, one and two passes.
    @Test(arguments: headDims)
    func bf16BackwardHeadDims(d: Int) throws {
        for kernel in Self.kernels {
            for threads in [1, 2] {
                let e = ExecutionOptions(
                    threads: threads, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel)
                try backward.check(
                    Case(h: 2, hkv: 1, sq: 13, sk: 41, d: d), dtype: .bf16,
                    mask: .causalFromBottomRight, backend: .fused, execution: e)
                try backward.check(
                    Case(b: 2, h: 2, hkv: 2, sq: 37, sk: 7, d: d, dv: d % 16 == 0 ? 48 : 9),
                    dtype: .bf16, mask: .none, backend: .fused, execution: e)
            }
        }
    }

    /// Sk = 1, Sq = 1, Sk below one key tile, default and small tiles, at a pair width (64)
    /// and an odd one (17), under every structured mask.
    ///
    /// Bound: the bf16 tolerance, or 2× the error of the fp32 backward on the same rounded
    /// inputs *and the same bf16 output*, whichever is larger. With a row that sees one or
    /// two keys, `dP − D` cancels and `D = rowsum(dO ∘ O)` inherits the rounding of the
    /// forward's bf16 output (as in PyTorch): at 1×9, d 17, window (2, 1) the fp32 backward
    /// given that output is already 1.9e-2 off in dK (1.4e-7 given the exact output).
    @Test(arguments: [(1, 1), (1, 9), (9, 1), (5, 5), (30, 5), (5, 70), (100, 3)])
    func bf16BackwardShortSequences(sq: Int, sk: Int) throws {
        for kernel in Self.kernels {
            for d in [17, 64] {
                for e in [
                    ExecutionOptions(threads: 2, reducedPrecisionKernel: kernel),
                    ExecutionOptions(
                        threads: 2, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel),
                ] {
                    for mask in [
                        AttentionMask.none, .causal, .causalFromBottomRight,
                        .slidingWindow(left: 2, right: 1),
                    ] {
                        try checkAgainstRoundedOutput(
                            Case(h: 2, hkv: 1, sq: sq, sk: sk, d: d), mask: mask, execution: e)
                    }
                }
            }
        }
    }

    /// The bf16 backward against the Double oracle within the bf16 tolerance or 2× the
    /// error of the fp32 backward given the same (bf16) forward output.
    func checkAgainstRoundedOutput(_ c: Case, mask: AttentionMask, execution: ExecutionOptions)
        throws
    {
        var (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: 3)
        (q, k, v) = (q.converted(to: .bf16), k.converted(to: .bf16), v.converted(to: .bf16))
        let dO = Tensor.randomNormal([c.b, c.h, c.sq, c.dv ?? c.d], seed: 13).converted(to: .bf16)
        let options = AttentionOptions(mask: mask, returnLogSumExp: true, execution: execution)
        let fw = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let got = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: fw.output,
            logSumExp: fw.logSumExp!, options: options)
        let wide = try scaledDotProductAttentionBackward(
            gradOutput: dO.converted(to: .f32), query: q.converted(to: .f32),
            key: k.converted(to: .f32), value: v.converted(to: .f32),
            output: fw.output.converted(to: .f32), logSumExp: fw.logSumExp!, options: options)
        let want = DoubleAttention(
            query: q, key: k, value: v, mask: mask, scale: nil, alibi: nil, dropout: 0, seed: 0
        ).backward(dO.scalars.map(Double.init))
        for (name, g, w, expected) in [
            ("gradQuery", got.gradQuery, wide.gradQuery, want.q),
            ("gradKey", got.gradKey, wide.gradKey, want.k),
            ("gradValue", got.gradValue, wide.gradValue, want.v),
        ] {
            #expect(g.dtype == .bf16)
            let error = normwiseError(g.scalars.map(Double.init), expected)
            let baseline = normwiseError(w.scalars.map(Double.init), expected)
            let bound = Swift.max(ReducedPrecisionBackwardTests.tolerance[.bf16]!, 2 * baseline)
            #expect(error <= bound, "\(c) \(mask) \(name): \(error) (fp32 given O: \(baseline))")
        }
    }

    /// GQA 1, 2, 4 and 8 query heads per key/value head, with ALiBi and a custom scale.
    @Test(arguments: [8, 4, 2, 1])
    func bf16BackwardGroups(hkv: Int) throws {
        for kernel in Self.kernels {
            let e = ExecutionOptions(
                threads: 2, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel)
            for d in [16, 33] {
                try backward.check(
                    Case(h: 8, hkv: hkv, sq: 19, sk: 27, d: d), dtype: .bf16, mask: .causal,
                    backend: .fused, execution: e,
                    features: .init(scale: 0.7, alibi: true))
            }
        }
    }

    /// Every operand a permuted view (`[B, S, H, D]` storage seen as `[B, H, S, D]`), the
    /// output gradient and output too: the gradients equal those of the contiguous call bit
    /// for bit (the kernels read rows; only their addresses differ), and match the oracle.
    @Test(arguments: [16, 17, 48, 128])
    func bf16BackwardPermutedOperands(d: Int) throws {
        for kernel in Self.kernels {
            let e = ExecutionOptions(
                threads: 2, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel)
            try backward.check(
                Case(b: 2, h: 4, hkv: 2, sq: 29, sk: 45, d: d), dtype: .bf16, mask: .causal,
                backend: .fused, execution: e, strided: true)
            let (q, k, v) = randomQKV(b: 2, h: 4, hkv: 2, sq: 29, sk: 45, d: d, seed: 41)
            let dO = Tensor.randomNormal([2, 4, 29, d], seed: 42)
            let options = AttentionOptions(
                mask: .causal, returnLogSumExp: true, execution: e)
            func permuted(_ t: Tensor) -> Tensor {
                t.converted(to: .bf16).transposed(1, 2).contiguous().transposed(1, 2)
            }
            func gradients(_ f: (Tensor) -> Tensor) throws -> AttentionGradients {
                let (q, k, v, dO) = (f(q), f(k), f(v), f(dO))
                let fw = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
                return try scaledDotProductAttentionBackward(
                    gradOutput: dO, query: q, key: k, value: v, output: f(fw.output),
                    logSumExp: fw.logSumExp!, options: options)
            }
            let plain = try gradients { $0.converted(to: .bf16) }
            let strided = try gradients(permuted)
            #expect(
                strided.gradQuery.scalars == plain.gradQuery.scalars,
                "d\(d) \(String(describing: kernel)) dQ")
            #expect(strided.gradKey.scalars == plain.gradKey.scalars, "d\(d) dK")
            #expect(strided.gradValue.scalars == plain.gradValue.scalars, "d\(d) dV")
        }
    }

    /// One thread and two (and three) give the same bits when they take the same pass
    /// structure (one pass when B·Hkv ≥ 2·threads), and the two-pass results agree with the
    /// one-pass ones within the bf16 bound.
    @Test(arguments: [16, 17, 64])
    func bf16BackwardThreads(d: Int) throws {
        for kernel in Self.kernels {
            let (q, k, v) = randomQKV(b: 3, h: 4, hkv: 2, sq: 50, sk: 61, d: d, seed: 51)
            let (qb, kb, vb) = (
                q.converted(to: .bf16), k.converted(to: .bf16), v.converted(to: .bf16)
            )
            let dO = Tensor.randomNormal([3, 4, 50, d], seed: 52).converted(to: .bf16)
            func run(_ threads: Int) throws -> [[Float]] {
                let options = AttentionOptions(
                    mask: .causalFromBottomRight, returnLogSumExp: true,
                    execution: ExecutionOptions(
                        threads: threads, queryBlock: 12, keyBlock: 32,
                        reducedPrecisionKernel: kernel))
                let fw = try scaledDotProductAttention(
                    query: qb, key: kb, value: vb, options: options)
                let g = try scaledDotProductAttentionBackward(
                    gradOutput: dO, query: qb, key: kb, value: vb, output: fw.output,
                    logSumExp: fw.logSumExp!, options: options)
                return [g.gradQuery.scalars, g.gradKey.scalars, g.gradValue.scalars]
            }
            // B·Hkv = 6: one pass for 1, 2 and 3 threads.
            let one = try run(1), two = try run(2), three = try run(3)
            #expect(one == two, "d\(d) \(String(describing: kernel)): 1 vs 2 threads")
            #expect(one == three, "d\(d) \(String(describing: kernel)): 1 vs 3 threads")
            // 4 threads: two passes (dQ per query block); same within the bf16 bound.
            let four = try run(4)
            for i in 0..<3 {
                let error = normwiseError(four[i].map(Double.init), one[i].map(Double.init))
                #expect(error <= ReducedPrecisionBackwardTests.tolerance[.bf16]!, "\(i): \(error)")
            }
        }
    }

    /// A NaN query row and an infinite key in a permuted (non-contiguous) bf16 call: the
    /// same gradients, NaN and finite, as the contiguous call (the non-finite screen's rows
    /// must be zeroed for the products whatever the layout).
    @Test(arguments: kernels)
    func bf16BackwardNonFinitePermuted(kernel: ReducedPrecisionKernel?) throws {
        let (sq, sk, d) = (20, 20, 16)
        var (q, k, v) = randomQKV(b: 1, h: 2, sq: sq, sk: sk, d: d, seed: 61)
        q[0, 0, 12, 3] = .nan
        k[0, 1, 15, 0] = .infinity
        let dO = Tensor.randomNormal([1, 2, sq, d], seed: 62)
        let options = AttentionOptions(
            mask: .slidingWindow(left: 2, right: 0), returnLogSumExp: true,
            execution: ExecutionOptions(
                threads: 2, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel))
        func gradients(_ dtype: DType, permuted: Bool) throws -> AttentionGradients {
            func f(_ t: Tensor) -> Tensor {
                let t = t.converted(to: dtype)
                return permuted ? t.transposed(1, 2).contiguous().transposed(1, 2) : t
            }
            let (q, k, v, dO) = (f(q), f(k), f(v), f(dO))
            let fw = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            return try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: fw.output,
                logSumExp: fw.logSumExp!, options: options)
        }
        for dtype in [DType.f32, .bf16] {
            let plain = try gradients(dtype, permuted: false)
            let strided = try gradients(dtype, permuted: true)
            for (name, a, b) in [
                ("gradQuery", strided.gradQuery, plain.gradQuery),
                ("gradKey", strided.gradKey, plain.gradKey),
                ("gradValue", strided.gradValue, plain.gradValue),
            ] {
                let (x, y) = (a.scalars, b.scalars)
                #expect(
                    zip(x, y).allSatisfy { $0.isNaN == $1.isNaN },
                    "\(dtype) \(name): NaN at \(x.filter(\.isNaN).count) vs \(y.filter(\.isNaN).count) places"
                )
                #expect(
                    zip(x, y).allSatisfy { $0.isNaN || $0 == $1 }, "\(dtype) \(name): values differ"
                )
            }
        }
    }

    /// Empty and fully masked problems: the gradients are allocated uninitialized and
    /// written by their tasks, so every element must still be written (zeros), in both
    /// bf16 kernels, one and two passes.
    @Test(arguments: kernels)
    func bf16BackwardEmptyAndFullyMasked(kernel: ReducedPrecisionKernel?) throws {
        for threads in [1, 2] {
            let e = ExecutionOptions(
                threads: threads, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel)
            for (sq, sk, mask) in [
                (0, 9, AttentionMask.none), (9, 0, .none), (0, 0, .none),
                (25, 40, .dense(try Tensor(shape: [25, 40], repeating: 0))),
            ] {
                let (q, k, v) = randomQKV(b: 2, h: 2, hkv: 1, sq: sq, sk: sk, d: 32, seed: 111)
                let (qb, kb, vb) = (
                    q.converted(to: .bf16), k.converted(to: .bf16), v.converted(to: .bf16)
                )
                let dO = Tensor.randomNormal([2, 2, sq, 32], seed: 112).converted(to: .bf16)
                let options = AttentionOptions(
                    mask: mask, returnLogSumExp: true, execution: e)
                let fw = try scaledDotProductAttention(
                    query: qb, key: kb, value: vb, options: options)
                let g = try scaledDotProductAttentionBackward(
                    gradOutput: dO, query: qb, key: kb, value: vb, output: fw.output,
                    logSumExp: fw.logSumExp!, options: options)
                #expect(g.gradQuery.shape == q.shape && g.gradKey.shape == k.shape)
                #expect(g.gradValue.shape == v.shape)
                for t in [g.gradQuery, g.gradKey, g.gradValue] {
                    #expect(t.dtype == .bf16)
                    #expect(
                        t.scalars.allSatisfy { $0 == 0 }, "\(sq)×\(sk) \(mask) threads \(threads)")
                }
            }
        }
    }

    // MARK: bf16 decode

    /// Every head width (and a different value width) on the pair path and the widening
    /// path, contiguous and paged caches, blocks of 16 and of 5 positions.
    @Test(arguments: headDims)
    func bf16DecodeHeadDims(d: Int) throws {
        for kernel in Self.kernels {
            for c in [
                DecodeCase(lengths: [77, 1, 130], hkv: 2, group: 4, sq: 3, d: d),
                DecodeCase(lengths: [65], hkv: 1, group: 2, sq: 1, d: d, dv: d == 1 ? 3 : d - 1),
            ] {
                try decode.check(c, dtype: .bf16, seed: UInt64(d), halfKernel: kernel)
                try decode.check(
                    c, dtype: .bf16, seed: UInt64(d), halfKernel: kernel, queryDType: .bf16,
                    blockSize: 5)
            }
        }
    }

    /// GQA 1…8, batches of very different lengths (1 to 3000), a window wider than every
    /// cache, ALiBi of both forms, Sk = 1, with one and two threads.
    @Test(arguments: [1, 2, 4, 8])
    func bf16DecodeGroupsLengthsWindows(group: Int) throws {
        for kernel in Self.kernels {
            for threads in [1, 2] {
                let c = DecodeCase(
                    lengths: [1, 3000, 64, 65], hkv: 2, group: group, sq: 2, d: 48)
                try decode.check(
                    c, dtype: .bf16, window: 5000, threads: threads, halfKernel: kernel)
                try decode.check(
                    c, dtype: .bf16, alibi: .causal, threads: threads, halfKernel: kernel)
                try decode.check(
                    c, dtype: .bf16, causal: false, window: 4000, alibi: .symmetric,
                    threads: threads, halfKernel: kernel)
                try decode.check(
                    DecodeCase(lengths: [1], hkv: 1, group: group, sq: 1, d: 16), dtype: .bf16,
                    window: 3, threads: threads, halfKernel: kernel)
            }
        }
    }

    /// A permuted bf16 query (`[B, S, H, D]` storage) gives the bits of the contiguous one.
    @Test(arguments: kernels)
    func bf16DecodePermutedQuery(kernel: ReducedPrecisionKernel?) throws {
        let c = DecodeCase(lengths: [300, 7], hkv: 2, group: 4, sq: 3, d: 80)
        let (cache, paged, ids) = try DecodeAttentionTests.filled(c, dtype: .bf16, seed: 71)
        let q = Tensor.randomNormal([2, 8, 3, 80], seed: 72).converted(to: .bf16)
        let view = q.transposed(1, 2).contiguous().transposed(1, 2)
        #expect(!view.isContiguous)
        let options = DecodeOptions(
            execution: ExecutionOptions(threads: 2, reducedPrecisionKernel: kernel))
        let a = try decodeAttention(query: q, cache: cache, options: options)
        let b = try decodeAttention(query: view, cache: cache, options: options)
        let p = try decodeAttention(query: view, cache: paged, sequences: ids, options: options)
        #expect(a.scalars == b.scalars)
        // A slice of a larger bf16 tensor (an offset, and storage the view does not reach).
        let wide = Tensor.randomNormal([2, 10, 3, 80], seed: 73).converted(to: .bf16)
        let slice = try wide.sliced(axis: 1, range: 1..<9)
        #expect(
            try decodeAttention(query: slice, cache: cache, options: options).scalars
                == decodeAttention(query: slice.contiguous(), cache: cache, options: options)
                .scalars)
        // The paged cache's runs split into other tiles on the widening path (16-position
        // blocks against 77-position pages), so its sums are in another order.
        #expect(maxRelativeError(p, a.scalars.map(Double.init)) <= 1e-5)
    }

    /// One and two threads give the same bits when the work splits into the same chunks
    /// (fewer than 16·256 positions per thread: one chunk size for both).
    @Test(arguments: kernels)
    func bf16DecodeThreadsBitwise(kernel: ReducedPrecisionKernel?) throws {
        let c = DecodeCase(lengths: [900, 33, 1], hkv: 2, group: 4, sq: 2, d: 64)
        let (cache, _, _) = try DecodeAttentionTests.filled(c, dtype: .bf16, seed: 81)
        let q = Tensor.randomNormal([3, 8, 2, 64], seed: 82)
        func run(_ threads: Int) throws -> [Float] {
            try decodeAttention(
                query: q, cache: cache,
                options: DecodeOptions(
                    alibi: try ALiBi(heads: 8, form: .causal),
                    execution: ExecutionOptions(threads: threads, reducedPrecisionKernel: kernel))
            ).scalars
        }
        #expect(try run(1) == run(2))
    }

    /// Non-finite cache entries and queries: NaN exactly where the widening (fp32-product)
    /// path puts it, and the other outputs within the pair tolerance of it.
    @Test func bf16DecodeNonFinite() throws {
        guard ReducedPrecisionKernel.supported.contains(.avx512BF16) else { return }
        let (hkv, d, n) = (2, 32, 150)
        var k = Tensor.randomNormal([1, hkv, n, d], seed: 91)
        var v = Tensor.randomNormal([1, hkv, n, d], seed: 92)
        k[0, 0, 40, 3] = .nan  // every row of head group 0 that sees position 40
        v[0, 1, 100, 7] = .infinity  // column 7 of head group 1's rows that see 100
        k[0, 1, 140, 0] = -.infinity
        var cache = try KVCache(batch: 1, kvHeads: hkv, headDim: d, capacity: n, dtype: .bf16)
        try cache.append(keys: k, values: v)
        var q = Tensor.randomNormal([1, 8, 4, d], seed: 93)
        q[0, 5, 2, 1] = .nan
        for window in [nil, 20, 120] {
            func run(_ kernel: ReducedPrecisionKernel) throws -> [Float] {
                try decodeAttention(
                    query: q, cache: cache,
                    options: DecodeOptions(
                        window: window,
                        execution: ExecutionOptions(threads: 2, reducedPrecisionKernel: kernel))
                ).scalars
            }
            let pairs = try run(.avx512BF16), wide = try run(.portable)
            #expect(
                zip(pairs, wide).allSatisfy { $0.isNaN == $1.isNaN },
                "window \(String(describing: window)): NaN at \(pairs.filter(\.isNaN).count) vs \(wide.filter(\.isNaN).count)"
            )
            let finite = zip(pairs, wide).filter { !$0.1.isNaN }
            let scale = finite.map { abs(Double($0.1)) }.max() ?? 1
            let error = finite.map { abs(Double($0.0) - Double($0.1)) }.max() ?? 0
            #expect(
                error / scale <= DecodeAttentionTests.pairTolerance,
                "window \(String(describing: window)): \(error / scale)")
        }
    }

    // MARK: concurrency

    /// Two tasks running a bf16 backward and a bf16 decode at once (each with two threads)
    /// give the bits of the same calls made one at a time.
    @Test func concurrentCallersMatchSequential() async throws {
        let (q, k, v) = randomQKV(b: 2, h: 4, hkv: 2, sq: 40, sk: 70, d: 64, seed: 101)
        let (qb, kb, vb) = (q.converted(to: .bf16), k.converted(to: .bf16), v.converted(to: .bf16))
        let dO = Tensor.randomNormal([2, 4, 40, 64], seed: 102).converted(to: .bf16)
        let c = DecodeCase(lengths: [700, 20], hkv: 2, group: 4, sq: 2, d: 64)
        let (cache, paged, ids) = try DecodeAttentionTests.filled(c, dtype: .bf16, seed: 103)
        let dq = Tensor.randomNormal([2, 8, 2, 64], seed: 104)
        @Sendable func backwardCall() throws -> [Float] {
            let options = AttentionOptions(
                mask: .causal, returnLogSumExp: true,
                execution: ExecutionOptions(threads: 2, queryBlock: 12, keyBlock: 32))
            let fw = try scaledDotProductAttention(query: qb, key: kb, value: vb, options: options)
            let g = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: qb, key: kb, value: vb, output: fw.output,
                logSumExp: fw.logSumExp!, options: options)
            return g.gradQuery.scalars + g.gradKey.scalars + g.gradValue.scalars
        }
        @Sendable func decodeCall() throws -> [Float] {
            let options = DecodeOptions(execution: ExecutionOptions(threads: 2))
            return try decodeAttention(query: dq, cache: cache, options: options).scalars
                + decodeAttention(query: dq, cache: paged, sequences: ids, options: options)
                .scalars
        }
        let alone = [try backwardCall(), try decodeCall()]
        for round in 0..<3 {
            let together = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for i in 0..<4 {
                    group.addTask { (i % 2, i % 2 == 0 ? try backwardCall() : try decodeCall()) }
                }
                var results: [(Int, [Float])] = []
                for try await r in group { results.append(r) }
                return results
            }
            for (i, r) in together { #expect(r == alone[i], "round \(round) call \(i)") }
        }
    }

    // MARK: the PagedKVCache layer overload

    /// Duplicate, unknown and freed identifiers, an empty list, a batch of the wrong size and
    /// a pool out of blocks: each throws an error naming its argument and leaves every
    /// sequence's length, block table and contents, and the free block count, as they were.
    @Test(arguments: [DType.f32, .bf16])
    func pagedLayerRejectsBadCallsUnchanged(dtype: DType) throws {
        var mha = try MultiHeadAttention(dimensions: 32, numHeads: 4, seed: 11, numKVHeads: 2)
        mha.rope = try RoPE(dimensions: 8)
        var pool = try PagedKVCache(
            kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 5, dtype: dtype)
        let a = pool.addSequence(), b = pool.addSequence(), gone = pool.addSequence()
        _ = try mha(Tensor.randomNormal([1, 6, 32], seed: 1), cache: &pool, sequences: [a])
        _ = try mha(Tensor.randomNormal([1, 3, 32], seed: 2), cache: &pool, sequences: [b])
        try pool.free(sequence: gone)
        func snapshot() throws -> [[Float]] {
            try [a, b].flatMap { id in
                let s = try pool.stored(sequence: id)
                return [
                    s.keys.scalars, s.values.scalars,
                    try pool.blockTable(sequence: id).map(Float.init),
                    [Float(try pool.length(sequence: id))],
                ]
            } + [[Float(pool.freeBlockCount)]]
        }
        let before = try snapshot()
        for (ids, s, argument) in [
            ([a, a], 1, "sequences"), ([b, a, b], 1, "sequences"), ([a, 77], 1, "sequences"),
            ([gone], 1, "sequences"), ([], 1, "sequences"), ([a, b], 9, "blockCount"),
            ([b, a], 6, "blockCount"), ([a], 12, "blockCount"),
        ] {
            var thrown: String? = nil
            do {
                _ = try mha(
                    Tensor.randomNormal([Swift.max(ids.count, 1), s, 32], seed: 3), cache: &pool,
                    sequences: ids)
            } catch let e as AttentionError { thrown = e.argument }
            #expect(thrown == argument, "\(ids) S=\(s)")
            #expect(try snapshot() == before, "\(ids) S=\(s): the pool changed")
        }
        // x whose batch does not match the identifiers.
        var thrown: String? = nil
        do {
            _ = try mha(Tensor.randomNormal([1, 1, 32], seed: 4), cache: &pool, sequences: [a, b])
        } catch let e as AttentionError { thrown = e.argument }
        #expect(thrown == "x")
        #expect(try snapshot() == before)
        // And the pool still works: a joint step equals the steps made one at a time.
        var copy = pool
        let x = Tensor.randomNormal([2, 1, 32], seed: 5)
        let joint = try mha(x, cache: &pool, sequences: [a, b])
        let ya = try mha(x.sliced(axis: 0, range: 0..<1), cache: &copy, sequences: [a])
        let yb = try mha(x.sliced(axis: 0, range: 1..<2), cache: &copy, sequences: [b])
        let error = zip(joint.scalars, ya.scalars + yb.scalars).map { abs($0 - $1) }.max()!
        #expect(error <= 1e-5)
    }

    /// Zero new positions (`S = 0`) through both cache overloads: an empty `[B, 0, E]`
    /// result or an error naming `x`, never a trap; the caches keep their lengths.
    @Test func decodeLayerWithNoNewPositions() throws {
        var mha = try MultiHeadAttention(dimensions: 32, numHeads: 4, seed: 11, numKVHeads: 2)
        mha.rope = try RoPE(dimensions: 8)
        var cache = try KVCache(batch: 2, kvHeads: 2, headDim: 8, capacity: 16, dtype: .bf16)
        _ = try mha(Tensor.randomNormal([2, 3, 32], seed: 1), cache: &cache)
        var pool = try PagedKVCache(
            kvHeads: 2, headDim: 8, blockSize: 4, blockCount: 4, dtype: .bf16)
        let a = pool.addSequence()
        _ = try mha(Tensor.randomNormal([1, 3, 32], seed: 2), cache: &pool, sequences: [a])
        let empty = Tensor.zeros([2, 0, 32])
        do {
            let y = try mha(empty, cache: &cache)
            #expect(y.shape == [2, 0, 32])
        } catch let e as AttentionError { #expect(e.argument == "x") }
        do {
            let y = try mha(empty.sliced(axis: 0, range: 0..<1), cache: &pool, sequences: [a])
            #expect(y.shape == [1, 0, 32])
        } catch let e as AttentionError { #expect(e.argument == "x") }
        #expect(cache.lengths == [3, 3])
        #expect(try pool.length(sequence: a) == 3)
    }
}
