/// Multi-head attention with separate query, key, value and output projections.
///
/// ```
/// Q = queries·W_qᵀ + b_q,  K = keys·W_kᵀ + b_k,  V = values·W_vᵀ + b_v      [B, S, E]
/// split into H heads of E/H features (views, no copy)                       [B, H, S, E/H]
/// O_h = softmax(Q_h·K_hᵀ / √(E/H) + mask) · V_h   (dropout on the weights in training)
/// out = concat_h(O_h)·W_oᵀ + b_o                                            [B, Sq, E]
/// ```
/// Shapes: `queries` `[B, Sq, E]`; `keys`/`values` `[B, Sk, E]` (cross-attention when they
/// differ from `queries`; self-attention when omitted). The mask takes any ``AttentionMask``
/// (1 = may attend). With the default `.automatic` backend the fused kernel runs unless
/// weights are requested (``attentionWithWeights(_:keys:values:mask:training:seed:)``).
///
/// Parameter names (safetensors / `state_dict`): `query_proj.weight`, `query_proj.bias`,
/// `key_proj.*`, `value_proj.*`, `out_proj.*`.
public struct MultiHeadAttention: Module, Sendable {
    public private(set) var queryProjection: Linear
    public private(set) var keyProjection: Linear
    public private(set) var valueProjection: Linear
    public private(set) var outputProjection: Linear
    public let numHeads: Int
    /// Key/value heads (grouped-query attention when fewer than ``numHeads``; default
    /// ``numHeads``): the key and value projections have `numKVHeads · E/H` outputs.
    public let numKVHeads: Int
    /// Dropout probability on the attention weights, applied only when `training` is true.
    public var dropout: Float
    /// Which kernel runs (default: fused unless weights are requested).
    public var backend: AttentionBackend
    /// Rotary embedding applied to the projected queries and keys (per head), if any.
    public var rope: RoPE? = nil
    /// ALiBi biases added inside the kernel (one slope per head), if any.
    public var alibi: ALiBi? = nil
    /// How calls run (threads, kernel variant, tile sizes, memory limit; default: the
    /// machine's), for the projections and the attention alike; a call may override it.
    public var execution = ExecutionOptions()
    /// The query, key and value weights stacked `[3E, E]` (with their biases) and packed:
    /// self-attention projects with one GEMM instead of three. `nil` when the key or value
    /// inputs have another width.
    private(set) var selfProjection: PackedWeight?

    /// Model width `E`.
    public var dimensions: Int { queryProjection.outputDimensions }
    /// Features per head, `E / numHeads`.
    public var headDimensions: Int { dimensions / numHeads }

    /// - Parameters:
    ///   - dimensions: model width `E` (query input and output features).
    ///   - numHeads: number of heads; must divide `dimensions`.
    ///   - keyInputDimensions: features of `keys` (default `dimensions`).
    ///   - valueInputDimensions: features of `values` (default `keyInputDimensions`).
    ///   - bias: whether the projections have biases.
    ///   - dropout: attention-weight dropout probability in training mode.
    ///   - backend: which attention kernel runs.
    ///   - seed: seed for the initial weights (PyTorch's `nn.Linear` initialisation).
    ///   - numKVHeads: key/value heads, dividing `numHeads` (default `numHeads`).
    /// - Throws: ``AttentionError`` if `dimensions` is not divisible by `numHeads`,
    ///   `numKVHeads` does not divide `numHeads`, or `dropout` is outside [0, 1).
    public init(
        dimensions: Int, numHeads: Int, keyInputDimensions: Int? = nil,
        valueInputDimensions: Int? = nil,
        bias: Bool = true, dropout: Float = 0, backend: AttentionBackend = .automatic,
        seed: UInt64 = 0, numKVHeads: Int? = nil
    ) throws {
        guard dimensions > 0, numHeads > 0, dimensions % numHeads == 0 else {
            throw AttentionError.argument(
                "dimensions",
                "\(dimensions) is not divisible by numHeads \(numHeads) (each head needs an equal share)"
            )
        }
        guard dropout >= 0 && dropout < 1 else {
            throw AttentionError.argument(
                "dropout", "expected a probability in [0, 1), got \(dropout)")
        }
        let kvHeads = numKVHeads ?? numHeads
        guard kvHeads > 0, numHeads % kvHeads == 0 else {
            throw AttentionError.argument(
                "numKVHeads", "expected a divisor of numHeads \(numHeads), got \(kvHeads)")
        }
        let kIn = keyInputDimensions ?? dimensions, vIn = valueInputDimensions ?? kIn
        let kvDims = dimensions / numHeads * kvHeads
        queryProjection = try Linear(dimensions, dimensions, bias: bias, seed: seed)
        keyProjection = try Linear(kIn, kvDims, bias: bias, seed: seed &+ 1)
        valueProjection = try Linear(vIn, kvDims, bias: bias, seed: seed &+ 2)
        outputProjection = try Linear(dimensions, dimensions, bias: bias, seed: seed &+ 3)
        self.numHeads = numHeads
        self.numKVHeads = kvHeads
        self.dropout = dropout
        self.backend = backend
        selfProjection = Self.stackedProjection(queryProjection, keyProjection, valueProjection)
    }

