/// Multi-head attention restricted to a local window: query `i` sees keys
/// `i − windowSize/2 … i + windowSize/2` (the seed's `create_local_mask(S, windowSize)`),
/// optionally intersected with another mask (e.g. `.causal`).
///
/// The window is a structured ``AttentionMask/slidingWindow(left:right:)``: the fused kernel
/// visits only the key tiles near the diagonal, so time and memory grow linearly with the
/// sequence length. Shapes as ``MultiHeadAttention``: `[B, S, E]` in and out.
public struct LocalAttention: Module, Sendable {
    public private(set) var attention: MultiHeadAttention
    /// How calls run (threads, kernel variant, tile sizes, memory limit): the wrapped layer's
    /// ``MultiHeadAttention/execution``.
    public var execution: ExecutionOptions {
        get { attention.execution }
        set { attention.execution = newValue }
    }
    public let windowSize: Int

    /// The mask every call applies.
    public var windowMask: AttentionMask {
        .slidingWindow(left: windowSize / 2, right: windowSize / 2)
    }

    /// - Parameters:
    ///   - dimensions: model width `E`.
    ///   - numHeads: heads; must divide `dimensions`.
    ///   - windowSize: keys around each query (`windowSize / 2` on each side).
    ///   - bias: projection biases.
    ///   - seed: initial weights.
    /// - Throws: ``AttentionError`` for indivisible dimensions or a negative window.
    public init(
        dimensions: Int, numHeads: Int, windowSize: Int, bias: Bool = true, dropout: Float = 0,
        seed: UInt64 = 0
    ) throws {
        guard windowSize >= 0 else {
            throw AttentionError.argument("windowSize", "expected ≥ 0, got \(windowSize)")
        }
        attention = try MultiHeadAttention(
            dimensions: dimensions, numHeads: numHeads, bias: bias, dropout: dropout, seed: seed)
        self.windowSize = windowSize
    }

    /// Output `[B, S, E]`; `mask` is intersected with the window.
    public func callAsFunction(
        _ x: Tensor, mask: AttentionMask = .none, training: Bool = false, seed: UInt64 = 0,
        backend: AttentionBackend? = nil
    ) throws -> Tensor {
        try attention(x, mask: combined(mask), training: training, seed: seed, backend: backend)
    }

    /// Output and per-head weights `[B, H, S, S]` (reference path).
    public func attentionWithWeights(_ x: Tensor, mask: AttentionMask = .none) throws -> (
        output: Tensor, weights: Tensor
    ) {
        try attention.attentionWithWeights(x, mask: combined(mask))
    }

    /// The output of ``callAsFunction(_:mask:training:seed:backend:)`` and a pullback that turns
    /// `∂L/∂output` into the input's and every parameter's gradient (keys as
    /// ``parameters()``), through the fused backward with the same window (block skipping
    /// included); see ``MultiHeadAttention/valueAndGradient(_:keys:values:mask:isCausal:training:seed:backend:execution:)``.
    /// - Throws: as the call.
    public func valueAndGradient(
        _ x: Tensor, mask: AttentionMask = .none, training: Bool = false, seed: UInt64 = 0,
        backend: AttentionBackend? = nil
    ) throws -> (value: Tensor, pullback: MultiHeadAttentionPullback) {
        try attention.valueAndGradient(
            x, mask: combined(mask), training: training, seed: seed, backend: backend)
    }

    private func combined(_ mask: AttentionMask) -> AttentionMask {
        if case .none = mask { return windowMask }
        return .and(windowMask, mask)
    }

    public func parameters() -> [String: Tensor] { attention.parameters() }
    public mutating func update(parameters: [String: Tensor]) throws {
        try attention.update(parameters: parameters)
    }
}
