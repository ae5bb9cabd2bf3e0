import Attention
import Foundation

/// A BERT encoder (Devlin et al. 2019) built from the library's layers, loaded from a Hugging
/// Face checkpoint by parameter name.
///
/// ```
/// x₀ = LayerNorm(word[id] + position[p] + tokenType[0])      embeddings          [T, E]
/// xₗ = BERTLayer(xₗ₋₁)   l = 1 … layerCount                   post-norm blocks
/// ```
/// A batch of token sequences of different lengths runs **packed**: the sequences are laid
/// end to end as one `[1, T, E]` row block (`T` = the sum of the lengths), so the
/// projections and the feed-forward layers multiply only real tokens, and attention takes
/// ``AttentionMask/blockDiagonal(lengths:)``, whose tiles outside the sequences the fused
/// kernel skips. There is no padding anywhere.
///
/// Parameter names are Hugging Face `BertModel`'s: `embeddings.word_embeddings.weight`,
/// `embeddings.position_embeddings.weight`, `embeddings.token_type_embeddings.weight`,
/// `embeddings.LayerNorm.{weight,bias}` and `encoder.layer.{i}.…` (see ``BERTLayer``),
/// optionally all under `bert.`. Other tensors in the file (the pooler, `position_ids`) are
/// ignored.
public struct BERTEncoder: Sendable {
    public let configuration: BERTConfiguration
    public private(set) var wordEmbeddings: Tensor
    public private(set) var positionEmbeddings: Tensor
    public private(set) var tokenTypeEmbeddings: Tensor
    public private(set) var embeddingNorm: LayerNorm
    public private(set) var layers: [BERTLayer]
    /// How calls run (threads, kernel variant); a call may override it.
    public var execution = ExecutionOptions()

    /// An encoder of `configuration`'s shape with the weights in `parameters` (by Hugging
    /// Face name, optionally prefixed `bert.`).
    /// - Throws: ``AttentionError`` naming the missing tensor, or the one whose shape is
    ///   not the configuration's.
    public init(configuration: BERTConfiguration, parameters: [String: Tensor]) throws {
        let prefix =
            parameters["embeddings.word_embeddings.weight"] == nil
                && parameters["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func lookup(_ name: String) throws -> Tensor {
            guard let t = parameters[prefix + name] else {
                throw AttentionError(
                    .invalidArgument, argument: prefix + name, "missing from the weights")
            }
            return t
        }
        try self.init(configuration: configuration, lookup: lookup)
    }

    /// The encoder of a Hugging Face model folder: `config.json` and `model.safetensors`.
    /// - Throws: ``AttentionError`` naming the file and what is wrong with it.
    public init(directory: String) throws {
        let folder = URL(fileURLWithPath: directory)
        let configuration = try BERTConfiguration(
            contentsOf: folder.appendingPathComponent("config.json").path)
        let file = try SafetensorsFile(
            contentsOf: folder.appendingPathComponent("model.safetensors").path)
        let prefix =
            file.names.contains("embeddings.word_embeddings.weight")
                || !file.names.contains("bert.embeddings.word_embeddings.weight") ? "" : "bert."
        do {
            try self.init(configuration: configuration) { name in
                guard file.names.contains(prefix + name) else {
                    throw AttentionError(
                        .invalidFile, argument: file.source,
                        "no tensor named \"\(prefix + name)\" (not a BERT checkpoint?)")
                }
                // Integer or boolean weights would convert silently into a nonsense model.
                let dtype = try file.dtype(of: prefix + name)
                guard [.f32, .f16, .bf16, .f64].contains(dtype) else {
                    throw AttentionError(
                        .invalidFile, argument: file.source,
                        "tensor \"\(prefix + name)\" is \(dtype.rawValue); weights must be F32, F16, BF16 or F64"
                    )
                }
                return try file.tensor(named: prefix + name)
            }
        } catch let error as AttentionError where error.kind != .invalidFile {
            throw AttentionError(.invalidFile, argument: file.source, error.description)
        }
    }

