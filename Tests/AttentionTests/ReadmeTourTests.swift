import Foundation
import Testing
import Attention

/// The README's API tour, at small sizes: it must compile and run as written.
@Suite struct ReadmeTourTests {
    @Test func tourRuns() throws {
        let q = Tensor.randomNormal([2, 8, 64, 64], seed: 0)
        let k = Tensor.randomNormal([2, 2, 64, 64], seed: 1)
        let v = Tensor.randomNormal([2, 2, 64, 64], seed: 2)
        let out = try scaledDotProductAttention(query: q, key: k, value: v, mask: .causal)
        #expect(out.shape == [2, 8, 64, 64])

        let r = try scaledDotProductAttention(
            query: q, key: k, value: v,
            options: .init(
                mask: .slidingWindow(left: 128, right: 0),
                alibi: try ALiBi(heads: 8, form: .causal),
                returnLogSumExp: true))
        #expect(r.backend == .fused && r.logSumExp?.shape == [2, 8, 64])

        let dO = Tensor.randomNormal([2, 8, 64, 64], seed: 4)
        let g = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: r.output,
            logSumExp: r.logSumExp!,
            options: .init(
                mask: .slidingWindow(left: 128, right: 0),
                alibi: try ALiBi(heads: 8, form: .causal)))
        #expect(g.gradQuery.shape == [2, 8, 64, 64] && g.gradKey.shape == [2, 2, 64, 64])

        let single = try scaledDotProductAttention(
            query: q, key: k, value: v,
            options: .init(
                mask: .causal, execution: ExecutionOptions(threads: 1, instructionSet: .portable)))
        #expect(single.output.shape == out.shape)

        var mha = try MultiHeadAttention(dimensions: 512, numHeads: 8)
        mha.rope = try RoPE(dimensions: 64, scaling: .llama3(factor: 8))
        let x = Tensor.randomNormal([2, 16, 512], seed: 3)
        let y = try mha(x, isCausal: true)
        let (_, weights) = try mha.attentionWithWeights(x)
        #expect(y.shape == [2, 16, 512] && weights.shape == [2, 8, 16, 16])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tour-\(UUID()).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsFile.write(mha.parameters(), to: path)

        let (y2, pullback) = try mha.valueAndGradient(x, isCausal: true)
        let grads = try pullback(y2 * (2 / Float(y2.count)))
        var params = mha.parameters()
        for (name, g) in grads.parameters { params[name] = try params[name]! - g * 0.01 }
        try mha.update(parameters: params)
        #expect(grads.queries.shape == x.shape && grads.parameters.count == 8)
        // One small step down the gradient lowers L = mean(y²).
        let after = try mha(x, isCausal: true)
        let lossBefore = y2.scalars.reduce(Float(0)) { $0 + $1 * $1 }
        let lossAfter = after.scalars.reduce(Float(0)) { $0 + $1 * $1 }
        #expect(lossAfter < lossBefore)

        let bigBird = AttentionMask.bigBirdBlocks(
            blockSize: 64, windowBlocks: 3, globalBlocks: 2, randomBlocks: 3, seed: 0)
        let local = try LocalAttention(dimensions: 512, numHeads: 8, windowSize: 256)
        let mask = try AttentionMask(parsing: "causal+window:128,0")
        #expect(bigBird.density(queries: 1024, keys: 1024) < 0.6 && local.windowSize == 256)
        #expect(
            mask.isVisible(query: 10, key: 5, queries: 20, keys: 20)
                && !mask.isVisible(query: 10, key: 11, queries: 20, keys: 20))
    }
}
