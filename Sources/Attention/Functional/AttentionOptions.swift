/// Which implementation computes attention.
public enum AttentionBackend: String, Sendable, CaseIterable {
    /// Fused unless the caller asks for the attention weights (which only the reference
    /// path materializes). A few queries against many keys (`Sq ≤ 16`, `Sk ≥ 256`, a mask
    /// whose visible keys form one interval per query — none, causal of either alignment,
    /// sliding window, prefix LM and their `.and` —, no dropout) run on the
    /// fused split-KV decode kernel of
    /// ``decodeAttention(query:cache:options:)``, everything else on the flash kernel.
    case automatic
    /// The standard, materialized path: scores and weights of size `[B, H, Sq, Sk]`.
    case reference
    /// FlashAttention-style tiled kernel with online softmax: O(S·D) memory.
    case fused
}

/// Everything `scaledDotProductAttention` can be asked to do besides the three tensors.
public struct AttentionOptions: Sendable {
    /// Which keys each query may see; see ``AttentionMask``.
    public var mask: AttentionMask = .none
    /// Multiplies `Q·Kᵀ`; `nil` means `1/√D`.
    public var scale: Float? = nil
    /// Dropout probability on the attention weights, in [0, 1).
    public var dropout: Float = 0
    /// Seed of the counter-based dropout generator, keyed by (seed, batch, head, query, key).
    public var dropoutSeed: UInt64 = 0
    /// What dropout multiplies a kept weight by: `1/(1 − dropout)` (1 without dropout).
    var keptWeightScale: Float { 1 / (1 - dropout) }
    /// ALiBi position biases (one slope per query head), computed on the fly inside the
    /// kernels: no bias tensor is ever built.
    public var alibi: ALiBi? = nil
    /// Which implementation to use.
    public var backend: AttentionBackend = .automatic
    /// Return the attention weights `[B, H, Sq, Sk]` (after dropout). Needs the reference path.
    public var returnWeights = false
    /// Return the per-row log-sum-exp of the scaled scores `[B, H, Sq]`.
    public var returnLogSumExp = false
    /// A classification of ``mask`` for the fused kernel's tiles, built once with
    /// ``BlockMask/forFusedKernel(mask:queries:keys:)`` and reused across calls (worth it for
    /// a `.dense` mask, whose classification scans all `Sq × Sk` entries). It must describe
    /// the same mask; its sizes are checked. Ignored by the reference path and for masks that
    /// differ between batch entries or heads.
    public var blockMask: BlockMask? = nil
    /// How this call runs: threads, kernel variant, tile sizes, memory limit (default: the
    /// machine's); resolved once when the call starts.
    public var execution = ExecutionOptions()

    /// Moved to ``ExecutionOptions/memoryLimit`` (`execution.memoryLimit`).
    @available(*, deprecated, renamed: "execution.memoryLimit")
    public var memoryLimit: Int? {
        get { execution.memoryLimit }
        set { execution.memoryLimit = newValue }
    }

    public init(
        mask: AttentionMask = .none, scale: Float? = nil, dropout: Float = 0,
        dropoutSeed: UInt64 = 0,
        alibi: ALiBi? = nil, backend: AttentionBackend = .automatic,
        returnWeights: Bool = false, returnLogSumExp: Bool = false,
        execution: ExecutionOptions = ExecutionOptions()
    ) {
        self.mask = mask
        self.scale = scale
        self.dropout = dropout
        self.dropoutSeed = dropoutSeed
        self.alibi = alibi
        self.backend = backend
        self.returnWeights = returnWeights
        self.returnLogSumExp = returnLogSumExp
        self.execution = execution
    }
}

/// The output of attention plus what was asked for and which backend ran, and why.
public struct AttentionResult: Sendable {
    /// `[B, H, Sq, Dv]`.
    public var output: Tensor
    /// `[B, H, Sq, Sk]` when requested.
    public var weights: Tensor?
    /// `[B, H, Sq]` when requested; `−inf` for rows that saw no key, NaN for rows whose
    /// output is NaN (see the non-finite rule of ``scaledDotProductAttention(query:key:value:options:)``).
    public var logSumExp: Tensor?
    /// The backend that ran.
    public var backend: AttentionBackend
    /// Why that backend was chosen (PyTorch users ask this about silent fallbacks).
    public var reason: String
}
