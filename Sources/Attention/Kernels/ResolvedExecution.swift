/// A call's ``ExecutionOptions`` with every default filled in, resolved once at the public
/// entry point and passed down to the drivers (fused kernel, reference path, GEMM,
/// ``parallelFor(count:threads:_:)``). Nothing below the entry point reads a process-wide
/// setting.
package struct ResolvedExecution: Sendable {
    /// Threads the call may use (≥ 1).
    package let threads: Int
    /// The kernel variant every C call of this call goes through.
    package let kernels: KernelTable
    /// The reduced-precision kernels (bf16/f16 conversions and products) of this call; `nil`
    /// means the best for ``kernels`` (``half``).
    var halfKernels: HalfKernelTable? = nil
    /// The reduced-precision kernels every bf16/f16 step of this call goes through.
    package var half: HalfKernelTable { halfKernels ?? .best(for: kernels.instructionSet) }
    /// Tile sizes the caller asked for (`nil`: the default for the mask).
    let queryBlock: Int?, keyBlock: Int?
    /// The caller's limit on bytes of scores (`nil`: the memory budget).
    let requestedMemoryLimit: Int?
    /// Bytes of scores the reference path may allocate: the caller's limit, or the memory
    /// budget, read only when a path that materializes asks (it reads /proc and cgroup files).
    package var memoryLimit: Int { requestedMemoryLimit ?? AttentionConfiguration.memoryBudget }

    package var instructionSet: InstructionSet { kernels.instructionSet }

    /// The fused kernel's tiles for `mask`: the caller's, else tiles that line up with a
    /// block-structured mask so that its blocks classify as exactly full or empty and no
    /// element is tested (BigBird's 64-blocks: 64×64 tiles), else the tuned default.
    package func tileSize(for mask: AttentionMask) -> (queries: Int, keys: Int) {
        Self.tileSize(for: mask, queryBlock: queryBlock, keyBlock: keyBlock)
    }

    /// ``tileSize(for:)`` for requested tiles `queryBlock` × `keyBlock` (`nil`: default).
    static func tileSize(for mask: AttentionMask, queryBlock: Int?, keyBlock: Int?) -> (
        queries: Int, keys: Int
    ) {
        if queryBlock == nil, keyBlock == nil,
            case .bigBirdBlocks(let size, _, _, _, _) = mask, size % 32 == 0, size <= 256
        {
            return (size, size)
        }
        return (
            queryBlock ?? ExecutionOptions.defaultQueryBlock,
            keyBlock ?? ExecutionOptions.defaultKeyBlock
        )
    }

    /// The machine defaults (tests and benchmarks that do not care).
    package static var machineDefault: ResolvedExecution {
        try! ExecutionOptions().resolved()  // the defaults are always valid
    }
}
