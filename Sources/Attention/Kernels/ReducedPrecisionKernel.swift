import _AttentionKernels

/// How the fused kernel runs a bf16 or f16 call.
///
/// A call picks one through ``ExecutionOptions/reducedPrecisionKernel`` (default: the best
/// this CPU has). Every choice reads the 2-byte inputs directly, accumulates in fp32, keeps
/// the softmax statistics and the log-sum-exp in fp32, and writes the input's dtype.
public enum ReducedPrecisionKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Converts each tile to fp32 (F16C/AVX2 conversions where the CPU has them) and runs the
    /// call's fp32 kernels. Works everywhere, for bf16 and f16.
    case portable
    /// bf16 tile products on `vdpbf16ps` (Q·Kᵀ, and P·V with P rounded to bf16 as
    /// FlashAttention does), softmax in fp32. Needs AVX512-BF16. f16 inputs still take the
    /// portable path: without AVX512-FP16 arithmetic the fp32 kernels are the fast way, and
    /// fp16 products accumulated in fp16 would lose accuracy anyway.
    ///
    /// Decoding against a bf16 cache (``decodeAttention(query:cache:options:)``) also
    /// multiplies in bf16 pairs with this kernel: the cached keys and values are used as
    /// stored, the query rows are rounded to bf16 once per step (exact when the query tensor
    /// is bf16, the usual case), and the softmax weights are rounded to bf16 before they
    /// multiply the values (their sums stay fp32).
    case avx512BF16
    /// The same bf16 tile products on arm64 `BFDOT` (`FEAT_BF16`: Apple M2 and later),
    /// chosen at run time. Its C kernels are checked under qemu (`scripts/test-arm64.sh`);
    /// the Swift library has not yet run on arm64 hardware.
    case arm64BF16
    /// The AVX512-BF16 kernel with its bf16 products (Q·Kᵀ, P·V, bf16 layer weights) on AMX
    /// tiles (`tdpbf16ps`), chosen by default where offered: a CPU with AMX-BF16 (Intel
    /// Sapphire Rapids and later) whose operating system grants the tile state (Linux: asked
    /// once per process). Its logic is tested in a software model of the tiles
    /// (`scripts/test-amx.sh`); it has not yet run on AMX hardware. Decoding uses the
    /// AVX512-BF16 pair kernel (a decode step is bound by reading the cache, not by products).
    case amxBF16
    /// ``amxBF16`` plus f16 tile products on AMX-FP16 (`tdpfp16ps`, Intel Granite Rapids and
    /// later), chosen by default where offered: f16 calls multiply Q·Kᵀ on the f16 inputs as
    /// given and P·V with P rounded to f16 (fp32 sums and softmax), where the other kernels
    /// widen f16 tiles to fp32. bf16 calls run exactly as on ``amxBF16``. Only the fused
    /// forward uses the f16 products; an f16 backward and f16 layer weights are widened.
    /// Tested in the software model of the tiles (`scripts/test-amx.sh`); it has not yet run
    /// on AMX-FP16 hardware.
    case amxFP16

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx512BF16: "AVX512-BF16"
        case .arm64BF16: "arm64 BF16"
        case .amxBF16: "AMX-BF16"
        case .amxFP16: "AMX-FP16"
        }
    }

    /// What the fused passes' tile products of `dtype` run on with this kernel, for reports:
    /// the products' name, or "portable" where a forward widens its tiles to fp32.
    package func productsDescription(_ dtype: DType) -> String {
        switch dtype {
        case .f32: "fp32"
        case .bf16: self == .amxFP16 ? ReducedPrecisionKernel.amxBF16.description : description
        case .f16: hasF16TileProducts ? description : ReducedPrecisionKernel.portable.description
        }
    }

    /// Whether bf16 calls multiply in bf16 pairs (fp32 sums) rather than converting tiles.
    var hasTileProducts: Bool { self != .portable }
    /// Whether f16 calls multiply in f16 pairs (AMX-FP16) rather than converting tiles.
    var hasF16TileProducts: Bool { self == .amxFP16 }

    /// The C table variant of a tile-product kernel.
    fileprivate var variant: Int32? {
        switch self {
        case .portable: nil
        case .avx512BF16: Int32(AK_HALF_AVX512BF16.rawValue)
        case .arm64BF16: Int32(AK_HALF_ARM64_BF16.rawValue)
        case .amxBF16: Int32(AK_HALF_AMX_BF16.rawValue)
        case .amxFP16: Int32(AK_HALF_AMX_FP16.rawValue)
        }
    }

    /// The kernels this CPU can run.
    public static var supported: [ReducedPrecisionKernel] {
        allCases.filter { kernel in kernel.variant.map { ak_half_kernels($0) != nil } ?? true }
    }
}

/// The reduced-precision C kernels of one variant (conversions, scan, bf16 products),
/// chosen once per call like ``KernelTable``.
package struct HalfKernelTable: @unchecked Sendable {
    /// Which fused path a bf16 call takes.
    package let kernel: ReducedPrecisionKernel
    /// The entry points; their contracts are in `AttentionKernelsHalf.h`.
    let c: ak_half_table

    /// The table for `kernel`, with conversions suited to `instructionSet` (scalar for
    /// `.portable`, F16C otherwise when the CPU has it); `nil` when the CPU lacks `kernel`.
    package init?(_ kernel: ReducedPrecisionKernel, instructionSet: InstructionSet) {
        let variant: Int32
        switch kernel {
        case .avx512BF16, .arm64BF16, .amxBF16, .amxFP16: variant = kernel.variant!
        case .portable:
            variant =
                instructionSet == .portable
                ? Int32(AK_HALF_PORTABLE.rawValue)
                : ak_half_kernels(Int32(AK_HALF_F16C.rawValue)) != nil
                    ? Int32(AK_HALF_F16C.rawValue) : Int32(AK_HALF_PORTABLE.rawValue)
        }
        guard let table = ak_half_kernels(variant) else { return nil }
        self.kernel = kernel
        c = table.pointee
    }

    /// The default for a call: arm64 BF16 when the CPU has `FEAT_BF16` (never on x86);
    /// AMX-FP16, else AMX-BF16, else AVX512-BF16, when the CPU has it and the call runs
    /// AVX-512.
    static func best(for instructionSet: InstructionSet) -> HalfKernelTable {
        if let table = HalfKernelTable(.arm64BF16, instructionSet: instructionSet) {
            return table
        }
        if instructionSet == .avx512,
            let table = HalfKernelTable(.amxFP16, instructionSet: .avx512)
                ?? HalfKernelTable(.amxBF16, instructionSet: .avx512)
                ?? HalfKernelTable(.avx512BF16, instructionSet: .avx512)
        {
            return table
        }
        return HalfKernelTable(.portable, instructionSet: instructionSet)!  // portable always exists
    }

    /// Whether decoding against a bf16 cache multiplies in bf16 pairs (`vdpbf16ps`) rather
    /// than widening the cache to fp32 (``FlashDecode``).
    package var decodesInPairs: Bool { c.decode_partial_bf16 != nil }

    /// The C format code of a 2-byte dtype.
    static func format(_ dtype: DType) -> Int32 {
        Int32(dtype == .bf16 ? AK_HALF_BF16.rawValue : AK_HALF_F16.rawValue)
    }
}
