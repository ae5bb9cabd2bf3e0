import Attention

/// One BERT encoder block (post-norm):
///
/// ```
/// a = MultiHeadAttention(x, mask)                 self-attention, output projection included
/// x = LayerNorm(x + a)                            attention.output.LayerNorm
/// x = LayerNorm(x + W₂·GELU(W₁·x + b₁) + b₂)      intermediate.dense, output.dense, output.LayerNorm
/// ```
/// Shapes: `x` `[1, T, E]` (packed sequences, separated by the mask).
/// Parameter names (Hugging Face `BertLayer`): `attention.self.{query,key,value}.{weight,bias}`,
/// `attention.output.dense.*`, `attention.output.LayerNorm.*`, `intermediate.dense.*`,
/// `output.dense.*`, `output.LayerNorm.*`.
public struct BERTLayer: Sendable {
    public private(set) var attention: MultiHeadAttention
    public private(set) var attentionNorm: LayerNorm
    public private(set) var intermediate: Linear
    public private(set) var output: Linear
    public private(set) var outputNorm: LayerNorm

    /// The Hugging Face name of each parameter, and where it goes: `(layer part, its name)`.
    static let names: [(hf: String, part: String, name: String)] = {
        var list: [(String, String, String)] = []
        for (hf, ours) in [
            ("attention.self.query", "query_proj"), ("attention.self.key", "key_proj"),
            ("attention.self.value", "value_proj"), ("attention.output.dense", "out_proj"),
        ] {
            for p in ["weight", "bias"] { list.append(("\(hf).\(p)", "attention", "\(ours).\(p)")) }
        }
        for (hf, part) in [
            ("attention.output.LayerNorm", "attentionNorm"), ("intermediate.dense", "intermediate"),
            ("output.dense", "output"), ("output.LayerNorm", "outputNorm"),
        ] {
            for p in ["weight", "bias"] { list.append(("\(hf).\(p)", part, p)) }
        }
        return list
    }()

    /// The shape of parameter `name` (one of ``names``' Hugging Face names) in a block of
    /// `configuration`'s shape.
    static func shape(of name: String, _ c: BERTConfiguration) -> [Int] {
        let (e, f) = (c.hiddenSize, c.intermediateSize)
        switch name {
        case "intermediate.dense.weight": return [f, e]
        case "intermediate.dense.bias": return [f]
        case "output.dense.weight": return [e, f]
        case _ where name.hasSuffix(".bias") || name.hasSuffix("LayerNorm.weight"): return [e]
        default: return [e, e]
        }
    }

    /// A block of `configuration`'s shape with the weights `lookup(hfName)` returns.
    init(configuration c: BERTConfiguration, lookup: (String) throws -> Tensor) throws {
        var groups: [String: [String: Tensor]] = [:]
        for (hf, part, name) in Self.names { groups[part, default: [:]][name] = try lookup(hf) }
        attention = try MultiHeadAttention(dimensions: c.hiddenSize, numHeads: c.headCount)
        try attention.update(parameters: groups["attention"]!)
        attentionNorm = try LayerNorm(dimensions: c.hiddenSize, epsilon: c.layerNormEpsilon)
        try attentionNorm.update(parameters: groups["attentionNorm"]!)
        outputNorm = try LayerNorm(dimensions: c.hiddenSize, epsilon: c.layerNormEpsilon)
        try outputNorm.update(parameters: groups["outputNorm"]!)
        func linear(_ part: String, _ inputs: Int, _ outputs: Int) throws -> Linear {
            let g = groups[part]!
            guard g["weight"]!.shape == [outputs, inputs], g["bias"]!.shape == [outputs] else {
                throw AttentionError(
                    .invalidShape, argument: part,
                    "expected weight [\(outputs), \(inputs)] and bias [\(outputs)], got \(g["weight"]!.shape) and \(g["bias"]!.shape)"
                )
            }
            return try Linear(weight: g["weight"]!, bias: g["bias"]!)
        }
        intermediate = try linear("intermediate", c.hiddenSize, c.intermediateSize)
        output = try linear("output", c.intermediateSize, c.hiddenSize)
    }

    /// The block applied to `x` `[1, T, E]`.
    func callAsFunction(
        _ x: Tensor, mask: AttentionMask, execution: ExecutionOptions, resolved: ResolvedExecution
    ) throws -> Tensor {
        let a = try attention(x, mask: mask, execution: execution)
        let h = try attentionNorm.normalized(a, adding: x, execution: resolved)
        var f = try intermediate(h, execution: execution)
        RowKernels.gelu(&f, execution: resolved)
        return try outputNorm.normalized(
            try output(f, execution: execution), adding: h, execution: resolved)
    }

    /// Every parameter by its Hugging Face name.
    func parameters() -> [String: Tensor] {
        let parts: [String: [String: Tensor]] = [
            "attention": attention.parameters(), "attentionNorm": attentionNorm.parameters(),
            "intermediate": intermediate.parameters(), "output": output.parameters(),
            "outputNorm": outputNorm.parameters(),
        ]
        var p: [String: Tensor] = [:]
        for (hf, part, name) in Self.names { p[hf] = parts[part]![name] }
        return p
    }
}
