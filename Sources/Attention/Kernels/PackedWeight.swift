import _AttentionKernels

/// A layer weight `W` `[out, in]` with its optional bias, and `Wᵀ` packed for the GEMM
/// (`pack_b`: 32-column k-major panels): `y = x·Wᵀ + b` over the last axis of `x`
/// (``GEMM/multiply(_:_:execution:)``).
///
/// The unpacked GEMM packs the right-hand matrix in every task of every call; a layer's
/// weight changes only when its parameters are replaced, so it is packed then, once. The
/// packed layout is the same for every kernel variant.
struct PackedWeight: Sendable {
    /// `N` (output features) and `K` (input features).
    let outputs: Int, inputs: Int
    let panels: [Float]
    let bias: [Float]?
    /// A bf16 weight also packed in bf16 pairs for the AVX512-BF16 GEMM (`pack_weight`; the
    /// AMX-BF16 GEMM reads the same layout), when this CPU has it; `nil` otherwise.
    let pairs: [UInt32]?

    /// Packs `weight` `[out, in]` (any strides) and keeps `bias` `[out]`.
    init(weight: Tensor, bias: Tensor?) {
        let w = weight.contiguous()
        let (n, k) = (w.shape[0], w.shape[1])
        (outputs, inputs) = (n, k)
        let count = ak_packed_b_floats(k, n)
        let pack = ResolvedExecution.machineDefault.kernels.c.pack_b
        panels = [Float](unsafeUninitializedCapacity: Swift.max(1, count)) { buffer, filled in
            w.withUnsafeElements { pack(1, k, n, $0, k, buffer.baseAddress!) }
            filled = count
        }
        self.bias = bias?.contiguous().scalars
        let half =
            HalfKernelTable(.avx512BF16, instructionSet: .avx512)
            ?? HalfKernelTable(.arm64BF16, instructionSet: .portable)
        if w.dtype == .bf16, let packWeight = half?.c.pack_weight {
            let words = ak_bf16_packed_words(k, n)
            pairs = [UInt32](unsafeUninitializedCapacity: Swift.max(1, words)) { buffer, filled in
                w.withUnsafeHalfElements { packWeight(k, n, $0, k, buffer.baseAddress!) }
                filled = words
            }
        } else {
            pairs = nil
        }
    }
}

extension PackedWeight {
    /// Calls `body` with the bf16 pairs (`bf16`, which must exist) or the fp32 panels.
    func withPanels<R>(bf16: Bool, _ body: (UnsafeRawPointer) -> R) -> R {
        bf16
            ? pairs!.withUnsafeBytes { body($0.baseAddress!) }
            : panels.withUnsafeBytes { body($0.baseAddress!) }
    }
}
