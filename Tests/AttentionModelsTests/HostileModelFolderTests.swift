import Attention
import Foundation
import Testing

@testable import AttentionModels

/// A model folder edited the way a careless or hostile user would: every defect is an
/// ``AttentionError`` naming the file and the field, before anything of the claimed size is
/// allocated; never a trap.
@Suite struct HostileModelFolderTests {
    /// Loading `tiny`'s folder fails with an error whose argument ends in `file` and whose
    /// message contains `words`.
    func expectLoadError(_ tiny: TinyBERT, file: String, mentions words: String) {
        #expect {
            try SentenceEmbedder(directory: tiny.directory.path)
        } throws: { error in
            guard let e = error as? AttentionError else { return false }
            return e.kind == .invalidFile && e.argument.hasSuffix(file)
                && e.message.contains(words)
        }
    }

    /// `config.json` of the tiny model with `edit` applied to its fields.
    func config(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let c = TinyBERT.configuration
        var json: [String: Any] = [
            "hidden_act": "gelu", "hidden_size": c.hiddenSize,
            "intermediate_size": c.intermediateSize, "layer_norm_eps": 1e-12,
            "max_position_embeddings": c.maxPositions, "num_attention_heads": c.headCount,
            "num_hidden_layers": c.layerCount, "type_vocab_size": 2,
            "vocab_size": c.vocabularySize,
        ]
        edit(&json)
        return String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
    }

    /// 2³¹ layers in config.json used to reserve room for all of them (a 2 TB allocation,
    /// then a trap); now loading stops at the first layer the weights do not have.
    @Test func absurdLayerCountIsAMissingTensor() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        try tiny.write(try config { $0["num_hidden_layers"] = 1 << 31 }, "config.json")
        expectLoadError(tiny, file: "model.safetensors", mentions: "encoder.layer.2.")
        var huge = TinyBERT.configuration
        huge.layerCount = 1 << 31
        #expect {
            try BERTEncoder(configuration: huge, parameters: tiny.parameters)
        } throws: { ($0 as? AttentionError)?.argument.hasPrefix("encoder.layer.2.") == true }
    }

    @Test func layerNormEpsilonMustBeANumber() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        try tiny.write(try config { $0["layer_norm_eps"] = "small" }, "config.json")
        expectLoadError(tiny, file: "config.json", mentions: "\"layer_norm_eps\" must be a number")
        try tiny.write(try config { $0["layer_norm_eps"] = NSNull() }, "config.json")
        expectLoadError(tiny, file: "config.json", mentions: "\"layer_norm_eps\"")
    }

    /// A vocab.txt longer than `vocab_size` would hand the encoder ids without an embedding
    /// row (an error only when such a word shows up); it is refused when loading.
    @Test func vocabularyLargerThanTheEmbeddingTable() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        try tiny.write((TinyBERT.vocabulary + ["zebra"]).joined(separator: "\n"), "vocab.txt")
        expectLoadError(
            tiny, file: "vocab.txt",
            mentions: "has \(TinyBERT.vocabulary.count + 1) tokens, more than config.json's")
        // One token fewer than the table is fine (as in Hugging Face).
        try tiny.write(TinyBERT.vocabulary.dropLast().joined(separator: "\n"), "vocab.txt")
        let model = try SentenceEmbedder(directory: tiny.directory.path)
        #expect(model.tokenizer.tokens.count == TinyBERT.vocabulary.count - 1)
    }

    /// Length limits: the file that sets a bad one is named (it used to be vocab.txt, and
    /// 1e300 became Int.min); a huge value is the "no limit" sentinel.
    @Test func lengthLimitsNameTheirFile() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        for (value, words) in [
            ("0", "got 0"), ("1", "got 1"), ("-1e300", "got -1e+300"), ("2.5", "got 2.5"),
            ("\"long\"", "must be an integer"),
        ] {
            try tiny.write("{\"max_seq_length\": \(value)}", "sentence_bert_config.json")
            expectLoadError(tiny, file: "sentence_bert_config.json", mentions: words)
        }
        try tiny.write(#"{"max_seq_length": 1e300}"#, "sentence_bert_config.json")
        // No limit of its own: the position table's (64) applies.
        #expect(try SentenceEmbedder(directory: tiny.directory.path).tokenizer.maxLength == 64)
        try tiny.write(#"{"max_seq_length": null}"#, "sentence_bert_config.json")
        try tiny.write(#"{"model_max_length": -5}"#, "tokenizer_config.json")
        expectLoadError(tiny, file: "tokenizer_config.json", mentions: "got -5")
        try tiny.write(#"{"model_max_length": 12}"#, "tokenizer_config.json")
        #expect(try SentenceEmbedder(directory: tiny.directory.path).tokenizer.maxLength == 12)
    }

    @Test func malformedModulesJSONNamesTheFile() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        try tiny.write("[{", "modules.json")
        expectLoadError(tiny, file: "modules.json", mentions: "is not valid JSON")
    }

    /// A long text is tokenized in chunks that stop once `maxLength` pieces are there; the
    /// pieces are exactly those of tokenizing the whole text at once.
    @Test func chunkedEncodingMatchesWholeText() throws {
        let words = [
            "Héllo,", "the", "cat", "sat", "on", "the", "mat", "unbelievably", "中文", "dogs!",
            "a\u{00A0}b", "x\u{0301}", "  ", "\t", "cafe\u{0301}", "run.", "thenleft",
        ]
        var text = ""
        var state: UInt64 = 12345
        while text.unicodeScalars.count < 30_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text += words[Int(state >> 33) % words.count] + " "
        }
        let whole = try WordPieceTokenizer(tokens: TinyBERT.vocabulary)
        let all = whole.pieces(text)
        #expect(all.count > 8000)
        #expect(whole.encode(text) == [2] + all + [3])
        for limit in [2, 16, 5000] {
            let cut = try WordPieceTokenizer(tokens: TinyBERT.vocabulary, maxLength: limit)
            #expect(cut.encode(text) == [2] + all.prefix(limit - 2) + [3])
            #expect(Array(cut.pieces(text, limit: limit).prefix(limit)) == Array(all.prefix(limit)))
        }
    }
}

