import Foundation
import Testing

@testable import Attention

/// The bf16/f16 backward (both backends) against the Double reference backward computed from
/// the *same* rounded bf16/f16 inputs (q, k, v and the output gradient, widened exactly).
///
/// Tolerance: 2× the error PyTorch's own bf16/f16 SDPA backward makes on such inputs,
/// measured once with scripts/measure_reduced_precision_backward_error.py (PyTorch 2.15, CPU,
/// one thread; normwise relative ‖g − ref‖₂ / ‖ref‖₂ against float64 autograd, worst over
/// dQ, dK, dV and D ∈ {1, 7, 64, 111}, Sq ≠ Sk, GQA, causal and not): bf16 5.391e-3,
/// f16 7.184e-4.
@Suite struct ReducedPrecisionBackwardTests {
    static let tolerance: [DType: Double] = [
        .bf16: 2 * 5.391e-3, .f16: 2 * 7.184e-4, .f32: AttentionBackwardTests.tolerance,
    ]

    static let cases: [Case] = [
        Case(h: 2, hkv: 2, sq: 37, sk: 53, d: 7),
        Case(b: 2, h: 4, hkv: 2, sq: 45, sk: 30, d: 64),
        Case(h: 4, hkv: 1, sq: 29, sk: 29, d: 1),
        Case(h: 2, hkv: 1, sq: 17, sk: 70, d: 111),
        Case(h: 2, hkv: 1, sq: 70, sk: 17, d: 16, dv: 9),
    ]

