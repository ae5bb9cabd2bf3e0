import _AttentionKernels

/// Bulk conversions between 2-byte dtypes and `Float`, through the reduced-precision C
/// kernels (F16C/AVX2 where the CPU has them; every variant gives the same results).
enum HalfConversion {
    /// The machine's conversion kernels.
    static var machine: ak_half_table {
        HalfKernelTable(.portable, instructionSet: AttentionConfiguration.detectedInstructionSet)!.c
    }

    /// `y = x` widened from `dtype` (exact).
    static func widen(
        _ x: [UInt16], from dtype: DType, into y: inout [Float],
        using table: ak_half_table = machine
    ) {
        precondition(x.count == y.count && dtype != .f32)
        convert(x, &y) { table.to_f32(HalfKernelTable.format(dtype), x.count, $0, $1) }
    }

    /// `y = x` rounded to `dtype` (nearest, ties to even).
    static func narrow(
        _ x: [Float], to dtype: DType, into y: inout [UInt16], using table: ak_half_table = machine
    ) {
        precondition(x.count == y.count && dtype != .f32)
        convert(x, &y) { table.from_f32(HalfKernelTable.format(dtype), x.count, $0, $1) }
    }

    private static func convert<A, B>(
        _ x: [A], _ y: inout [B], _ kernel: (UnsafePointer<A>, UnsafeMutablePointer<B>) -> Void
    ) {
        guard !x.isEmpty else { return }
        x.withUnsafeBufferPointer { src in
            y.withUnsafeMutableBufferPointer { kernel(src.baseAddress!, $0.baseAddress!) }
        }
    }
}
