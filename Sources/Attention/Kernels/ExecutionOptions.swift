/// How one call runs: how many threads, which kernel variant, the fused kernel's tile sizes
/// and how much memory a materialized path may plan to allocate.
///
/// Every setting left `nil` takes the machine default when the call starts: the thread
/// count ``AttentionConfiguration/defaultThreadCount``, the variant
/// ``AttentionConfiguration/defaultInstructionSet``, the tuned tiles (``defaultQueryBlock`` ×
/// ``defaultKeyBlock``, or a block-structured mask's own blocks), and the memory limit
/// ``AttentionConfiguration/memoryBudget``. A call resolves its options once and passes them
/// down, so concurrent calls with different options never interfere.
///
/// ```swift
/// var options = AttentionOptions(mask: .causal)
/// options.execution = ExecutionOptions(threads: 1, instructionSet: .portable)
/// let result = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
/// ```
public struct ExecutionOptions: Sendable, Hashable {
    /// Threads the call may use (≥ 1); `nil`: ``AttentionConfiguration/defaultThreadCount``.
    public var threads: Int?
    /// Kernel variant (one this CPU supports, see ``InstructionSet/supported``); `nil`:
    /// ``AttentionConfiguration/defaultInstructionSet``.
    public var instructionSet: InstructionSet?
    /// Query rows per tile of the fused kernel: a multiple of 12 in 12...``maximumBlock``
    /// (the micro-tile height of every variant); `nil`: tuned default.
    public var queryBlock: Int?
    /// Keys per tile of the fused kernel: a multiple of 32 in 32...``maximumBlock``; `nil`:
    /// tuned default.
    public var keyBlock: Int?
    /// The largest score matrix (bytes) the reference path allocates before refusing with an
    /// error instead of being killed; `nil`: ``AttentionConfiguration/memoryBudget``.
    public var memoryLimit: Int?
    /// How bf16/f16 calls run (one of ``ReducedPrecisionKernel/supported``); `nil`: the best
    /// this CPU has (AMX-FP16, else AMX-BF16, else AVX512-BF16, when the call runs AVX-512
    /// and the CPU has it; arm64 BF16 on arm64 with `FEAT_BF16`; else portable).
    public var reducedPrecisionKernel: ReducedPrecisionKernel? = nil

    /// The tuned query tile.
    public static let defaultQueryBlock = 96
    /// The tuned key tile.
    public static let defaultKeyBlock = 128
    /// The largest tile side accepted (per-worker scratch grows with the tile's area).
    public static let maximumBlock = 1024

    /// - Parameters:
    ///   - threads: threads the call may use; default: the process-wide default.
    ///   - instructionSet: kernel variant; default: the best the CPU supports.
    ///   - queryBlock: fused tile rows, a multiple of 12; default: tuned.
    ///   - keyBlock: fused tile columns, a multiple of 32; default: tuned.
    ///   - memoryLimit: bytes of scores the reference path may allocate; default: half the
    ///     physical memory.
    ///   - reducedPrecisionKernel: how bf16/f16 calls run; default: the best this CPU has.
    public init(
        threads: Int? = nil, instructionSet: InstructionSet? = nil, queryBlock: Int? = nil,
        keyBlock: Int? = nil, memoryLimit: Int? = nil,
        reducedPrecisionKernel: ReducedPrecisionKernel? = nil
    ) {
        self.reducedPrecisionKernel = reducedPrecisionKernel
        self.threads = threads
        self.instructionSet = instructionSet
        self.queryBlock = queryBlock
        self.keyBlock = keyBlock
        self.memoryLimit = memoryLimit
    }

    /// Checks every setting and fills in the defaults; the one place a call reads the
    /// process-wide defaults.
    /// - Throws: ``AttentionError`` naming the setting (`threads`, `instructionSet`,
    ///   `queryBlock`, `keyBlock`, `memoryLimit`) that is out of range.
    package func resolved() throws -> ResolvedExecution {
        if let threads, threads < 1 {
            throw AttentionError.argument("threads", "expected ≥ 1, got \(threads)")
        }
        let isa = instructionSet ?? AttentionConfiguration.defaultInstructionSet
        guard let kernels = KernelTable(isa) else {
            throw AttentionError.argument(
                "instructionSet",
                "\(isa) is not supported by this CPU (supported: \(InstructionSet.supported.map(\.description).joined(separator: ", ")))"
            )
        }
        for (name, value, multiple) in [("queryBlock", queryBlock, 12), ("keyBlock", keyBlock, 32)]
        {
            if let value, value < multiple || value > Self.maximumBlock || value % multiple != 0 {
                throw AttentionError.argument(
                    name,
                    "expected a multiple of \(multiple) in \(multiple)...\(Self.maximumBlock), got \(value)"
                )
            }
        }
        if let memoryLimit, memoryLimit < 0 {
            throw AttentionError.argument("memoryLimit", "expected ≥ 0 bytes, got \(memoryLimit)")
        }
        var resolved = ResolvedExecution(
            threads: threads ?? AttentionConfiguration.defaultThreadCount, kernels: kernels,
            queryBlock: queryBlock, keyBlock: keyBlock,
            requestedMemoryLimit: memoryLimit)
        if let kernel = reducedPrecisionKernel {
            guard let table = HalfKernelTable(kernel, instructionSet: isa) else {
                throw AttentionError.argument(
                    "reducedPrecisionKernel",
                    "\(kernel) is not supported by this CPU (supported: \(ReducedPrecisionKernel.supported.map(\.description).joined(separator: ", ")))"
                )
            }
            resolved.halfKernels = table
        }
        return resolved
    }
}
