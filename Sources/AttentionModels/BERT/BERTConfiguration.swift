import Attention
import Foundation

/// The shape of a BERT encoder, as Hugging Face's `config.json` spells it.
public struct BERTConfiguration: Sendable, Hashable {
    /// `vocab_size`: rows of the word-embedding table.
    public var vocabularySize: Int
    /// `hidden_size`: model width `E`.
    public var hiddenSize: Int
    /// `num_hidden_layers`.
    public var layerCount: Int
    /// `num_attention_heads`; divides `hiddenSize`.
    public var headCount: Int
    /// `intermediate_size`: width of the feed-forward layer.
    public var intermediateSize: Int
    /// `max_position_embeddings`: the longest sequence.
    public var maxPositions: Int
    /// `type_vocab_size`: token-type (segment) embeddings.
    public var typeVocabularySize: Int
    /// `layer_norm_eps`.
    public var layerNormEpsilon: Float

    public init(
        vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
        intermediateSize: Int, maxPositions: Int = 512, typeVocabularySize: Int = 2,
        layerNormEpsilon: Float = 1e-12
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// Reads `config.json` of a Hugging Face BERT model (`model_type` `"bert"`, absolute
    /// positions, `hidden_act` `"gelu"`).
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming the file and the missing or
    ///   unsupported field.
    public init(contentsOf path: String) throws {
        guard let json = try ModelFiles.readJSONObject(path) else {
            throw AttentionError(.invalidFile, argument: path, "cannot be read")
        }
        func integer(_ key: String, default value: Int? = nil) throws -> Int {
            if let number = json[key] as? NSNumber,
                number.doubleValue == number.doubleValue.rounded(),
                number.doubleValue >= 1, number.doubleValue <= Double(1 << 31)
            {
                return number.intValue
            }
            if json[key] == nil, let value { return value }
            throw AttentionError(
                .invalidFile, argument: path, "\"\(key)\" must be a positive integer")
        }
        for (key, supported) in [
            ("hidden_act", "gelu"), ("position_embedding_type", "absolute"),
        ] {
            if let value = json[key], (value as? String) != supported {
                throw AttentionError(
                    .invalidFile, argument: path,
                    "\"\(key)\": \(value) is not supported (only \"\(supported)\")")
            }
        }
        self.init(
            vocabularySize: try integer("vocab_size"), hiddenSize: try integer("hidden_size"),
            layerCount: try integer("num_hidden_layers"),
            headCount: try integer("num_attention_heads"),
            intermediateSize: try integer("intermediate_size"),
            maxPositions: try integer("max_position_embeddings", default: 512),
            typeVocabularySize: try integer("type_vocab_size", default: 2),
            layerNormEpsilon: try Self.epsilon(json["layer_norm_eps"], path: path))
        guard hiddenSize % headCount == 0 else {
            throw AttentionError(
                .invalidFile, argument: path,
                "\"hidden_size\" \(hiddenSize) is not a multiple of \"num_attention_heads\" \(headCount)"
            )
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw AttentionError(.invalidFile, argument: path, "\"layer_norm_eps\" must be > 0")
        }
    }

    /// `layer_norm_eps`: a number (default `1e-12` when absent).
    private static func epsilon(_ value: Any?, path: String) throws -> Float {
        guard let value else { return 1e-12 }
        guard let number = value as? NSNumber, !(value is String) else {
            throw AttentionError(
                .invalidFile, argument: path, "\"layer_norm_eps\" must be a number, got \(value)")
        }
        return number.floatValue
    }

    /// Checks that every size is positive, `hiddenSize` is a multiple of `headCount` and
    /// `layerNormEpsilon` is a positive number.
    /// - Throws: ``AttentionError`` naming the property.
    public func validate() throws {
        for (name, value) in [
            ("vocabularySize", vocabularySize), ("hiddenSize", hiddenSize),
            ("layerCount", layerCount), ("headCount", headCount),
            ("intermediateSize", intermediateSize), ("maxPositions", maxPositions),
            ("typeVocabularySize", typeVocabularySize),
        ] where value < 1 {
            throw AttentionError(.invalidArgument, argument: name, "must be ≥ 1, got \(value)")
        }
        guard hiddenSize % headCount == 0 else {
            throw AttentionError(
                .invalidArgument, argument: "hiddenSize",
                "\(hiddenSize) is not a multiple of headCount \(headCount)")
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw AttentionError(
                .invalidArgument, argument: "layerNormEpsilon",
                "must be a positive number, got \(layerNormEpsilon)")
        }
    }
}
