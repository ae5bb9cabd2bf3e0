/// A trained absolute position encoding: one embedding row per position, added to the
/// token embeddings (BERT, GPT-2's `wpe`).
///
///     y[b, s, e] = x[b, s, e] + weight[offset + s, e]
///
/// Shapes: `B` batch, `S` sequence length, `E` = `dimensions` features; ``weight`` is
/// `[maxLength, dimensions]`. Initialised as PyTorch's `nn.Embedding`: standard normal
/// (mean 0, standard deviation 1), reproducible from `seed`.
///
/// As a ``Module`` it has one parameter, `"weight"` (PyTorch's `nn.Embedding.weight`).
public struct LearnedPositionalEncoding: Module, Sendable {
    /// The embedding table, `[maxLength, dimensions]`; row `p` encodes position `p`.
    public private(set) var weight: Tensor

    /// Features per position.
    public var dimensions: Int { weight.shape[1] }
    /// Number of rows in ``weight``; positions `0..<maxLength` can be encoded.
    public var maxLength: Int { weight.shape[0] }

    /// A table drawn from the standard normal distribution (PyTorch's `nn.Embedding` init).
    ///
    /// - Parameters:
    ///   - dimensions: features per position.
    ///   - maxLength: number of positions.
    ///   - seed: seed of the counter-based generator for the initial values.
    /// - Throws: ``AttentionError`` naming `dimensions` or `maxLength` when it is not positive.
    public init(dimensions: Int, maxLength: Int, seed: UInt64 = 0) throws {
        guard dimensions > 0 else {
            throw AttentionError.argument("dimensions", "must be > 0, got \(dimensions)")
        }
        guard maxLength > 0 else {
            throw AttentionError.argument("maxLength", "must be > 0, got \(maxLength)")
        }
        try Tensor.validate(shape: [maxLength, dimensions], argument: "maxLength")
        weight = Tensor.randomNormal([maxLength, dimensions], seed: seed)
    }

    /// An encoding with the given table.
    ///
    /// - Parameter weight: `[maxLength, dimensions]`, both positive.
    /// - Throws: ``AttentionError`` naming `weight` when it is not a non-empty matrix.
    public init(weight: Tensor) throws {
        guard weight.rank == 2, weight.shape[0] > 0, weight.shape[1] > 0 else {
            throw AttentionError.shape(
                "weight", expected: "[maxLength, dimensions] with both > 0", actual: weight.shape)
        }
        self.weight = weight.contiguous()
    }

    /// Adds the rows of positions `offset..<offset + S` to `x`.
    ///
    /// - Parameters:
    ///   - x: `[B, S, E]` or `[S, E]` (any number of leading axes), `E = dimensions`.
    ///   - offset: position of the first row (e.g. the number of tokens already in a cache).
    /// - Returns: a contiguous tensor of the shape of `x`.
    /// - Throws: ``AttentionError`` naming `input` when its rank is below 2 or `E` differs
    ///   from `dimensions`, or when the positions run past `maxLength` (named `offset`
    ///   when `offset > 0`); naming `offset` when it is negative.
    public func callAsFunction(_ x: Tensor, offset: Int = 0) throws -> Tensor {
        try x.addingPositionRows(of: weight, offset: offset)
    }

    /// `["weight": weight]`.
    public func parameters() -> [String: Tensor] { ["weight": weight] }

    /// Replaces `"weight"`; its shape must stay `[maxLength, dimensions]`.
    /// - Throws: ``AttentionError`` for another name or a shape mismatch.
    public mutating func update(parameters: [String: Tensor]) throws {
        // Validate everything first so a failed update changes nothing.
        for (name, value) in parameters {
            guard name == "weight" else {
                throw AttentionError.argument(
                    name, "LearnedPositionalEncoding has no parameter named \"\(name)\"")
            }
            try Self.checkReplacement(name, old: weight, new: value)
        }
        if let value = parameters["weight"] { weight = value.contiguous() }
    }
}