    /// Attention output `[B, Sq, E]`.
    /// - Parameters:
    ///   - queries: `[B, Sq, E]`.
    ///   - keys: `[B, Sk, E_k]`, default `queries` (self-attention).
    ///   - values: `[B, Sk, E_v]`, default `keys`.
    ///   - mask: which keys each query may see.
    ///   - isCausal: shorthand that intersects `mask` with `.causal`.
    ///   - training: apply dropout.
    ///   - seed: dropout seed for this call.
    ///   - backend: overrides the layer's backend for this call.
    ///   - execution: overrides the layer's ``execution`` settings for this call.
    public func callAsFunction(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil,
        mask: AttentionMask = .none, isCausal: Bool = false, training: Bool = false,
        seed: UInt64 = 0, backend: AttentionBackend? = nil, execution: ExecutionOptions? = nil
    ) throws -> Tensor {
        let mask = isCausal ? (isNone(mask) ? .causal : .and(.causal, mask)) : mask
        return try forward(
            queries, keys: keys, values: values, mask: mask, training: training, seed: seed,
            backend: backend ?? self.backend, returnWeights: false,
            execution: execution ?? self.execution
        ).output
    }

    /// Attention output `[B, Sq, E]` and the per-head weights `[B, H, Sq, Sk]` (after
    /// dropout, as PyTorch returns them). Runs the reference path.
    public func attentionWithWeights(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil,
        mask: AttentionMask = .none, training: Bool = false, seed: UInt64 = 0,
        execution: ExecutionOptions? = nil
    )
        throws -> (output: Tensor, weights: Tensor)
    {
        let r = try forward(
            queries, keys: keys, values: values, mask: mask, training: training, seed: seed,
            backend: .reference, returnWeights: true, execution: execution ?? self.execution)
        return (r.output, r.weights!)
    }

    private func isNone(_ mask: AttentionMask) -> Bool {
        if case .none = mask { return true }
        return false
    }

    /// `[W_q; W_k; W_v]` and `[b_q; b_k; b_v]`, packed, when all three read `E` features
    /// (the key and value rows are fewer with grouped-query attention).
    private static func stackedProjection(_ q: Linear, _ k: Linear, _ v: Linear)
        -> PackedWeight?
    {
        let layers = [q, k, v]
        let e = q.outputDimensions
        guard layers.allSatisfy({ $0.inputDimensions == e }) else { return nil }
        // The concatenations have exactly rows·E and rows elements: the shapes cannot fail.
        // bf16/f16 weights stay in their dtype (the widened values convert back exactly).
        let rows = layers.reduce(0) { $0 + $1.outputDimensions }
        let dtype = Set(layers.map(\.weight.dtype)).count == 1 ? q.weight.dtype : .f32
        let weight = try! Tensor(
            shape: [rows, e], scalars: layers.flatMap { $0.weight.contiguous().scalars },
            dtype: dtype)
        let biases = layers.compactMap(\.bias)
        let bias =
            biases.count == 3
            ? try! Tensor(shape: [rows], scalars: biases.flatMap { $0.contiguous().scalars })
            : nil
        return PackedWeight(weight: weight, bias: bias)
    }

    /// Self-attention's `Q`, `K`, `V` as `[B, H, S, E/H]` views of one `[B, S, 3E]` product.
    func selfProjections(
        _ x: Tensor, _ packed: PackedWeight, execution: ResolvedExecution
    ) throws -> (Tensor, Tensor, Tensor) {
        guard x.rank == 3, x.shape[2] == dimensions else {
            throw AttentionError.shape(
                "queries", expected: "[B, S, \(dimensions)]", actual: x.shape)
        }
        let (b, s, h, g) = (x.shape[0], x.shape[1], numHeads, numKVHeads)
        let heads = try GEMM.multiply(x, packed, execution: execution)
            .reshaped([b, s, h + 2 * g, headDimensions]).transposed(1, 2)
        return (
            try heads.sliced(axis: 1, range: 0..<h), try heads.sliced(axis: 1, range: h..<(h + g)),
            try heads.sliced(axis: 1, range: (h + g)..<(h + 2 * g))
        )
    }

