import Foundation
import Testing
@testable import Attention

/// MultiHeadAttention against an independent Double implementation of the same formula.
@Suite struct MultiHeadAttentionTests {
    /// y = x·Wᵀ + b in Double, x `[N, in]` flattened.
    func linear(_ x: [Double], rows: Int, _ layer: Linear) -> [Double] {
        let w = layer.weight.scalars, b = layer.bias?.scalars
        let (n, k) = (layer.outputDimensions, layer.inputDimensions)
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var acc = Double(b?[j] ?? 0)
                for i in 0..<k { acc += x[r * k + i] * Double(w[j * k + i]) }
                y[r * n + j] = acc
            }
        }
        return y
    }

    /// The whole layer in Double: project, split heads, attend, merge, project.
    func naiveLayer(_ mha: MultiHeadAttention, queries: Tensor, keys: Tensor, mask: AttentionMask)
        throws -> [Double]
    {
        let (b, sq, sk, e, h) = (
            queries.shape[0], queries.shape[1], keys.shape[1], mha.dimensions, mha.numHeads
        )
        let dh = e / h
        let q = linear(queries.scalars.map(Double.init), rows: b * sq, mha.queryProjection)
        let k = linear(keys.scalars.map(Double.init), rows: b * sk, mha.keyProjection)
        let v = linear(keys.scalars.map(Double.init), rows: b * sk, mha.valueProjection)
        // To [B, H, S, Dh] tensors for the shared Double oracle (rounding to Float first would
        // add error; the oracle reads Float tensors, so keep Double by splitting into heads here).
        func heads(_ x: [Double], _ s: Int) -> Tensor {
            var out = [Float](repeating: 0, count: b * h * s * dh)
            for bi in 0..<b {
                for si in 0..<s {
                    for hi in 0..<h {
                        for d in 0..<dh {
                            out[((bi * h + hi) * s + si) * dh + d] = Float(
                                x[(bi * s + si) * e + hi * dh + d])
                        }
                    }
                }
            }
            return try! Tensor(shape: [b, h, s, dh], scalars: out)
        }
        let oracle = NaiveAttention(
            query: heads(q, sq), key: heads(k, sk), value: heads(v, sk), mask: mask)
        var merged = [Double](repeating: 0, count: b * sq * e)
        for bi in 0..<b {
            for si in 0..<sq {
                for hi in 0..<h {
                    for d in 0..<dh {
                        merged[(bi * sq + si) * e + hi * dh + d] =
                            oracle.output[((bi * h + hi) * sq + si) * dh + d]
                    }
                }
            }
        }
        return linear(merged, rows: b * sq, mha.outputProjection)
    }

    @Test(arguments: [(2, 5, 5, 16, 4), (1, 7, 11, 12, 3), (3, 9, 4, 8, 8)])
    func matchesDoubleImplementation(_ args: (Int, Int, Int, Int, Int)) throws {
        let (b, sq, sk, e, h) = args
        let mha = try MultiHeadAttention(dimensions: e, numHeads: h, seed: 11)
        let x = Tensor.randomNormal([b, sq, e], seed: 1)
        let kv = Tensor.randomNormal([b, sk, e], seed: 2)
        for mask in [AttentionMask.none, .causalFromBottomRight] {
            let expected = try naiveLayer(mha, queries: x, keys: kv, mask: mask)
            for backend in [AttentionBackend.reference, .fused] {
                let out = try mha(x, keys: kv, mask: mask, backend: backend)
                #expect(out.shape == [b, sq, e])
                // Inputs to the oracle's attention were rounded to Float once: allow 1e-5 normwise.
                #expect(maxRelativeError(out, expected) <= 1e-5, "\(backend) \(mask)")
            }
        }
    }

    /// Self-attention projects Q, K and V with one stacked GEMM; it must agree with the Double
    /// layer (three separate projections), with and without biases, and follow replaced
    /// parameters.
    @Test(arguments: [true, false])
    func selfAttentionMatchesDoubleImplementation(_ bias: Bool) throws {
        var mha = try MultiHeadAttention(dimensions: 40, numHeads: 5, bias: bias, seed: 12)
        let x = Tensor.randomNormal([2, 33, 40], seed: 3)
        for round in 0..<2 {
            for mask in [AttentionMask.none, .causal] {
                let expected = try naiveLayer(mha, queries: x, keys: x, mask: mask)
                for backend in [AttentionBackend.reference, .fused] {
                    let out = try mha(x, mask: mask, backend: backend)
                    #expect(
                        maxRelativeError(out, expected) <= 1e-5,
                        "round \(round) \(backend) \(mask)")
                }
            }
            var replaced = [String: Tensor]()
            for (i, name) in ["query_proj", "key_proj", "value_proj"].enumerated() {
                replaced["\(name).weight"] = Tensor.randomNormal([40, 40], seed: 30 + UInt64(i))
                if bias {
                    replaced["\(name).bias"] = Tensor.randomNormal([40], seed: 40 + UInt64(i))
                }
            }
            try mha.update(parameters: replaced)
        }
    }

    @Test func weightsArePerHeadAndRowsSumToOne() throws {
        let mha = try MultiHeadAttention(dimensions: 16, numHeads: 4, seed: 3)
        let x = Tensor.randomNormal([2, 6, 16], seed: 4)
        let (out, weights) = try mha.attentionWithWeights(x, mask: .causal)
        #expect(weights.shape == [2, 4, 6, 6])
        let fused = try mha(x, isCausal: true)
        #expect(out.maxAbsDifference(fused) <= 1e-5)
        for row in 0..<(2 * 4 * 6) {
            let w = weights.scalars[(row * 6)..<(row * 6 + 6)]
            #expect(abs(w.reduce(0, +) - 1) <= 1e-5)
            let i = row % 6
            #expect(w.dropFirst(i + 1).allSatisfy { $0 == 0 }, "causal row \(i) sees the future")
        }
    }

    @Test func dropoutOnlyInTraining() throws {
        let mha = try MultiHeadAttention(dimensions: 16, numHeads: 2, dropout: 0.5, seed: 3)
        let x = Tensor.randomNormal([1, 40, 16], seed: 4)
        let eval1 = try mha(x), eval2 = try mha(x, training: false)
        #expect(eval1 == eval2)
        let train = try mha.attentionWithWeights(x, training: true, seed: 5).weights
        let zeros = train.scalars.filter { $0 == 0 }.count
        // Kept fraction 1 − p within 5 standard deviations of a binomial over 2·40·40 entries.
        let n = Double(train.count), p = 0.5
        #expect(abs(Double(zeros) / n - p) <= 5 * (p * (1 - p) / n).squareRoot())
        let again = try mha.attentionWithWeights(x, training: true, seed: 5).weights
        #expect(train == again, "same seed, same drops")
        let fusedTrain = try mha(x, training: true, seed: 5, backend: .fused)
        let referenceTrain = try mha(x, training: true, seed: 5, backend: .reference)
        #expect(
            fusedTrain.maxAbsDifference(referenceTrain) <= 1e-5, "both paths drop the same entries")
    }

    @Test func dropoutKeptEntriesScaleByInverseKeepProbability() throws {
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 64, sk: 64, d: 4, seed: 2)
        let plain = try scaledDotProductAttention(
            query: q, key: k, value: v, options: .init(returnWeights: true)
        ).weights!
        let dropped = try scaledDotProductAttention(
            query: q, key: k, value: v,
            options: .init(dropout: 0.25, dropoutSeed: 3, returnWeights: true)
        ).weights!
        var kept = 0
        for (a, b) in zip(plain.scalars, dropped.scalars) where b != 0 {
            kept += 1
            #expect(abs(b - a / 0.75) <= 1e-6 * max(1, a / 0.75))
        }
        let n = Double(plain.count)
        #expect(abs(Double(kept) / n - 0.75) <= 5 * (0.25 * 0.75 / n).squareRoot())
    }

    @Test func parametersRoundTripThroughSafetensors() throws {
        let mha = try MultiHeadAttention(dimensions: 8, numHeads: 2, seed: 9)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mha-\(UUID()).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsFile.write(mha.parameters(), to: path)
        var other = try MultiHeadAttention(dimensions: 8, numHeads: 2, seed: 10)
        #expect(other.parameters()["query_proj.weight"] != mha.parameters()["query_proj.weight"])
        try other.update(parameters: SafetensorsFile(contentsOf: path).tensors())
        for (name, t) in mha.parameters() { #expect(other.parameters()[name] == t, "\(name)") }
        #expect(
            Set(mha.parameters().keys) == [
                "query_proj.weight", "query_proj.bias", "key_proj.weight", "key_proj.bias",
                "value_proj.weight", "value_proj.bias", "out_proj.weight", "out_proj.bias",
            ])
        #expect {
            try other.update(parameters: ["out_proj.weight": Tensor.zeros([3, 3])])
        } throws: {
            ($0 as? AttentionError)?.argument == "out_proj.weight"
        }
        #expect { try other.update(parameters: ["nonsense": Tensor.zeros([1])]) } throws: {
            ($0 as? AttentionError)?.argument == "nonsense"
        }
    }

    @Test func errorsNameTheArgument() throws {
        #expect { _ = try MultiHeadAttention(dimensions: 10, numHeads: 3) } throws: { error in
            let e = error as? AttentionError
            return e?.argument == "dimensions" && e!.message.contains("10")
                && e!.message.contains("3")
        }
        let mha = try MultiHeadAttention(dimensions: 8, numHeads: 2)
        #expect { _ = try mha(Tensor.zeros([1, 4, 7])) } throws: {
            ($0 as? AttentionError)?.argument == "queries"
        }
        #expect { _ = try mha(Tensor.zeros([1, 4, 8]), keys: Tensor.zeros([2, 4, 8])) } throws: {
            ($0 as? AttentionError)?.argument == "keys/values"
        }
    }

    @Test func alibiLayerFusedMatchesReference() throws {
        for heads in [1, 8, 12, 16] {
            let layer = try ALiBiMultiHeadAttention(dimensions: heads * 4, numHeads: heads, seed: 1)
            let x = Tensor.randomNormal([1, 30, heads * 4], seed: 2)
            let fused = try layer(x, mask: .causal)
            let (reference, weights) = try layer.attentionWithWeights(x, mask: .causal)
            #expect(fused.maxAbsDifference(reference) <= 1e-5)
            #expect(weights.shape == [1, heads, 30, 30])
        }
    }

    @Test func ropeLayerMatchesManualRotation() throws {
        var mha = try MultiHeadAttention(dimensions: 16, numHeads: 2, seed: 5)
        mha.rope = try RoPE(dimensions: 8)
        let x = Tensor.randomNormal([1, 10, 16], seed: 6)
        let out = try mha(x, mask: .causal)
        // The same computation by hand: project, split, rotate, attend, merge, project.
        let q = try mha.queryProjection(x).reshaped([1, 10, 2, 8]).transposed(1, 2)
        let k = try mha.keyProjection(x).reshaped([1, 10, 2, 8]).transposed(1, 2)
        let v = try mha.valueProjection(x).reshaped([1, 10, 2, 8]).transposed(1, 2)
        let a = try scaledDotProductAttention(
            query: mha.rope!(q), key: mha.rope!(k), value: v, mask: .causal, backend: .reference)
        let manual = try mha.outputProjection(
            a.transposed(1, 2).contiguous().reshaped([1, 10, 16]))
        #expect(out.maxAbsDifference(manual) <= 1e-5)
    }
}