/// Weights that load but make no sense: integer dtypes, NaN, a reshaped projection.
@Suite struct HostileWeightsTests {
    /// Rewrites the tiny model's safetensors with `name` replaced by `tensor` (`dtype`).
    func rewrite(_ tiny: TinyBERT, _ name: String, _ tensor: Tensor, _ dtype: SafetensorsDType)
        throws
    {
        var p = tiny.parameters
        p[name] = tensor
        try SafetensorsFile.write(
            p.map { (name: $0.key, tensor: $0.value, dtype: $0.key == name ? dtype : .f32) },
            to: tiny.directory.appendingPathComponent("model.safetensors").path)
    }

    func loadError(_ tiny: TinyBERT) -> AttentionError? {
        do {
            _ = try SentenceEmbedder(directory: tiny.directory.path)
            return nil
        } catch {
            return error as? AttentionError
        }
    }

    /// An I64 LayerNorm weight used to be truncated to integers silently.
    @Test func integerWeightsAreRefused() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        let name = "encoder.layer.0.attention.output.LayerNorm.weight"
        for dtype in [SafetensorsDType.i64, .u8, .bool] {
            try rewrite(tiny, name, Tensor.ones([24]), dtype)
            let error = loadError(tiny)
            #expect(error?.argument.hasSuffix("model.safetensors") == true)
            #expect(
                error?.message
                    == "tensor \"\(name)\" is \(dtype.rawValue); weights must be F32, F16, BF16 or F64",
                "\(String(describing: error))")
        }
        try rewrite(tiny, name, tiny.parameters[name]!, .f16)
        #expect(loadError(tiny) == nil)
    }

    @Test func nonFiniteWeightsAreRefused() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        let name = "encoder.layer.1.intermediate.dense.weight"
        var scalars = tiny.parameters[name]!.scalars
        for bad in [Float.nan, .infinity] {
            scalars[17] = bad
            try rewrite(tiny, name, try Tensor(shape: [40, 24], scalars: scalars), .f32)
            #expect(loadError(tiny)?.message == "\(name): has NaN or infinite values")
        }
    }

    /// A projection of the right size but the wrong shape is named by its Hugging Face name
    /// (it used to be the layer's internal `query_proj.weight`).
    @Test func wrongShapeNamesTheTensor() throws {
        let tiny = try TinyBERT()
        defer { tiny.remove() }
        let name = "encoder.layer.1.attention.self.query.weight"
        try rewrite(tiny, name, try tiny.parameters[name]!.reshaped([24, 1, 24]), .f32)
        #expect(loadError(tiny)?.message == "\(name): expected [24, 24], got [24, 1, 24]")
        var wide = tiny.parameters
        wide["encoder.layer.0.output.dense.weight"] = Tensor.zeros([24, 24])
        #expect {
            try BERTEncoder(configuration: TinyBERT.configuration, parameters: wide)
        } throws: { ($0 as? AttentionError)?.argument == "encoder.layer.0.output.dense.weight" }
    }
}