    private init(configuration c: BERTConfiguration, lookup: (String) throws -> Tensor) throws {
        try c.validate()
        configuration = c
        func table(_ name: String, _ shape: [Int]) throws -> Tensor {
            let t = try lookup(name)
            guard t.shape == shape else {
                throw AttentionError(
                    .invalidShape, argument: name, "expected \(shape), got \(t.shape)")
            }
            let contiguous = t.contiguous()
            // A NaN or infinite weight turns every embedding into NaN: refuse it here.
            guard RowKernels.allFinite(contiguous) else {
                throw AttentionError(
                    .invalidArgument, argument: name, "has NaN or infinite values")
            }
            return contiguous
        }
        wordEmbeddings = try table(
            "embeddings.word_embeddings.weight", [c.vocabularySize, c.hiddenSize])
        positionEmbeddings = try table(
            "embeddings.position_embeddings.weight", [c.maxPositions, c.hiddenSize])
        tokenTypeEmbeddings = try table(
            "embeddings.token_type_embeddings.weight", [c.typeVocabularySize, c.hiddenSize])
        embeddingNorm = try LayerNorm(dimensions: c.hiddenSize, epsilon: c.layerNormEpsilon)
        try embeddingNorm.update(parameters: [
            "weight": try table("embeddings.LayerNorm.weight", [c.hiddenSize]),
            "bias": try table("embeddings.LayerNorm.bias", [c.hiddenSize]),
        ])
        // One layer at a time, never `reserveCapacity(layerCount)`: a config.json claiming
        // 2³¹ layers must end at the first missing tensor, not in a huge allocation.
        var layers: [BERTLayer] = []
        for i in 0..<c.layerCount {
            layers.append(
                try BERTLayer(configuration: c) {
                    try table("encoder.layer.\(i).\($0)", BERTLayer.shape(of: $0, c))
                })
        }
        self.layers = layers
    }

    /// Every parameter by its Hugging Face name (no `bert.` prefix).
    public func parameters() -> [String: Tensor] {
        var p: [String: Tensor] = [
            "embeddings.word_embeddings.weight": wordEmbeddings,
            "embeddings.position_embeddings.weight": positionEmbeddings,
            "embeddings.token_type_embeddings.weight": tokenTypeEmbeddings,
        ]
        for (name, t) in embeddingNorm.parameters() { p["embeddings.LayerNorm.\(name)"] = t }
        for (i, layer) in layers.enumerated() {
            for (name, t) in layer.parameters() { p["encoder.layer.\(i).\(name)"] = t }
        }
        return p
    }

    /// Encodes token sequences (each with its `[CLS]` … `[SEP]`), packed without padding.
    /// - Parameters:
    ///   - sequences: token ids, each sequence 1…``BERTConfiguration/maxPositions`` long,
    ///     every id in `0..<vocabularySize`.
    ///   - hiddenStates: also keep the embeddings' output and every layer's output.
    ///   - execution: overrides ``execution`` for this call.
    /// - Throws: ``AttentionError`` naming `sequences` for an empty sequence, one that is too
    ///   long or an id outside the vocabulary.
    public func callAsFunction(
        _ sequences: [[Int]], hiddenStates: Bool = false, execution: ExecutionOptions? = nil
    ) throws -> BERTOutput {
        let execution = execution ?? self.execution
        let resolved = try execution.resolved()
        let lengths = sequences.map(\.count)
        var x = try embed(sequences, resolved: resolved)
        var states = hiddenStates ? [x] : []
        let mask: AttentionMask =
            sequences.count <= 1 ? .none : .blockDiagonal(lengths: .init(lengths))
        for layer in layers {
            x = try layer(x, mask: mask, execution: execution, resolved: resolved)
            if hiddenStates { states.append(x) }
        }
        return BERTOutput(lastHiddenState: x, hiddenStates: states, lengths: lengths)
    }

