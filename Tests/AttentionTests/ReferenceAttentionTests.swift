import Testing
@testable import Attention

/// The reference (materialized) path against the Double oracle: normwise relative error
/// (max |error| / max |expected|) ≤ 1e-5.
@Suite struct ReferenceAttentionTests {
    static let sizes: [(b: Int, h: Int, hkv: Int, sq: Int, sk: Int, d: Int)] = [
        (1, 1, 1, 1, 1, 1), (2, 3, 3, 5, 9, 7), (1, 2, 2, 17, 13, 59), (2, 2, 1, 8, 8, 64),
        (1, 4, 2, 13, 30, 111), (1, 1, 1, 33, 33, 64),
    ]

    @Test(arguments: 0..<sizes.count)
    func matchesDoubleReference(_ index: Int) throws {
        let s = Self.sizes[index]
        let (q, k, v) = randomQKV(
            b: s.b, h: s.h, hkv: s.hkv, sq: s.sq, sk: s.sk, d: s.d, seed: UInt64(index))
        for mask in [AttentionMask.none, .causal, .causalFromBottomRight] {
            let result = try scaledDotProductAttention(
                query: q, key: k, value: v,
                options: .init(mask: mask, backend: .reference, returnWeights: true))
            let oracle = NaiveAttention(query: q, key: k, value: v, mask: mask)
            #expect(maxRelativeError(result.output, oracle.output) <= 1e-5, "output \(s) \(mask)")
            #expect(
                maxRelativeError(result.weights!, oracle.weights) <= 1e-5, "weights \(s) \(mask)")
            #expect(result.backend == .reference)
        }
    }

    @Test func denseBooleanAndAdditiveMasksBroadcast() throws {
        let (q, k, v) = randomQKV(b: 2, h: 3, sq: 6, sk: 7, d: 8, seed: 42)
        // [Sq, Sk] boolean mask with one fully blocked row (row 2).
        let bool = try Tensor(shape: [6, 7], repeating: 1).map { $0 }
        var boolMask = bool
        for j in 0..<7 { boolMask[2, j] = 0 }
        boolMask[0, 3] = 0
        boolMask[4, 0] = 0
        // [B, 1, 1, Sk] additive mask (padding-style) broadcast over heads and queries.
        var additive = Tensor.zeros([2, 1, 1, 7])
        additive[1, 0, 0, 6] = -.infinity
        additive[0, 0, 0, 1] = 0.75
        for mask in [
            AttentionMask.dense(boolMask), .additive(additive),
            .and(.dense(boolMask), .additive(additive)),
        ] {
            let result = try scaledDotProductAttention(
                query: q, key: k, value: v,
                options: .init(mask: mask, backend: .reference, returnWeights: true))
            let oracle = NaiveAttention(query: q, key: k, value: v, mask: mask)
            #expect(maxRelativeError(result.output, oracle.output) <= 1e-5)
            #expect(maxRelativeError(result.weights!, oracle.weights) <= 1e-5)
        }
        // The blocked row gives zeros, never NaN.
        let out = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .dense(boolMask), backend: .reference)
        for x in 0..<8 { #expect(out[0, 0, 2, x] == 0) }
        #expect(!out.scalars.contains { $0.isNaN })
    }

    @Test func customScale() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 4, sk: 5, d: 3, seed: 7)
        let out = try scaledDotProductAttention(
            query: q, key: k, value: v, scale: 0.3, backend: .reference)
        let oracle = NaiveAttention(query: q, key: k, value: v, scale: 0.3)
        #expect(maxRelativeError(out, oracle.output) <= 1e-5)
    }

    @Test func weightRowsSumToOne() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 9, sk: 11, d: 4, seed: 3)
        let r = try scaledDotProductAttention(
            query: q, key: k, value: v, options: .init(mask: .causal, returnWeights: true))
        let w = r.weights!.scalars
        for row in 0..<(2 * 9) {
            let sum = w[(row * 11)..<(row * 11 + 11)].reduce(0, +)
            #expect(abs(sum - 1) < 1e-5)
        }
        #expect(r.backend == .reference, "automatic must fall back to reference for weights")
        #expect(r.reason.contains("weights"))
    }

    @Test func refusesScoreMatricesOverTheMemoryLimit() throws {
        let (q, k, v) = randomQKV(b: 1, h: 8, sq: 64, sk: 64, d: 4, seed: 1)
        var options = AttentionOptions(backend: .reference)
        options.execution.memoryLimit = 1000
        #expect {
            _ = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        } throws: { error in
            (error as? AttentionError)?.kind == .outOfMemoryBudget
                && String(describing: error).contains("[1, 8, 64, 64]")
        }
    }

    @Test func shapeErrorsNameTheArgument() throws {
        let q = Tensor.zeros([2, 4, 5, 8])
        let cases: [(Tensor, Tensor, String)] = [
            (Tensor.zeros([2, 4, 5, 7]), Tensor.zeros([2, 4, 5, 8]), "key"),  // head dim
            (Tensor.zeros([2, 3, 5, 8]), Tensor.zeros([2, 3, 5, 8]), "key"),  // 4 heads not a multiple of 3
            (Tensor.zeros([2, 4, 5, 8]), Tensor.zeros([2, 4, 6, 8]), "value"),  // length
        ]
        for (k, v, name) in cases {
            #expect { _ = try scaledDotProductAttention(query: q, key: k, value: v) } throws: {
                error in
                (error as? AttentionError)?.argument == name
            }
        }
        let k = Tensor.zeros([2, 4, 5, 8])
        #expect {
            _ = try scaledDotProductAttention(
                query: q, key: k, value: k, mask: .dense(Tensor.zeros([3, 5, 5])))
        } throws: { error in
            let e = error as? AttentionError
            return e?.argument == "mask" && e!.message.contains("[3, 5, 5]")
                && e!.message.contains("[2, 4, 5, 5]")
        }
        #expect {
            _ = try scaledDotProductAttention(query: q, key: k, value: k, dropout: 1)
        } throws: { error in
            (error as? AttentionError)?.argument == "dropout"
        }
    }

    /// Each malformed tensor is blamed by name, on every backend (validation runs first):
    /// a zero value width names `value`, a zero head dimension `query`.
    @Test func everyShapeErrorNamesItsTensor() throws {
        let q = Tensor.zeros([2, 4, 5, 8]), kv = Tensor.zeros([2, 2, 6, 8])
        let cases: [(Tensor, Tensor, Tensor, String, String)] = [
            (Tensor.zeros([4, 5, 8]), kv, kv, "query", "rank 4"),
            (Tensor.zeros([2, 4, 5, 0]), Tensor.zeros([2, 2, 6, 0]), kv, "query", "D ≥ 1"),
            (q, Tensor.zeros([2, 2, 6]), kv, "key", "[2, Hkv, Sk, 8]"),
            (q, Tensor.zeros([3, 2, 6, 8]), kv, "key", "[2, Hkv, Sk, 8]"),
            (q, Tensor.zeros([2, 0, 6, 8]), kv, "key", "multiple of Hkv"),
            (q, kv, Tensor.zeros([2, 2, 6]), "value", "[2, 2, 6, Dv]"),
            (q, kv, Tensor.zeros([1, 2, 6, 8]), "value", "[2, 2, 6, Dv]"),
            (q, kv, Tensor.zeros([2, 1, 6, 8]), "value", "[2, 2, 6, Dv]"),
            (q, kv, Tensor.zeros([2, 2, 5, 8]), "value", "[2, 2, 6, Dv]"),
            (q, kv, Tensor.zeros([2, 2, 6, 0]), "value", "Dv ≥ 1"),
        ]
        for (query, key, value, name, expected) in cases {
            for backend in AttentionBackend.allCases {
                #expect {
                    _ = try scaledDotProductAttention(
                        query: query, key: key, value: value, backend: backend)
                } throws: { error in
                    let e = error as? AttentionError
                    return e?.argument == name && e!.message.contains(expected)
                        && e!.message.contains(
                            "\(name == "query" ? query.shape : name == "key" ? key.shape : value.shape)"
                        )
                }
            }
        }
    }
}
