import Attention
import Foundation
import Testing

@testable import AttentionModels

/// The loading and layer code on a tiny random BERT written by the test (always runs, no
/// model files needed), against the Double oracle in `TinyBERT`.
@Suite struct TinyBERTTests {
    static let sentences = [
        "The cat sat on the mat and then left.", "Hello, world!", "a", "",
        "The dogs ran and then sat on a mat , unbelievably !", "中文 cafe",
    ]

    /// Every hidden state of every sentence (run as one packed batch) against Double, and the
    /// pooled, normalised embeddings. Float32 through 2 layers of width 24: the error is
    /// ~1e-6; the bound 5e-5 leaves room and still catches any wrong step (a wrong weight,
    /// a missing residual, tanh-GELU, unbiased variance each move values by > 1e-3).
    @Test func packedBatchMatchesDoubleOracle() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        let model = try SentenceEmbedder(directory: tiny.directory.path)
        #expect(model.pooling == .mean && model.normalize)
        #expect(model.tokenizer.maxLength == 16)
        let ids = Self.sentences.map(model.tokenizer.encode)
        let output = try model.encoder(ids, hiddenStates: true)
        #expect(output.hiddenStates.count == TinyBERT.configuration.layerCount + 1)
        var worst: Double = 0
        for (s, sequence) in ids.enumerated() {
            let expected = tiny.hiddenStates(sequence)
            for (layer, state) in output.hiddenStates.enumerated() {
                let got = try output.sequence(s, of: state).scalars
                let want = expected[layer].flatMap { $0 }
                #expect(got.count == want.count)
                for (g, w) in zip(got, want) { worst = max(worst, abs(Double(g) - w)) }
            }
        }
        #expect(worst <= 5e-5, "hidden states differ from Double by \(worst)")
        let embeddings = try model.embed(Self.sentences)
        #expect(embeddings.shape == [Self.sentences.count, 24])
        var worstEmbedding: Double = 0
        for (s, sequence) in ids.enumerated() {
            let want = tiny.sentenceEmbedding(sequence)
            for d in 0..<24 {
                worstEmbedding = max(worstEmbedding, abs(Double(embeddings[s, d]) - want[d]))
            }
        }
        #expect(worstEmbedding <= 2e-5, "embeddings differ from Double by \(worstEmbedding)")
    }

    /// Packing is invisible: each sentence alone (no mask) gives what the packed batch gives,
    /// and batches split by `maxTokensPerBatch` give the same rows.
    @Test func packingMatchesOneAtATime() throws {
        let tiny = try TinyBERT(seed: 11)
        defer { tiny.remove() }
        var model = try SentenceEmbedder(directory: tiny.directory.path)
        let together = try model.embed(Self.sentences)
        model.maxTokensPerBatch = 1
        let alone = try model.embed(Self.sentences)
        #expect(together.maxAbsDifference(alone) <= 1e-6)
    }

    /// Without `sentence_bert_config.json` the tokenizer's `model_max_length` (512) applies,
    /// capped at the model's 64 positions, so a long sentence is truncated, not an error.
    @Test func lengthLimitNeverExceedsPositions() throws {
        let tiny = try TinyBERT(seed: 5)
        defer { tiny.remove() }
        try FileManager.default.removeItem(
            at: tiny.directory.appendingPathComponent("sentence_bert_config.json"))
        let model = try SentenceEmbedder(directory: tiny.directory.path)
        #expect(model.tokenizer.maxLength == TinyBERT.configuration.maxPositions)
        let long = Array(repeating: "cat", count: 100).joined(separator: " ")
        let ids = model.tokenizer.encode(long)
        #expect(ids.count == 64)
        let e = try model.embed([long])
        let want = tiny.sentenceEmbedding(ids)
        #expect((0..<24).allSatisfy { abs(Double(e[0, $0]) - want[$0]) <= 2e-5 })
    }

    /// A checkpoint saved from `BertForMaskedLM` has every name under `bert.`.
    @Test func acceptsBertPrefix() throws {
        let tiny = try TinyBERT(seed: 3, prefix: "bert.")
        defer { tiny.remove() }
        let encoder = try BERTEncoder(directory: tiny.directory.path)
        for (name, value) in tiny.parameters {
            #expect(encoder.parameters()[name] == value, "\(name)")
        }
        #expect(encoder.parameters().count == tiny.parameters.count)
    }

    /// The attention weights behind `attention plot heads`: rows sum to 1 and equal the
    /// Double softmax of layer 0 (recomputed here from the Double embeddings).
    @Test func attentionWeightsOfLayerZero() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        let model = try SentenceEmbedder(directory: tiny.directory.path)
        let ids = model.tokenizer.encode("the cat sat on the mat")
        let w = try model.encoder.attentionWeights(ids, layer: 0)
        let (h, s) = (TinyBERT.configuration.headCount, ids.count)
        #expect(w.shape == [h, s, s])
        let x = tiny.hiddenStates(ids)[0]
        let q = tiny.linear(x, "encoder.layer.0.attention.self.query")
        let k = tiny.linear(x, "encoder.layer.0.attention.self.key")
        let dh = TinyBERT.configuration.hiddenSize / h
        var worst: Double = 0
        for head in 0..<h {
            for i in 0..<s {
                let scores = (0..<s).map { j in
                    (0..<dh).reduce(0.0) { $0 + q[i][head * dh + $1] * k[j][head * dh + $1] }
                        / Double(dh).squareRoot()
                }
                let exps = scores.map { Foundation.exp($0 - scores.max()!) }
                let total = exps.reduce(0, +)
                for j in 0..<s { worst = max(worst, abs(Double(w[head, i, j]) - exps[j] / total)) }
            }
        }
        #expect(worst <= 1e-5)
        #expect(throws: AttentionError.self) { try model.encoder.attentionWeights(ids, layer: 2) }
    }

    /// Bad weights and configs are errors naming what is wrong, never traps.
    @Test func badFilesAreNamedErrors() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        var missing = tiny.parameters
        missing["encoder.layer.1.output.dense.bias"] = nil
        #expect {
            try BERTEncoder(configuration: TinyBERT.configuration, parameters: missing)
        } throws: { ($0 as? AttentionError)?.argument == "encoder.layer.1.output.dense.bias" }
        var wrong = tiny.parameters
        wrong["embeddings.position_embeddings.weight"] = Tensor.zeros([10, 24])
        #expect {
            try BERTEncoder(configuration: TinyBERT.configuration, parameters: wrong)
        } throws: {
            ($0 as? AttentionError)?.argument == "embeddings.position_embeddings.weight"
        }
        var negative = TinyBERT.configuration
        negative.layerCount = -1
        #expect {
            try BERTEncoder(configuration: negative, parameters: tiny.parameters)
        } throws: { ($0 as? AttentionError)?.argument == "layerCount" }
        var uneven = TinyBERT.configuration
        uneven.headCount = 5
        #expect {
            try BERTEncoder(configuration: uneven, parameters: tiny.parameters)
        } throws: { ($0 as? AttentionError)?.argument == "hiddenSize" }
        let encoder = try BERTEncoder(
            configuration: TinyBERT.configuration, parameters: tiny.parameters)
        let output = try encoder([[2, 5, 3], [2, 3]])
        #expect(throws: AttentionError.self) { try output.sequence(2) }
        #expect(throws: AttentionError.self) { try output.sequence(0, of: Tensor.zeros([3])) }
        #expect(throws: AttentionError.self) { try encoder([[2, 999, 3]]) }
        #expect(throws: AttentionError.self) { try encoder([[]]) }
        #expect(throws: AttentionError.self) { try encoder([Array(repeating: 5, count: 65)]) }
        #expect(try encoder([]).lengths.isEmpty)

        try tiny.write(#"{"hidden_size": 24, "hidden_act": "relu"}"#, "config.json")
        #expect {
            try BERTEncoder(directory: tiny.directory.path)
        } throws: { error in
            let e = error as? AttentionError
            return e?.kind == .invalidFile && e?.argument.hasSuffix("config.json") == true
        }
        try tiny.write("not json", "config.json")
        #expect(throws: AttentionError.self) { try BERTEncoder(directory: tiny.directory.path) }
        #expect(throws: AttentionError.self) {
            try SentenceEmbedder(directory: tiny.directory.appendingPathComponent("none").path)
        }
    }

    /// The GELU's erf against Foundation's Double `erf` on a fine grid over [−6, 6].
    @Test func erfApproximation() {
        var worst: Double = 0
        for i in -60000...60000 {
            let x = Float(i) / 10000
            let got = RowKernels.erf(x)
            worst = max(worst, abs(Double(got) - Foundation.erf(Double(x))))
        }
        #expect(worst <= 5e-7, "erf error \(worst)")
    }

    /// LayerNorm against Double, on rows with a mean of 10 (a one-pass E[x²] − E[x]² would
    /// lose ~1e-3 there; the two-pass form loses only the float rounding of the mean).
    @Test func layerNormMatchesDouble() throws {
        var norm = try LayerNorm(dimensions: 37, epsilon: 1e-5)
        let gamma = Tensor.randomNormal([37], seed: 1) + 1,
            beta = Tensor.randomNormal([37], seed: 2)
        try norm.update(parameters: ["weight": gamma, "bias": beta])
        let x = Tensor.randomNormal([5, 3, 37], seed: 3) + 10
        let y = try norm(x, execution: ExecutionOptions(threads: 2))
        let xs = x.scalars.map(Double.init), g = gamma.scalars, b = beta.scalars
        var worst: Double = 0
        for r in 0..<15 {
            let row = Array(xs[r * 37..<(r + 1) * 37])
            let mean = row.reduce(0, +) / 37
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 37
            for i in 0..<37 {
                let want =
                    (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(g[i]) + Double(b[i])
                worst = max(worst, abs(Double(y.scalars[r * 37 + i]) - want))
            }
        }
        // The float mean of 37 values near 10 is off by ~1e-6; scaled by |γ| ≲ 3.
        #expect(worst <= 2e-5, "LayerNorm error \(worst)")
        #expect(throws: AttentionError.self) { try norm(Tensor.zeros([2, 36])) }
        #expect(throws: AttentionError.self) {
            try norm.update(parameters: ["weight": Tensor.zeros([3])])
        }
    }
}