    /// Projects and splits `x` `[B, S, E_in]` into heads: a `[B, H, S, E/H]` strided view.
    func heads(
        _ projection: Linear, _ x: Tensor, argument: String, execution: ResolvedExecution
    ) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == projection.inputDimensions else {
            throw AttentionError.shape(
                argument, expected: "[B, S, \(projection.inputDimensions)]", actual: x.shape)
        }
        let (b, s) = (x.shape[0], x.shape[1])
        return try projection.apply(x, execution: execution)
            .reshaped([b, s, projection.outputDimensions / headDimensions, headDimensions])
            .transposed(1, 2)
    }

    /// What one forward call computed (the backward pass keeps the heads, the merged
    /// attention output and its log-sum-exp).
    struct ForwardPass: Sendable {
        var output: Tensor, weights: Tensor?
        var heads: (query: Tensor, key: Tensor, value: Tensor)
        /// The attention output with the heads merged, `[B, Sq, E]`.
        var merged: Tensor
        var logSumExp: Tensor?
        var options: AttentionOptions
    }

    func forward(
        _ queries: Tensor, keys: Tensor?, values: Tensor?, mask: AttentionMask, training: Bool,
        seed: UInt64, backend: AttentionBackend, returnWeights: Bool, returnLogSumExp: Bool = false,
        execution: ExecutionOptions
    ) throws -> ForwardPass {
        // Resolved once: the projections and the attention run under the same settings.
        let resolved = try execution.resolved()
        let heads = try projectedHeads(queries, keys: keys, values: values, execution: resolved)
        let options = AttentionOptions(
            mask: mask, dropout: training ? dropout : 0, dropoutSeed: seed, alibi: alibi,
            backend: backend, returnWeights: returnWeights, returnLogSumExp: returnLogSumExp,
            execution: execution)
        let problem = try AttentionProblem(
            query: heads.query, key: heads.key, value: heads.value, options: options,
            execution: resolved, forward: true)
        // [B, Sq, H, Dh]: merging the heads is a free reshape.
        let r = try attend(problem, options, outputLayout: .bshd)
        let merged = try r.output.reshaped([queries.shape[0], queries.shape[1], dimensions])
        return ForwardPass(
            output: try outputProjection.apply(merged, execution: resolved), weights: r.weights,
            heads: heads, merged: merged, logSumExp: r.logSumExp, options: options)
    }

    /// The projected heads `Q`, `K`, `V` `[B, H, S, E/H]` (strided views), RoPE applied to
    /// `Q` and `K` when the layer has it; `keys` defaults to `queries`, `values` to `keys`.
    func projectedHeads(
        _ queries: Tensor, keys: Tensor?, values: Tensor?, execution: ResolvedExecution
    ) throws -> (query: Tensor, key: Tensor, value: Tensor) {
        let selfAttention = keys == nil && values == nil
        let keys = keys ?? queries, values = values ?? keys
        guard queries.rank == 3 else {
            throw AttentionError.shape(
                "queries", expected: "[B, Sq, \(dimensions)]", actual: queries.shape)
        }
        guard keys.rank == 3, keys.shape[0] == queries.shape[0], values.rank == 3,
            values.shape[0] == keys.shape[0], values.shape[1] == keys.shape[1]
        else {
            throw AttentionError.shape(
                "keys/values",
                expected: "[\(queries.shape[0]), Sk, E] for both (same batch and length)",
                actual: keys.shape + values.shape)
        }
        var q: Tensor, k: Tensor, v: Tensor
        if selfAttention, let selfProjection {
            (q, k, v) = try selfProjections(queries, selfProjection, execution: execution)
        } else {
            q = try heads(queryProjection, queries, argument: "queries", execution: execution)
            k = try heads(keyProjection, keys, argument: "keys", execution: execution)
            v = try heads(valueProjection, values, argument: "values", execution: execution)
        }
        if let rope {
            // Keys sit at positions 0..<Sk; queries at the last Sq of them (decoding with a cache).
            q = try rope(q, offset: Swift.max(0, keys.shape[1] - queries.shape[1]))
            k = try rope(k)
        }
        return (q, k, v)
    }

    public func parameters() -> [String: Tensor] {
        var p: [String: Tensor] = [:]
        for (prefix, layer) in [
            ("query_proj", queryProjection), ("key_proj", keyProjection),
            ("value_proj", valueProjection), ("out_proj", outputProjection),
        ] {
            for (name, t) in layer.parameters() { p["\(prefix).\(name)"] = t }
        }
        return p
    }

    public mutating func update(parameters: [String: Tensor]) throws {
        var groups: [String: [String: Tensor]] = [:]
        for (name, t) in parameters {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2,
                ["query_proj", "key_proj", "value_proj", "out_proj"].contains(parts[0])
            else {
                throw AttentionError.argument(
                    name, "MultiHeadAttention has no parameter named \"\(name)\"")
            }
            groups[parts[0], default: [:]][parts[1]] = t
        }
        // Update copies first so a bad name or shape leaves the layer unchanged.
        var copy = self
        func apply(_ prefix: String, _ layer: inout Linear) throws {
            guard let g = groups[prefix] else { return }
            do { try layer.update(parameters: g) } catch let e as AttentionError {
                throw AttentionError(e.kind, argument: "\(prefix).\(e.argument)", e.message)
            }
        }
        try apply("query_proj", &copy.queryProjection)
        try apply("key_proj", &copy.keyProjection)
        try apply("value_proj", &copy.valueProjection)
        try apply("out_proj", &copy.outputProjection)
        copy.selfProjection = Self.stackedProjection(
            copy.queryProjection, copy.keyProjection, copy.valueProjection)
        self = copy
    }
}
