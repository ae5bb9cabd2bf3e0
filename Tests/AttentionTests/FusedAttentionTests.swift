import Testing
@testable import Attention

/// The fused kernel against the Double oracle with FlashAttention-2's rule: its max error
/// must be ≤ 2× the max error of the same-precision materialized path, plus 1e-6.
struct Case: CustomStringConvertible, Sendable {
    var b = 1, h = 1, hkv = 1
    var sq: Int, sk: Int, d: Int
    var dv: Int? = nil
    var description: String { "b\(b) h\(h)/\(hkv) \(sq)×\(sk) d\(d) dv\(dv ?? d)" }
}

@Suite struct FusedAttentionTests {
    static let cases: [Case] = [
        Case(sq: 1, sk: 1, d: 1), Case(b: 2, h: 2, sq: 17, sk: 17, d: 8),
        Case(h: 2, sq: 113, sk: 203, d: 59), Case(b: 2, h: 4, hkv: 2, sq: 128, sk: 128, d: 64),
        Case(h: 2, hkv: 1, sq: 203, sk: 113, d: 111), Case(sq: 17, sk: 130, d: 128),
        Case(sq: 113, sk: 17, d: 256), Case(sq: 1023, sk: 1023, d: 64), Case(sq: 1, sk: 203, d: 64),
        Case(h: 2, sq: 40, sk: 70, d: 32, dv: 24),
    ]

    static let masks: [AttentionMask] = [
        .none, .causal, .causalFromBottomRight, .slidingWindow(left: 20, right: 5),
        .slidingWindowFromBottomRight(left: 20, right: 5),
    ]