    /// Forward (fused, returning the LSE) and backward in `dtype` on `backend`; the gradients
    /// must come back in `dtype` and match the Double oracle run on the rounded inputs.
    func check(
        _ c: Case, dtype: DType, mask: AttentionMask, backend: AttentionBackend,
        execution: ExecutionOptions, strided: Bool = false,
        features f: AttentionBackwardTests.Features = .init()
    ) throws {
        var (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: 3)
        (q, k, v) = (q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype))
        if strided {  // [B, S, H, D] storage seen as [B, H, S, D], as a layer hands it over
            q = q.transposed(1, 2).contiguous().transposed(1, 2)
            k = k.transposed(1, 2).contiguous().transposed(1, 2)
            #expect(!q.isContiguous)
        }
        let dv = c.dv ?? c.d
        let gradOutput = Tensor.randomNormal([c.b, c.h, c.sq, dv], seed: 13).converted(to: dtype)
        let alibi = f.alibi ? try ALiBi(heads: c.h, form: .symmetric) : nil
        let options = AttentionOptions(
            mask: mask, scale: f.scale, dropout: f.dropout, dropoutSeed: 5, alibi: alibi,
            backend: backend, returnLogSumExp: true, execution: execution)
        var forwardOptions = options
        forwardOptions.backend = .fused
        let forward = try scaledDotProductAttention(
            query: q, key: k, value: v, options: forwardOptions)
        #expect(forward.output.dtype == dtype)
        let grads = try scaledDotProductAttentionBackward(
            gradOutput: gradOutput, query: q, key: k, value: v, output: forward.output,
            logSumExp: forward.logSumExp!, options: options)
        let oracle = DoubleAttention(
            query: q, key: k, value: v, mask: mask, scale: f.scale, alibi: alibi,
            dropout: f.dropout, seed: 5)
        let want = oracle.backward(gradOutput.scalars.map(Double.init))
        let label = "\(dtype) \(backend) \(mask) \(c)\(strided ? " strided" : "") \(f)"
        for (name, got, input, expected) in [
            ("gradQuery", grads.gradQuery, q, want.q), ("gradKey", grads.gradKey, k, want.k),
            ("gradValue", grads.gradValue, v, want.v),
        ] {
            #expect(got.dtype == dtype, "\(label) \(name): dtype \(got.dtype)")
            #expect(got.shape == input.shape, "\(label) \(name): shape \(got.shape)")
            let error = normwiseError(got.scalars.map(Double.init), expected)
            #expect(
                error <= Self.tolerance[dtype]!, "\(label) \(name): normwise error \(error)")
        }
    }

    @Test(arguments: [DType.bf16, .f16], [AttentionBackend.fused, .reference])
    func againstDoubleReference(dtype: DType, backend: AttentionBackend) throws {
        // Small tiles, so that every case has several query and key blocks.
        let small = ExecutionOptions(threads: 2, queryBlock: 12, keyBlock: 32)
        for c in Self.cases {
            for mask in [AttentionMask.none, .causal, .causalFromBottomRight] {
                try check(c, dtype: dtype, mask: mask, backend: backend, execution: small)
            }
        }
        let c = Case(b: 1, h: 2, hkv: 1, sq: 200, sk: 230, d: 64)
        for mask in [AttentionMask.none, .causal] {
            try check(c, dtype: dtype, mask: mask, backend: backend, execution: ExecutionOptions())
            try check(
                c, dtype: dtype, mask: mask, backend: backend, execution: ExecutionOptions(),
                strided: true)
        }
    }

    /// bf16 on the portable kernel (and on AVX2/portable instruction sets): the fused backward
    /// widens each tile to fp32 instead of multiplying in bf16 pairs; same oracle and bound.
    @Test(arguments: InstructionSet.supported)
    func bf16WideningKernel(isa: InstructionSet) throws {
        let small = ExecutionOptions(
            threads: 2, instructionSet: isa, queryBlock: 12, keyBlock: 32,
            reducedPrecisionKernel: .portable)
        for c in Self.cases {
            for mask in [AttentionMask.none, .causal] {
                try check(c, dtype: .bf16, mask: mask, backend: .fused, execution: small)
            }
        }
    }

    /// ALiBi, dropout (the forward's dropped entries) and a custom scale through the bf16
    /// backward, on the tile-product kernel (D = 64 and 16) and the widening one (every
    /// case), with one and two passes; the same bound (PyTorch's error was measured without
    /// these features).
    @Test(arguments: [ReducedPrecisionKernel?.none, .portable])
    func bf16AlibiDropoutScale(kernel: ReducedPrecisionKernel?) throws {
        let features = [
            AttentionBackwardTests.Features(scale: 0.8, alibi: true, dropout: 0.2),
            AttentionBackwardTests.Features(dropout: 0.3),
        ]
        for threads in [1, 2] {
            let execution = ExecutionOptions(
                threads: threads, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel)
            for c in Self.cases {
                for f in features {
                    for mask in [AttentionMask.none, .causalFromBottomRight] {
                        try check(
                            c, dtype: .bf16, mask: mask, backend: .fused, execution: execution,
                            features: f)
                    }
                }
            }
        }
    }

    /// The non-finite rule through the bf16 backward (tile products at D = 16, and the
    /// widening kernel): a NaN query row and a +inf key poison exactly the gradient rows
    /// the fp32 rule says, and every other row matches the fp32 backward on the same
    /// (widened) inputs within the bf16 bound.
    @Test(arguments: [ReducedPrecisionKernel?.none, .portable])
    func bf16NonFiniteRows(kernel: ReducedPrecisionKernel?) throws {
        let (sq, sk, d) = (20, 20, 16)
        var (q, k, v) = randomQKV(b: 1, h: 1, sq: sq, sk: sk, d: d, seed: 31)
        q[0, 0, 12, 3] = .nan
        k[0, 0, 15, 0] = .infinity
        let dO = Tensor.randomNormal([1, 1, sq, d], seed: 32)
        // A window of 3 keys (i − 2 … i): row 12 sees keys 10…12; key 15 poisons rows
        // 15…17, which see keys 13…17.
        let options = AttentionOptions(
            mask: .slidingWindow(left: 2, right: 0), returnLogSumExp: true,
            execution: ExecutionOptions(
                threads: 2, queryBlock: 12, keyBlock: 32, reducedPrecisionKernel: kernel))
        func gradients(_ dtype: DType) throws -> AttentionGradients {
            let (q, k, v, dO) = (
                q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype),
                dO.converted(to: dtype)
            )
            let f = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            return try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: f.output,
                logSumExp: f.logSumExp!, options: options)
        }
        let got = try gradients(.bf16), want = try gradients(.f32)
        for (name, g, w, nanRows) in [
            ("gradQuery", got.gradQuery, want.gradQuery, Set([12, 15, 16, 17])),
            ("gradKey", got.gradKey, want.gradKey, Set(10...17)),
            ("gradValue", got.gradValue, want.gradValue, Set(10...17)),
        ] {
            #expect(g.dtype == .bf16)
            var finite: [Double] = [], expected: [Double] = []
            for i in 0..<sq {
                let row = (0..<d).map { g[0, 0, i, $0] }
                if nanRows.contains(i) {
                    #expect(row.allSatisfy { $0.isNaN }, "\(name) row \(i) should be NaN")
                } else {
                    #expect(row.allSatisfy { $0.isFinite }, "\(name) row \(i) should be finite")
                    finite += row.map(Double.init)
                    expected += (0..<d).map { Double(w[0, 0, i, $0]) }
                }
            }
            let error = normwiseError(finite, expected)
            #expect(error <= Self.tolerance[.bf16]!, "\(name): normwise error \(error)")
        }
    }

    /// The f32 path is unchanged: f32 in, f32 gradients out.
    @Test func f32StaysF32() throws {
        try check(
            Self.cases[1], dtype: .f32, mask: .causal, backend: .fused,
            execution: ExecutionOptions())
    }

    /// query, key, value, gradOutput and output must share one dtype, and the LSE is f32:
    /// otherwise an error naming the argument.
    @Test func mixedDtypesThrow() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 9, sk: 11, d: 8, seed: 4)
        let forward = try scaledDotProductAttention(
            query: q, key: k, value: v, options: AttentionOptions(returnLogSumExp: true))
        let gradOutput = Tensor.randomNormal(q.shape, seed: 5)
        let lse = forward.logSumExp!
        let base = [q, k, v, gradOutput, forward.output].map { $0.converted(to: .bf16) }
        let names = ["query", "key", "value", "gradOutput", "output"]
        for wrong in 1..<5 {
            for other in [DType.f32, .f16] {
                var args = base
                args[wrong] = args[wrong].converted(to: other)
                #expect {
                    _ = try scaledDotProductAttentionBackward(
                        gradOutput: args[3], query: args[0], key: args[1], value: args[2],
                        output: args[4], logSumExp: lse)
                } throws: { ($0 as? AttentionError)?.argument == names[wrong] }
            }
        }
        #expect {
            _ = try scaledDotProductAttentionBackward(
                gradOutput: base[3], query: base[0], key: base[1], value: base[2],
                output: base[4], logSumExp: lse.converted(to: .bf16))
        } throws: { ($0 as? AttentionError)?.argument == "logSumExp" }
    }
}
