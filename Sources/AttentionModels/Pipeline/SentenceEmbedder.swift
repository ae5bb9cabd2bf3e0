import Attention
import Foundation

/// Sentence embeddings as sentence-transformers computes them: tokenize, encode with BERT,
/// pool the token vectors, optionally L2-normalise (all-MiniLM-L6-v2 and its kin).
///
/// ```swift
/// let model = try SentenceEmbedder(directory: SentenceEmbedder.defaultDirectory)
/// let e = try model.embed(["A man is eating food.", "A man eats."])     // [2, 384]
/// let similarity = SentenceEmbedder.cosineSimilarities(e)               // [2, 2]
/// ```
/// A model folder is what sentence-transformers saves: `config.json`, `model.safetensors`,
/// `vocab.txt`, `tokenizer_config.json`, optional `sentence_bert_config.json`
/// (`max_seq_length`), `1_Pooling/config.json` (mean or CLS pooling) and `modules.json`
/// (a `Normalize` module turns normalisation on). `scripts/fetch-minilm.sh` puts
/// all-MiniLM-L6-v2 at ``defaultDirectory``.
public struct SentenceEmbedder: Sendable {
    /// How token vectors become one sentence vector.
    public enum Pooling: String, Sendable {
        /// The mean over all the sentence's tokens (`[CLS]` and `[SEP]` included).
        case mean
        /// The `[CLS]` token's vector.
        case cls
    }

    public var tokenizer: WordPieceTokenizer
    public var encoder: BERTEncoder
    public var pooling: Pooling
    /// Divide each embedding by its Euclidean norm.
    public var normalize: Bool
    /// Sentences are encoded in packed batches of at most this many tokens.
    public var maxTokensPerBatch = 8192

    public init(
        tokenizer: WordPieceTokenizer, encoder: BERTEncoder, pooling: Pooling = .mean,
        normalize: Bool = true
    ) {
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
    }

    /// Loads a sentence-transformers model folder (see the type's description).
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming the file that is missing,
    ///   invalid or asks for something unsupported.
    public init(directory: String) throws {
        let folder = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw AttentionError(.invalidFile, argument: directory, "is not a folder")
        }
        var pooling = Pooling.mean
        let poolingPath = folder.appendingPathComponent("1_Pooling/config.json").path
        if let config = try ModelFiles.readJSONObject(poolingPath, optional: true) {
            let modes = config.filter {
                $0.key.hasPrefix("pooling_mode_") && ($0.value as? Bool) == true
            }
            .map(\.key)
            switch modes {
            case ["pooling_mode_mean_tokens"]: pooling = .mean
            case ["pooling_mode_cls_token"]: pooling = .cls
            default:
                throw AttentionError(
                    .invalidFile, argument: poolingPath,
                    "unsupported pooling \(modes.sorted()) (only mean_tokens or cls_token)")
            }
        }
        var normalize = false
        let modulesPath = folder.appendingPathComponent("modules.json").path
        if FileManager.default.fileExists(atPath: modulesPath) {
            guard let modules = try ModelFiles.readJSON(modulesPath) as? [[String: Any]] else {
                throw AttentionError(.invalidFile, argument: modulesPath, "expected a JSON list")
            }
            normalize = modules.contains {
                ($0["type"] as? String)?.hasSuffix(".Normalize") == true
            }
        }
        var tokenizer = try WordPieceTokenizer(directory: directory)
        let encoder = try BERTEncoder(directory: directory)
        // Every id the tokenizer can produce must have a row in the embedding table.
        guard tokenizer.tokens.count <= encoder.configuration.vocabularySize else {
            throw AttentionError(
                .invalidFile, argument: folder.appendingPathComponent("vocab.txt").path,
                "has \(tokenizer.tokens.count) tokens, more than config.json's \"vocab_size\" \(encoder.configuration.vocabularySize)"
            )
        }
        // Never longer than the position table (a folder without a length limit, or a
        // tokenizer limit above the model's).
        let positions = encoder.configuration.maxPositions
        tokenizer.maxLength = Swift.min(tokenizer.maxLength ?? positions, positions)
        self.init(tokenizer: tokenizer, encoder: encoder, pooling: pooling, normalize: normalize)
    }

    /// Where `scripts/fetch-minilm.sh` puts all-MiniLM-L6-v2:
    /// `$SWIFT_ATTENTION_MINILM` if set, else
    /// `${XDG_CACHE_HOME:-~/.cache}/swift-attention/all-MiniLM-L6-v2`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SWIFT_ATTENTION_MINILM"], !path.isEmpty { return path }
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache").path
        return URL(fileURLWithPath: cache).appendingPathComponent(
            "swift-attention/all-MiniLM-L6-v2"
        ).path
    }

    /// Whether `directory` holds the files ``init(directory:)`` needs.
    public static func isModelDirectory(_ directory: String) -> Bool {
        ["config.json", "model.safetensors", "vocab.txt"].allSatisfy {
            FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: directory).appendingPathComponent($0).path)
        }
    }

    /// The embeddings of `sentences`, `[N, E]` (row `i` for sentence `i`).
    /// - Parameter execution: threads and kernel variant (default: the encoder's).
    public func embed(_ sentences: [String], execution: ExecutionOptions? = nil) throws -> Tensor {
        let ids = sentences.map(tokenizer.encode)
        var rows: [Float] = []
        rows.reserveCapacity(sentences.count * encoder.configuration.hiddenSize)
        var start = 0
        while start < ids.count {
            var end = start, tokens = 0
            while end < ids.count && (end == start || tokens + ids[end].count <= maxTokensPerBatch)
            {
                tokens += ids[end].count
                end += 1
            }
            let batch = Array(ids[start..<end])
            let output = try encoder(batch, execution: execution)
            rows += try pool(output).scalars
            start = end
        }
        return try Tensor(
            shape: [sentences.count, encoder.configuration.hiddenSize], scalars: rows)
    }

    /// The pooled (and normalised) vectors of an encoder output: `[sequences, E]`.
    public func pool(_ output: BERTOutput) throws -> Tensor {
        switch pooling {
        case .mean:
            return RowKernels.segmentMeans(
                output.lastHiddenState, lengths: output.lengths, normalize: normalize)
        case .cls:
            let first = try (0..<output.lengths.count).map { try output.sequence($0) }
                .map { try $0.sliced(axis: 0, range: 0..<1) }
            let cls = try Tensor(
                shape: [first.count, encoder.configuration.hiddenSize],
                scalars: first.flatMap(\.scalars))
            return RowKernels.segmentMeans(
                cls, lengths: Array(repeating: 1, count: first.count), normalize: normalize)
        }
    }

    /// Cosine similarity of every pair of rows of `embeddings` `[N, E]`: `[N, N]`.
    public static func cosineSimilarities(_ embeddings: Tensor) -> Tensor {
        let n = embeddings.shape.first ?? 0, e = embeddings.count / Swift.max(n, 1)
        let v = embeddings.scalars
        let norms = (0..<n).map { i in
            Swift.max(
                (0..<e).reduce(0.0) { $0 + Double(v[i * e + $1] * v[i * e + $1]) }.squareRoot(),
                1e-12)
        }
        var out = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let dot = (0..<e).reduce(0.0) { $0 + Double(v[i * e + $1]) * Double(v[j * e + $1]) }
                out[i * n + j] = Float(dot / (norms[i] * norms[j]))
            }
        }
        return try! Tensor(shape: [n, n], scalars: out)  // n·n values for [n, n]
    }
}
