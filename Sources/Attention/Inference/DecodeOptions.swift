/// Settings of ``decodeAttention(query:cache:options:)``.
public struct DecodeOptions: Sendable {
    /// Multiplies `Q·Kᵀ`; `nil` means `1/√D`.
    public var scale: Float? = nil
    /// Bottom-right causal masking: the `Sq` queries are the last `Sq` positions of each
    /// sequence (query `s` of sequence `b` sits at position `lengths[b] − Sq + s` and sees
    /// keys up to it), as when the new keys were appended before attending. Irrelevant for
    /// `Sq = 1`. `false`: every query sees every stored key.
    public var causal = true
    /// Sliding window `W`: a query at position `p` sees keys `p − W + 1 … p` only, and the
    /// kernel reads only those. `nil`: the cache's own window (if it is a ring buffer),
    /// otherwise no window.
    public var window: Int? = nil
    /// ALiBi biases (one slope per query head), computed on the fly from absolute positions.
    public var alibi: ALiBi? = nil
    /// Threads and kernel variant (tile sizes and memory limit do not apply).
    public var execution = ExecutionOptions()

    public init(
        scale: Float? = nil, causal: Bool = true, window: Int? = nil, alibi: ALiBi? = nil,
        execution: ExecutionOptions = ExecutionOptions()
    ) {
        self.scale = scale
        self.causal = causal
        self.window = window
        self.alibi = alibi
        self.execution = execution
    }
}
