import _AttentionKernels

/// SIMD variants of the micro-kernels.
///
/// A call picks one through ``ExecutionOptions/instructionSet`` (default:
/// ``AttentionConfiguration/defaultInstructionSet``); every variant computes the same
/// function, so the choice changes speed and rounding only.
public enum InstructionSet: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// 4-wide vectors: SSE2 without FMA on x86-64, NEON with FMA on arm64 (where it is the
    /// only variant).
    case portable = 0
    /// 8-wide AVX2 with FMA (and F16C, which the decode kernel converts f16 caches with).
    case avx2 = 1
    /// 16-wide AVX-512 (F, VL, DQ) with FMA.
    case avx512 = 2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["portable", "AVX2+FMA", "AVX-512"][rawValue] }

    /// The variants this CPU can run, from `.portable` up to the detected one.
    public static var supported: [InstructionSet] {
        allCases.filter { $0 <= AttentionConfiguration.detectedInstructionSet }
    }
}
