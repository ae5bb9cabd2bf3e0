/// Multi-head attention with ALiBi position biases (Press et al., 2022) instead of position
/// embeddings: head `h` adds `−m_h·|i − j|` (or `−m_h·(i − j)` in the causal form) to its
/// scores, with the slopes `m_h` of ``ALiBi/slopes(heads:)``.
///
/// The bias is computed on the fly inside the fused kernel (no `[H, S, S]` tensor); the
/// reference path runs on request and returns the weights.
/// Shapes as ``MultiHeadAttention``: `[B, Sq, E]` in and out.
public struct ALiBiMultiHeadAttention: Module, Sendable {
    public private(set) var attention: MultiHeadAttention
    /// How calls run (threads, kernel variant, tile sizes, memory limit): the wrapped layer's
    /// ``MultiHeadAttention/execution``.
    public var execution: ExecutionOptions {
        get { attention.execution }
        set { attention.execution = newValue }
    }

    /// The ALiBi configuration (slopes, form, alignment).
    public var alibi: ALiBi { attention.alibi! }

    /// - Parameters:
    ///   - dimensions: model width `E`.
    ///   - numHeads: heads; must divide `dimensions`.
    ///   - form: `.symmetric` (the seed's `−m·|i − j|`) or `.causal`.
    ///   - bias: projection biases.
    ///   - seed: initial weights.
    /// - Throws: ``AttentionError`` for indivisible dimensions.
    public init(
        dimensions: Int, numHeads: Int, form: ALiBi.Form = .symmetric, bias: Bool = true,
        dropout: Float = 0, seed: UInt64 = 0
    ) throws {
        attention = try MultiHeadAttention(
            dimensions: dimensions, numHeads: numHeads, bias: bias, dropout: dropout,
            backend: .automatic, seed: seed)
        attention.alibi = try ALiBi(heads: numHeads, form: form)
    }

    /// Output `[B, Sq, E]` on the fused path (or `backend`).
    public func callAsFunction(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil, mask: AttentionMask = .none,
        training: Bool = false, seed: UInt64 = 0, backend: AttentionBackend? = nil
    ) throws -> Tensor {
        try attention(
            queries, keys: keys, values: values, mask: mask, training: training, seed: seed,
            backend: backend)
    }

    /// The output of ``callAsFunction(_:keys:values:mask:training:seed:backend:)`` and a
    /// pullback that turns `∂L/∂output` into the inputs' and every parameter's gradient (keys
    /// as ``parameters()``); the ALiBi bias is fixed (no gradient), as in the forward. See
    /// ``MultiHeadAttention/valueAndGradient(_:keys:values:mask:isCausal:training:seed:backend:execution:)``.
    /// - Throws: as the call.
    public func valueAndGradient(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil, mask: AttentionMask = .none,
        training: Bool = false, seed: UInt64 = 0, backend: AttentionBackend? = nil
    ) throws -> (value: Tensor, pullback: MultiHeadAttentionPullback) {
        try attention.valueAndGradient(
            queries, keys: keys, values: values, mask: mask, training: training, seed: seed,
            backend: backend)
    }

    /// Output and per-head weights `[B, H, Sq, Sk]` from the reference path.
    public func attentionWithWeights(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil,
        mask: AttentionMask = .none
    ) throws -> (output: Tensor, weights: Tensor) {
        try attention.attentionWithWeights(queries, keys: keys, values: values, mask: mask)
    }

    public func parameters() -> [String: Tensor] { attention.parameters() }
    public mutating func update(parameters: [String: Tensor]) throws {
        try attention.update(parameters: parameters)
    }
}