@Suite struct LocalAttentionTests {
    @Test func weightsStayInsideTheWindowAndFusedMatchesReference() throws {
        let layer = try LocalAttention(dimensions: 16, numHeads: 2, windowSize: 6, seed: 1)
        let x = Tensor.randomNormal([2, 40, 16], seed: 2)
        let (reference, weights) = try layer.attentionWithWeights(x)
        let fused = try layer(x, backend: .fused)
        #expect(fused.maxAbsDifference(reference) <= 1e-5)
        for b in 0..<2 {
            for h in 0..<2 {
                for i in 0..<40 {
                    for j in 0..<40 {
                        if abs(i - j) > 3 {
                            #expect(weights[b, h, i, j] == 0)
                        } else {
                            #expect(weights[b, h, i, j] > 0)
                        }
                    }
                }
            }
        }
        // Intersected with causal: nothing after the query.
        let (_, causal) = try layer.attentionWithWeights(x, mask: .causal)
        #expect(causal[0, 0, 10, 11] == 0 && causal[0, 0, 10, 7] > 0 && causal[0, 0, 10, 6] == 0)
        #expect { _ = try LocalAttention(dimensions: 16, numHeads: 2, windowSize: -1) } throws: {
            ($0 as? AttentionError)?.argument == "windowSize"
        }
    }
}