    func check(
        _ c: Case, mask: AttentionMask, dropout: Float = 0, alibi: ALiBi? = nil, seed: UInt64,
        execution: ExecutionOptions = ExecutionOptions()
    ) throws {
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: seed)
        let options = AttentionOptions(
            mask: mask, dropout: dropout, dropoutSeed: 9, alibi: alibi, backend: .fused,
            returnLogSumExp: true, execution: execution)
        let fused = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        var refOptions = options
        refOptions.backend = .reference
        let reference = try scaledDotProductAttention(
            query: q, key: k, value: v, options: refOptions)
        let oracle = NaiveAttention(
            query: q, key: k, value: v, mask: mask, alibi: alibi, dropout: Double(dropout), seed: 9)
        let fusedError = maxError(fused.output, oracle.output)
        let referenceError = maxError(reference.output, oracle.output)
        #expect(
            fusedError <= 2 * referenceError + 1e-6,
            "\(c) \(mask) p=\(dropout) \(execution): fused \(fusedError) vs reference \(referenceError)"
        )
        #expect(fused.backend == .fused)
        // Log-sum-exp per row, −inf for rows that saw nothing.
        let lse = fused.logSumExp!.scalars
        for (x, y) in zip(lse, oracle.lse) {
            if y == -.infinity {
                #expect(x == -.infinity)
            } else {
                #expect(abs(Double(x) - y) <= 1e-5 * max(1, abs(y)))
            }
        }
    }

    @Test(arguments: 0..<cases.count)
    func matchesOracle(_ index: Int) throws {
        for (m, mask) in Self.masks.enumerated() {
            try check(Self.cases[index], mask: mask, seed: UInt64(index * 10 + m))
        }
    }

    @Test func dropoutDropsTheSameEntriesAsTheReference() throws {
        for (i, c) in [
            Case(h: 2, sq: 50, sk: 70, d: 16), Case(b: 2, h: 2, hkv: 1, sq: 129, sk: 129, d: 64),
        ].enumerated() {
            try check(c, mask: .causal, dropout: 0.3, seed: UInt64(100 + i))
            try check(c, mask: .none, dropout: 0.1, seed: UInt64(200 + i))
        }
    }

    @Test func denseAndAdditiveMasks() throws {
        let c = Case(b: 2, h: 2, sq: 100, sk: 150, d: 32)
        var dense = Tensor.randomUniform([2, 1, 100, 150], seed: 5).map { $0 < 0.7 ? 1 : 0 }
        for j in 0..<150 { dense[1, 0, 7, j] = 0 }  // one fully blocked row
        let additive = Tensor.randomNormal([100, 150], seed: 6)
        for mask in [AttentionMask.dense(dense), .additive(additive), .and(.causal, .dense(dense))]
        {
            try check(c, mask: mask, seed: 11)
        }
    }

    @Test(arguments: [1, 8, 12, 16])
    func alibiMatchesMaterializedBias(_ heads: Int) throws {
        for (form, mask) in [
            (ALiBi.Form.symmetric, AttentionMask.none), (.causal, .causal),
            (.symmetric, .causalFromBottomRight),
        ] {
            for alignment in [ALiBi.Alignment.bottomRight, .topLeft] {
                let alibi = try ALiBi(heads: heads, form: form, alignment: alignment)
                try check(
                    Case(h: heads, sq: 70, sk: 90, d: 16), mask: mask, alibi: alibi,
                    seed: UInt64(heads))
            }
        }
        // And the fused result equals the reference given the bias as an additive mask tensor.
        let alibi = try ALiBi(heads: heads, form: .symmetric)
        let (q, k, v) = randomQKV(b: 1, h: heads, sq: 33, sk: 40, d: 8, seed: 77)
        let bias = try alibi.bias(queries: 33, keys: 40).reshaped([1, heads, 33, 40])
        let viaTensor = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .additive(bias), backend: .reference)
        let onTheFly = try scaledDotProductAttention(
            query: q, key: k, value: v, options: .init(alibi: alibi, backend: .fused))
        #expect(viaTensor.maxAbsDifference(onTheFly.output) <= 1e-5)
    }

    @Test func fullyMaskedRowsAreZero() throws {
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 10, sk: 4, d: 8, seed: 1)
        // Top-left causal with Sq > Sk: every row sees key 0 at least; bottom-right hides rows 0…5.
        let out = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .causalFromBottomRight, backend: .fused)
        for i in 0..<6 { for x in 0..<8 { #expect(out[0, 0, i, x] == 0) } }
        #expect(!out.scalars.contains { $0.isNaN })
    }

    @Test func futureKeysDoNotChangeCausalOutputs() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 200, sk: 200, d: 64, seed: 4)
        let base = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .causal, backend: .fused)
        // Perturb keys and values from position 150 on: rows < 150 must be bit-identical.
        var k2 = k, v2 = v
        for h in 0..<2 {
            for j in 150..<200 { for x in 0..<64 { k2[0, h, j, x] += 3; v2[0, h, j, x] -= 1 } }
        }
        let perturbed = try scaledDotProductAttention(
            query: q, key: k2, value: v2, mask: .causal, backend: .fused)
        for h in 0..<2 {
            for i in 0..<150 {
                for x in 0..<64 { #expect(base[0, h, i, x] == perturbed[0, h, i, x]) }
            }
        }
        #expect(base[0, 0, 199, 0] != perturbed[0, 0, 199, 0])
    }

    @Test func stridedInputsNeedNoCopy() throws {
        // [B, S, H, D] storage viewed as [B, H, S, D].
        let bshd = Tensor.randomNormal([2, 37, 3, 16], seed: 8)
        let q = bshd.transposed(1, 2)
        #expect(!q.isContiguous)
        let options = AttentionOptions(mask: .causal, backend: .fused)
        let problem = try AttentionProblem(query: q, key: q, value: q, options: options)
        // What the kernel reads is the caller's storage under the caller's strides: the
        // same buffer, not a copy.
        for (name, t) in [("query", problem.query), ("key", problem.key), ("value", problem.value)]
        {
            #expect(storageAddress(t) == storageAddress(bshd), "\(name) was copied")
            #expect(t.strides == q.strides && t.offset == q.offset && t.shape == q.shape)
        }
        // Control: a view whose feature axis is strided does need a copy, and gets one, so
        // the identity check above can fail.
        let featureStrided = Tensor.randomNormal([2, 3, 16, 37], seed: 9).transposed(2, 3)
        #expect(featureStrided.strides[3] != 1)
        let copied = try AttentionProblem(
            query: featureStrided, key: featureStrided, value: featureStrided, options: options)
        #expect(storageAddress(copied.query) != storageAddress(featureStrided))
        #expect(copied.query.isContiguous && copied.query == featureStrided)
        // The uncopied views give the right answer.
        let out = FlashAttention.forward(problem, options: options, outputLayout: .bhsd).output
        let viaPublicAPI = try scaledDotProductAttention(
            query: q, key: q, value: q, mask: .causal, backend: .fused)
        let oracle = NaiveAttention(
            query: q.contiguous(), key: q.contiguous(), value: q.contiguous(), mask: .causal)
        #expect(maxRelativeError(out, oracle.output) <= 1e-5)
        #expect(out == viaPublicAPI)
    }

    @Test func fusedRefusesToReturnWeights() throws {
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 4, sk: 4, d: 4, seed: 1)
        #expect {
            _ = try scaledDotProductAttention(
                query: q, key: k, value: v, options: .init(backend: .fused, returnWeights: true))
        } throws: { ($0 as? AttentionError)?.argument == "backend" }
    }
}
