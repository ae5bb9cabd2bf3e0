import _AttentionKernels

/// The C kernels of one instruction set: a table of function pointers, chosen once per call
/// (``ResolvedExecution``) and handed to every driver, which calls through it. Nothing in
/// the C target is global, so concurrent calls may use different variants.
package struct KernelTable: @unchecked Sendable {
    package let instructionSet: InstructionSet
    /// The variant's entry points (`sgemm`, `tile_gemm`, `online_softmax`, …); their
    /// contracts are in `AttentionKernels.h`.
    let c: ak_table

    /// The table of `instructionSet`, or `nil` when this CPU lacks it.
    package init?(_ instructionSet: InstructionSet) {
        guard let table = ak_kernels(Int32(instructionSet.rawValue)) else { return nil }
        self.instructionSet = instructionSet
        c = table.pointee
    }
}
