import Attention
import Foundation

@testable import AttentionModels

/// A tiny random BERT written as a Hugging Face model folder (config.json, model.safetensors
/// by our writer, vocab.txt, tokenizer_config.json, 1_Pooling/config.json, modules.json),
/// and an independent Double implementation of the same network to check it against.
struct TinyBERT {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "and",
        "then", "left", ".", ",", "!", "a", "dog", "##s", "##ed", "run", "un", "##believ",
        "##able", "##ly", "cafe", "hello", "world", "中", "文", "##a", "##b", "b",
    ]
    static let configuration = BERTConfiguration(
        vocabularySize: vocabulary.count, hiddenSize: 24, layerCount: 2, headCount: 3,
        intermediateSize: 40, maxPositions: 64, typeVocabularySize: 2, layerNormEpsilon: 1e-12)

    let parameters: [String: Tensor]
    let directory: URL

    /// Random weights (seeded) for every Hugging Face name, plus the pooler and
    /// `position_ids` a real checkpoint carries (the loader must ignore them).
    init(seed: UInt64 = 7, prefix: String = "") throws {
        let c = Self.configuration
        var p: [String: Tensor] = [:]
        var counter: UInt64 = seed
        func random(_ shape: [Int], scale: Float = 0.3, shift: Float = 0) -> Tensor {
            counter &+= 1
            return Tensor.randomNormal(shape, seed: counter) * scale + shift
        }
        let (e, f) = (c.hiddenSize, c.intermediateSize)
        p["embeddings.word_embeddings.weight"] = random([c.vocabularySize, e], scale: 1)
        p["embeddings.position_embeddings.weight"] = random([c.maxPositions, e], scale: 0.5)
        p["embeddings.token_type_embeddings.weight"] = random([2, e], scale: 0.5)
        p["embeddings.LayerNorm.weight"] = random([e], scale: 0.2, shift: 1)
        p["embeddings.LayerNorm.bias"] = random([e], scale: 0.1)
        for l in 0..<c.layerCount {
            let q = "encoder.layer.\(l)."
            for name in ["query", "key", "value"] {
                p[q + "attention.self.\(name).weight"] = random([e, e])
                p[q + "attention.self.\(name).bias"] = random([e], scale: 0.1)
            }
            p[q + "attention.output.dense.weight"] = random([e, e])
            p[q + "attention.output.dense.bias"] = random([e], scale: 0.1)
            p[q + "intermediate.dense.weight"] = random([f, e])
            p[q + "intermediate.dense.bias"] = random([f], scale: 0.1)
            p[q + "output.dense.weight"] = random([e, f])
            p[q + "output.dense.bias"] = random([e], scale: 0.1)
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                p[q + norm + ".weight"] = random([e], scale: 0.2, shift: 1)
                p[q + norm + ".bias"] = random([e], scale: 0.1)
            }
        }
        parameters = p
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tiny-bert-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(
            at: directory.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        var file: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] = p.map {
            (prefix + $0.key, $0.value, .f32)
        }
        file.append((prefix + "pooler.dense.weight", random([e, e]), .f32))
        file.append((prefix + "pooler.dense.bias", random([e]), .f32))
        file.append(
            (
                prefix + "embeddings.position_ids",
                try Tensor(
                    shape: [1, c.maxPositions], scalars: (0..<c.maxPositions).map(Float.init)),
                .i64
            ))
        try SafetensorsFile.write(
            file, metadata: ["format": "pt"],
            to: directory.appendingPathComponent("model.safetensors").path)
        let config = """
            {"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": \(e),
             "intermediate_size": \(f), "layer_norm_eps": 1e-12, "max_position_embeddings": \(c.maxPositions),
             "model_type": "bert", "num_attention_heads": \(c.headCount), "num_hidden_layers": \(c.layerCount),
             "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
             "vocab_size": \(c.vocabularySize)}
            """
        try write(config, "config.json")
        try write(Self.vocabulary.joined(separator: "\n") + "\n", "vocab.txt")
        try write(
            #"{"do_lower_case": true, "strip_accents": null, "tokenize_chinese_chars": true, "model_max_length": 512}"#,
            "tokenizer_config.json")
        try write(#"{"max_seq_length": 16}"#, "sentence_bert_config.json")
        try write(
            #"{"word_embedding_dimension": 24, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}"#,
            "1_Pooling/config.json")
        try write(
            #"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#,
            "modules.json")
    }

    func write(_ text: String, _ name: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    // MARK: The Double oracle

    func weights(_ name: String) -> [Double] { parameters[name]!.scalars.map(Double.init) }

    /// `x·Wᵀ + b` for `x` `[S][in]`.
    func linear(_ x: [[Double]], _ name: String) -> [[Double]] {
        let w = weights(name + ".weight"), b = weights(name + ".bias")
        let k = x.first?.count ?? 0, n = b.count
        return x.map { row -> [Double] in
            (0..<n).map { (j: Int) -> Double in
                var acc = b[j]
                for i in 0..<k { acc += row[i] * w[j * k + i] }
                return acc
            }
        }
    }

    func layerNorm(_ x: [[Double]], _ name: String) -> [[Double]] {
        let g = weights(name + ".weight"), b = weights(name + ".bias")
        return x.map { row in
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)
            let inverse = 1 / (variance + 1e-12).squareRoot()
            return row.indices.map { (row[$0] - mean) * inverse * g[$0] + b[$0] }
        }
    }

    func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        zip(a, b).map { zip($0, $1).map(+) }
    }

    /// The hidden states (embeddings, then each layer) of one sequence, in Double.
    func hiddenStates(_ ids: [Int]) -> [[[Double]]] {
        let c = Self.configuration
        let (e, h) = (c.hiddenSize, c.headCount)
        let dh = e / h
        let word = weights("embeddings.word_embeddings.weight")
        let position = weights("embeddings.position_embeddings.weight")
        let type = weights("embeddings.token_type_embeddings.weight")
        var x = ids.enumerated().map { t, id in
            (0..<e).map { word[id * e + $0] + position[t * e + $0] + type[$0] }
        }
        x = layerNorm(x, "embeddings.LayerNorm")
        var states = [x]
        for l in 0..<c.layerCount {
            let p = "encoder.layer.\(l)."
            let q = linear(x, p + "attention.self.query"), k = linear(x, p + "attention.self.key")
            let v = linear(x, p + "attention.self.value")
            var merged = [[Double]](repeating: [Double](repeating: 0, count: e), count: x.count)
            for head in 0..<h {
                let o = head * dh
                for i in x.indices {
                    let scores = x.indices.map { j in
                        (0..<dh).reduce(0.0) { $0 + q[i][o + $1] * k[j][o + $1] }
                            / Double(dh).squareRoot()
                    }
                    let top = scores.max()!
                    let exps = scores.map { Foundation.exp($0 - top) }
                    let total = exps.reduce(0, +)
                    for j in x.indices {
                        for d in 0..<dh { merged[i][o + d] += exps[j] / total * v[j][o + d] }
                    }
                }
            }
            let attended = linear(merged, p + "attention.output.dense")
            let h1 = layerNorm(add(attended, x), p + "attention.output.LayerNorm")
            let inner = linear(h1, p + "intermediate.dense").map {
                $0.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
            }
            x = layerNorm(add(linear(inner, p + "output.dense"), h1), p + "output.LayerNorm")
            states.append(x)
        }
        return states
    }

    /// Mean over tokens, L2-normalised.
    func sentenceEmbedding(_ ids: [Int]) -> [Double] {
        let last = hiddenStates(ids).last!
        let mean = (0..<last[0].count).map { d in
            last.reduce(0) { $0 + $1[d] } / Double(last.count)
        }
        let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return mean.map { $0 / norm }
    }
}
