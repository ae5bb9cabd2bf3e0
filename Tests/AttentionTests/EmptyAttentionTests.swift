import Testing
@testable import Attention

/// Empty problems (a zero batch, head count, query or key length) return empty outputs of
/// the right shape from every backend, with every mask kind and option; a query with no key
/// outputs zeros and a −inf log-sum-exp (PyTorch: a softmax over an empty axis is empty, and
/// `empty · V` is zeros; `logsumexp` of nothing is −inf). No crash, no trap.
@Suite struct EmptyAttentionTests {
    /// (B, H, Hkv, Sq, Sk)
    static let shapes: [(Int, Int, Int, Int, Int)] = [
        (0, 2, 1, 5, 7), (2, 0, 1, 5, 7), (2, 2, 1, 0, 7), (2, 2, 1, 5, 0), (2, 4, 2, 0, 0),
        (0, 2, 2, 0, 0), (1, 1, 1, 200, 0), (1, 1, 1, 0, 300),
        // Few queries against many keys (the decode kernel's shapes) with no batch or head.
        (0, 2, 1, 5, 300), (2, 0, 1, 5, 300),
    ]

    static func masks(queries sq: Int, keys sk: Int) -> [AttentionMask] {
        let additive = Tensor.randomNormal([sq, sk], seed: 3)
        return MaskFixtures.structured(queries: sq, keys: sk) + [
            MaskFixtures.denseLeaf(sq, sk, seed: 4), .additive(additive),
            .and(.causal, .additive(additive)),
            .or(.causal, MaskFixtures.denseLeaf(sq, sk, seed: 5)),
        ]
    }

    /// Every option set that changes the path taken: LSE, dropout, ALiBi, weights.
    static func optionSets(heads: Int) throws -> [AttentionOptions] {
        var sets = [
            AttentionOptions(returnLogSumExp: true),
            AttentionOptions(dropout: 0.3, dropoutSeed: 2, returnLogSumExp: true),
            AttentionOptions(scale: 0.5, returnWeights: true),
        ]
        if heads > 0 {
            sets.append(
                AttentionOptions(
                    alibi: try ALiBi(heads: heads, form: .causal), returnLogSumExp: true))
        }
        return sets
    }

    @Test(arguments: shapes.indices)
    func everyBackendMaskAndOption(_ index: Int) throws {
        let (b, h, hkv, sq, sk) = Self.shapes[index]
        let (d, dv) = (8, 5)
        let (q, k, v) = randomQKV(b: b, h: h, hkv: hkv, sq: sq, sk: sk, d: d, dv: dv, seed: 1)
        var accepted = 0
        for mask in Self.masks(queries: sq, keys: sk) {
            for var options in try Self.optionSets(heads: h) {
                options.mask = mask
                for backend in AttentionBackend.allCases {
                    options.backend = backend
                    if backend == .fused && options.returnWeights { continue }
                    let r: AttentionResult
                    do {
                        r = try scaledDotProductAttention(
                            query: q, key: k, value: v, options: options)
                    } catch let error as AttentionError {
                        // Only a mask whose parameters do not fit the lengths may be refused.
                        #expect(error.argument == "mask", "\(mask): \(error)")
                        continue
                    }
                    accepted += 1
                    let context = "\([b, h, hkv, sq, sk]) \(mask) \(backend)"
                    #expect(r.output.shape == [b, h, sq, dv], "\(context)")
                    #expect(r.output.scalars.allSatisfy { $0 == 0 }, "\(context)")
                    if options.returnLogSumExp {
                        #expect(r.logSumExp?.shape == [b, h, sq], "\(context)")
                        #expect(r.logSumExp?.scalars.allSatisfy { $0 == -.infinity } == true)
                    }
                    if options.returnWeights {
                        #expect(r.weights?.shape == [b, h, sq, sk], "\(context)")
                    }
                }
            }
        }
        #expect(accepted >= 30 * 4, "\([b, h, hkv, sq, sk]): only \(accepted) runs accepted")
    }

    /// A key length of zero with real queries: zeros and −inf from both backends, also
    /// through the strided `[B, S, H, D]` views the layers pass.
    @Test func noKeysGivesZerosThroughStridedViews() throws {
        let q = Tensor.randomNormal([2, 9, 3, 4], seed: 1).transposed(1, 2)
        let kv = Tensor.zeros([2, 0, 3, 4]).transposed(1, 2)
        for backend in [AttentionBackend.reference, .fused] {
            let r = try scaledDotProductAttention(
                query: q, key: kv, value: kv,
                options: .init(
                    mask: .causalFromBottomRight, backend: backend, returnLogSumExp: true))
            #expect(r.output == Tensor.zeros([2, 3, 9, 4]))
            #expect(try r.logSumExp == Tensor(shape: [2, 3, 9], repeating: -.infinity))
        }
    }

    /// The layers with a sequence length of 0 (self-attention), a batch of 0, and no keys
    /// (cross-attention): output `[B, Sq, E]`; with no key the attention is zero, so the
    /// output is the output projection's bias in every row.
    @Test func layersAcceptEmptySequences() throws {
        let (e, heads) = (8, 2)
        var mha = try MultiHeadAttention(dimensions: e, numHeads: heads, dropout: 0.2)
        mha.rope = try RoPE(dimensions: e / heads)
        let local = try LocalAttention(dimensions: e, numHeads: heads, windowSize: 4)
        let alibi = try ALiBiMultiHeadAttention(dimensions: e, numHeads: heads, form: .causal)
        for backend in [AttentionBackend.reference, .fused, .automatic] {
            for shape in [[2, 0, e], [0, 5, e], [0, 0, e]] {
                let x = Tensor.randomNormal(shape, seed: 2)
                #expect(try mha(x, isCausal: true, training: true, backend: backend).shape == shape)
                #expect(try local(x, backend: backend).shape == shape)
                #expect(try alibi(x, backend: backend).shape == shape)
            }
            let queries = Tensor.randomNormal([2, 3, e], seed: 3)
            let none = Tensor.zeros([2, 0, e])
            for (out, layer) in [
                (try mha(queries, keys: none, values: none, backend: backend), mha),
                (try alibi(queries, keys: none, values: none, backend: backend), alibi.attention),
            ] {
                #expect(out.shape == [2, 3, e])
                let bias = layer.parameters()["out_proj.bias"]!.scalars
                #expect(out.scalars == Array(repeatElement(bias, count: 6).joined()), "\(backend)")
            }
        }
        let (out, weights) = try mha.attentionWithWeights(Tensor.zeros([2, 0, e]))
        #expect(out.shape == [2, 0, e] && weights.shape == [2, heads, 0, 0])
        let cross = try mha.attentionWithWeights(
            Tensor.randomNormal([1, 4, e], seed: 4), keys: Tensor.zeros([1, 0, e]))
        #expect(cross.weights.shape == [1, heads, 4, 0])
    }
}