    /// The attention weights `[H, S, S]` of layer `layer` (0-based) over one sequence: the
    /// softmax of every head, rows = queries (each sums to 1).
    /// - Throws: ``AttentionError`` naming `layer` when out of range, or `sequences` as
    ///   ``callAsFunction(_:hiddenStates:execution:)`` does.
    public func attentionWeights(_ ids: [Int], layer: Int, execution: ExecutionOptions? = nil)
        throws -> Tensor
    {
        guard layers.indices.contains(layer) else {
            throw AttentionError(
                .invalidArgument, argument: "layer",
                "expected 0…\(layers.count - 1), got \(layer)")
        }
        let execution = execution ?? self.execution
        let resolved = try execution.resolved()
        var x = try embed([ids], resolved: resolved)
        for l in layers[..<layer] {
            x = try l(x, mask: .none, execution: execution, resolved: resolved)
        }
        let weights = try layers[layer].attention.attentionWithWeights(x, execution: execution)
            .weights
        return try weights.reshaped(Array(weights.shape.dropFirst()))
    }

    /// `LayerNorm(word + position + tokenType[0])` for every token, packed: `[1, T, E]`.
    private func embed(_ sequences: [[Int]], resolved: ResolvedExecution) throws -> Tensor {
        let c = configuration
        for (s, ids) in sequences.enumerated() {
            guard (1...c.maxPositions).contains(ids.count) else {
                throw AttentionError(
                    .invalidArgument, argument: "sequences",
                    "sequence \(s) has \(ids.count) tokens; expected 1…\(c.maxPositions)")
            }
            if let bad = ids.first(where: { !(0..<c.vocabularySize).contains($0) }) {
                throw AttentionError(
                    .invalidArgument, argument: "sequences",
                    "sequence \(s) has token id \(bad), outside 0..<\(c.vocabularySize)")
            }
        }
        let x = RowKernels.gatherEmbeddings(
            ids: sequences.flatMap { $0 }, positions: sequences.flatMap { Array(0..<$0.count) },
            word: wordEmbeddings, position: positionEmbeddings,
            tokenType: try tokenTypeEmbeddings.sliced(axis: 0, range: 0..<1), width: c.hiddenSize)
        return try embeddingNorm.normalized(x, adding: nil, execution: resolved)
    }
}

/// What ``BERTEncoder`` returns for a packed batch.
public struct BERTOutput: Sendable {
    /// The last layer's output, packed: `[1, T, E]`, sequence `s` at rows
    /// `offset(s) ..< offset(s) + lengths[s]`.
    public let lastHiddenState: Tensor
    /// With `hiddenStates: true`: the embeddings' output, then every layer's (packed as
    /// ``lastHiddenState``; `layerCount + 1` entries); otherwise empty.
    public let hiddenStates: [Tensor]
    /// Tokens of each sequence.
    public let lengths: [Int]

    /// Sequence `s`'s rows of `state` (default ``lastHiddenState``): `[lengths[s], E]`.
    public func sequence(_ s: Int, of state: Tensor? = nil) throws -> Tensor {
        guard lengths.indices.contains(s) else {
            throw AttentionError(
                .invalidArgument, argument: "sequence", "expected 0..<\(lengths.count), got \(s)")
        }
        let state = state ?? lastHiddenState
        let start = lengths[..<s].reduce(0, +)
        guard let width = state.shape.last, width > 0, state.count == lengths.reduce(0, +) * width
        else {
            throw AttentionError(
                .invalidShape, argument: "state",
                "expected a packed [1, \(lengths.reduce(0, +)), E] state, got \(state.shape)")
        }
        let rows = try state.reshaped([state.count / width, width])
        return try rows.sliced(axis: 0, range: start..<(start + lengths[s])).contiguous()
    }
}
