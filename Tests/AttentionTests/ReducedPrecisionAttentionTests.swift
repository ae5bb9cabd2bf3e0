import Foundation
import Testing

@testable import Attention

/// bf16/f16 attention on every path this CPU has, against the Double oracle computed from
/// the *same* bf16/f16 inputs (widened exactly).
///
/// Tolerance: 2× the error PyTorch's own SDPA makes on such inputs, measured once with
/// scripts/measure_reduced_precision_error.py (PyTorch 2.15, CPU; normwise relative error
/// max |out − ref| / max |ref| over D ∈ {1, 8, 59, 64, 128, 256}, Sq ≠ Sk, GQA, causal):
/// bf16 worst 4.263e-3, f16 worst 5.060e-4.
@Suite struct ReducedPrecisionAttentionTests {
    static let tolerance: [DType: Double] = [.bf16: 2 * 4.263e-3, .f16: 2 * 5.060e-4]

    /// The paths that run here; the ones this CPU lacks are reported as skipped.
    static let paths: [(name: String, execution: ExecutionOptions)] = {
        var paths: [(String, ExecutionOptions)] = [
            (
                "portable (scalar conversions, portable fp32 kernels)",
                ExecutionOptions(instructionSet: .portable, reducedPrecisionKernel: .portable)
            ),
            (
                "portable (F16C conversions, \(AttentionConfiguration.detectedInstructionSet) kernels)",
                ExecutionOptions(reducedPrecisionKernel: .portable)
            ),
            (
                "portable, 24×32 tiles",
                ExecutionOptions(queryBlock: 24, keyBlock: 32, reducedPrecisionKernel: .portable)
            ),
        ]
        for kernel in ReducedPrecisionKernel.supported where kernel.hasTileProducts {
            paths.append(("\(kernel)", ExecutionOptions(reducedPrecisionKernel: kernel)))
            paths.append(
                (
                    "\(kernel), 24×32 tiles",
                    ExecutionOptions(queryBlock: 24, keyBlock: 32, reducedPrecisionKernel: kernel)
                ))
        }
        return paths
    }()

    @Test func reportWhichPathsRan() {
        for path in Self.paths { print("reduced precision: ran \(path.name)") }
        if !ReducedPrecisionKernel.supported.contains(.avx512BF16) {
            print("reduced precision: skipped AVX512-BF16 (this CPU has no avx512_bf16)")
        }
        if !ReducedPrecisionKernel.supported.contains(.arm64BF16) {
            print("reduced precision: skipped arm64 BF16 (not an arm64 CPU with FEAT_BF16)")
        }
        if !ReducedPrecisionKernel.supported.contains(.amxBF16) {
            print("reduced precision: skipped AMX-BF16 (this CPU has no usable AMX-BF16)")
        }
        if !ReducedPrecisionKernel.supported.contains(.amxFP16) {
            print(
                "reduced precision: skipped AMX-FP16 f16 products (this CPU has no usable AMX-FP16)"
            )
        }
        #expect(!Self.paths.isEmpty)
    }

    /// A fused forward multiplies bf16 in pairs on every tile-product kernel, and f16 only on
    /// AMX-FP16 (its f16 tiles); every other kernel widens f16 tiles to fp32.
    @Test func whichCallsMultiplyInPairs() throws {
        for kernel in ReducedPrecisionKernel.supported {
            for dtype in [DType.bf16, .f16] {
                let (q, k, v) = inputs(Case(h: 2, sq: 20, sk: 30, d: 16), dtype, seed: 4)
                var options = AttentionOptions(backend: .fused)
                options.execution.reducedPrecisionKernel = kernel
                let problem = try AttentionProblem(query: q, key: k, value: v, options: options)
                let pairs = dtype == .bf16 ? kernel.hasTileProducts : kernel == .amxFP16
                #expect(
                    FlashPrecision(problem) == (pairs ? .pairDot : .convert(dtype)),
                    "\(kernel) \(dtype)")
                // Dropout keeps weights as P/(1 − p): beyond f16's 65504, f16 converts.
                #expect(
                    FlashPrecision(problem, keptWeightScale: 1e5)
                        == (pairs && dtype == .bf16 ? .pairDot : .convert(dtype)),
                    "\(kernel) \(dtype) dropout 0.99999")
                #expect(FlashPrecision(problem, keptWeightScale: 100) == FlashPrecision(problem))
            }
        }
    }

    /// f16 with dropout 0.99999 (kept weights ×1e5, beyond f16's 65504) on AMX-FP16: the call
    /// widens, so it gives the portable kernel's output bit for bit, finite (in f16 pairs the
    /// kept weights would round to infinity).
    @Test func f16DropoutBeyondHalfRangeWidens() throws {
        guard ReducedPrecisionKernel.supported.contains(.amxFP16) else {
            print("reduced precision: skipped the AMX-FP16 dropout check (no AMX-FP16)")
            return
        }
        let (q, k, v0) = inputs(Case(h: 4, sq: 256, sk: 512, d: 16), .f16, seed: 6)
        let v = (v0.converted(to: .f32) * 1e-3).converted(to: .f16)
        var outputs: [[Float]] = []
        for kernel in [ReducedPrecisionKernel.portable, .amxFP16] {
            var options = AttentionOptions(dropout: 0.99999, dropoutSeed: 2, backend: .fused)
            options.execution.reducedPrecisionKernel = kernel
            let out = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            outputs.append(out.output.converted(to: .f32).scalars)
        }
        let kept = outputs[0].filter { $0 != 0 }.count
        let nonFinite = outputs[1].filter { !$0.isFinite }.count
        let differing = zip(outputs[0], outputs[1]).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(kept > 0, "dropout kept nothing: choose another seed")
        #expect(nonFinite == 0 && differing == 0, "\(nonFinite) non-finite, \(differing) differ")
    }

    static let cases: [Case] = [
        Case(sq: 1, sk: 1, d: 1), Case(b: 2, h: 2, sq: 17, sk: 17, d: 8),
        Case(h: 2, sq: 113, sk: 203, d: 59), Case(b: 2, h: 4, hkv: 2, sq: 128, sk: 128, d: 64),
        Case(h: 2, hkv: 1, sq: 203, sk: 113, d: 128), Case(sq: 113, sk: 17, d: 256),
        Case(h: 2, sq: 40, sk: 70, d: 32, dv: 24), Case(h: 3, hkv: 1, sq: 50, sk: 77, d: 7, dv: 33),
    ]

    /// Every mask kind, with sizes taken from the case (tensor masks need them).
    static func masks(_ c: Case) -> [AttentionMask] {
        let rng = CounterRNG(seed: 77)
        var dense = (0..<(c.sq * c.sk)).map { rng.uniform(at: UInt64($0)) < 0.6 ? Float(1) : 0 }
        if c.sq > 2 { for j in 0..<c.sk { dense[2 * c.sk + j] = 0 } }  // row 2 sees no key
        return [
            .none, .causal, .causalFromBottomRight, .slidingWindow(left: 9, right: 3),
            .prefixLM(prefixLength: Swift.min(5, c.sk)),
            .bigBird(window: 3, globalTokens: 2, randomPerRow: 2, seed: 5),
            .dense(try! Tensor(shape: [c.sq, c.sk], scalars: dense)),
            .additive(Tensor.randomNormal([1, c.h, c.sq, c.sk], seed: 78)),
        ]
    }

    func inputs(_ c: Case, _ dtype: DType, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: seed)
        return (q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype))
    }

    /// Runs every path on one problem and compares output and log-sum-exp with the oracle;
    /// returns the worst error per path.
    @discardableResult
    func check(
        _ c: Case, _ dtype: DType, mask: AttentionMask, alibi: ALiBi? = nil, dropout: Float = 0,
        inputs: (Tensor, Tensor, Tensor)
    ) throws -> [Double] {
        var errors: [Double] = []
        let (q, k, v) = inputs
        let oracle = NaiveAttention(
            query: q, key: k, value: v, mask: mask, alibi: alibi, dropout: Double(dropout),
            seed: 9)
        for path in Self.paths {
            let options = AttentionOptions(
                mask: mask, dropout: dropout, dropoutSeed: 9, alibi: alibi, backend: .fused,
                returnLogSumExp: true, execution: path.execution)
            let result = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            #expect(result.output.dtype == dtype && result.logSumExp?.dtype == .f32)
            let error = maxRelativeError(result.output, oracle.output)
            errors.append(error)
            #expect(
                error <= Self.tolerance[dtype]!,
                "\(dtype) \(c) \(mask) alibi=\(alibi != nil) p=\(dropout) [\(path.name)]: \(error)")
            for (x, y) in zip(result.logSumExp!.scalars, oracle.lse) {
                if y == -.infinity {
                    #expect(x == -.infinity)
                } else {
                    #expect(abs(Double(x) - y) <= 1e-4 * max(1, abs(y)), "\(dtype) \(c) \(mask)")
                }
            }
        }
        return errors
    }

    @Test(arguments: 0..<cases.count)
    func everyMaskAgainstTheOracle(_ index: Int) throws {
        let c = Self.cases[index]
        var summary: [String] = []
        for dtype in [DType.bf16, .f16] {
            let qkv = inputs(c, dtype, seed: UInt64(40 + index))
            var worst = [Double](repeating: 0, count: Self.paths.count)
            for mask in Self.masks(c) {
                let errors = try check(c, dtype, mask: mask, inputs: qkv)
                worst = zip(worst, errors).map { max($0, $1) }
            }
            summary.append(
                "\(dtype) " + worst.map { String(format: "%.2e", $0) }.joined(separator: "/"))
        }
        // Worst normwise relative error over the masks, per path (in `paths` order).
        print("reduced precision \(c): \(summary.joined(separator: ", "))")
    }

    @Test func alibiDropoutAndStridedInputs() throws {
        let c = Case(b: 2, h: 4, hkv: 2, sq: 70, sk: 97, d: 64)
        for dtype in [DType.bf16, .f16] {
            let qkv = inputs(c, dtype, seed: 3)
            let alibi = try ALiBi(heads: 4, form: .causal)
            try check(c, dtype, mask: .causal, alibi: alibi, inputs: qkv)
            try check(c, dtype, mask: .none, dropout: 0.2, inputs: qkv)
            // [B, S, H, D] storage viewed as [B, H, S, D]: strided, no copy.
            let (q, k, v) = qkv
            let strided = (
                q.transposed(1, 2).contiguous().transposed(1, 2),
                k.transposed(1, 2).contiguous().transposed(1, 2),
                v.transposed(1, 2).contiguous().transposed(1, 2)
            )
            #expect(strided.0.strides != q.strides)
            try check(c, dtype, mask: .slidingWindow(left: 5, right: 5), inputs: strided)
        }
    }

    @Test func nonFiniteInputsFollowTheRule() throws {
        let c = Case(h: 2, sq: 30, sk: 40, d: 16)
        var (q, k, v) = randomQKV(b: 1, h: 2, sq: 30, sk: 40, d: 16, seed: 8)
        k[0, 1, 7, 3] = .nan  // key 7 of head 1 poisons the rows that see it
        q[0, 0, 4, 0] = .infinity  // query row 4 of head 0
        for dtype in [DType.bf16, .f16] {
            let (qh, kh, vh) = (
                q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype)
            )
            let expected = try scaledDotProductAttention(
                query: qh.converted(to: .f32), key: kh.converted(to: .f32),
                value: vh.converted(to: .f32), mask: .causal
            ).scalars.map { $0.isNaN }
            #expect(expected.contains(true) && expected.contains(false))
            for path in Self.paths {
                let out = try scaledDotProductAttention(
                    query: qh, key: kh, value: vh,
                    options: AttentionOptions(mask: .causal, execution: path.execution)
                ).output
                #expect(out.scalars.map { $0.isNaN } == expected, "\(dtype) \(c) [\(path.name)]")
            }
        }
    }

    @Test func referenceBackendAndEmptyProblemsKeepTheDType() throws {
        let (q, k, v) = inputs(Case(h: 2, sq: 9, sk: 11, d: 8), .bf16, seed: 1)
        let oracle = NaiveAttention(query: q, key: k, value: v, mask: .causal)
        let reference = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .causal, backend: .reference)
        #expect(reference.dtype == .bf16)
        #expect(maxRelativeError(reference, oracle.output) <= Self.tolerance[.bf16]!)
        let empty = try scaledDotProductAttention(
            query: q, key: k.sliced(axis: 2, range: 0..<0), value: v.sliced(axis: 2, range: 0..<0))
        #expect(empty.dtype == .bf16 && empty.scalars.allSatisfy { $0 == 0 })
    }

    @Test func mixedDTypesAreRejectedNamingTheArgument() throws {
        let (q, k, v) = inputs(Case(sq: 4, sk: 4, d: 8), .bf16, seed: 2)
        for (key, value, name) in [
            (k.converted(to: .f32), v, "key"), (k, v.converted(to: .f16), "value"),
        ] {
            let error = #expect(throws: AttentionError.self) {
                try scaledDotProductAttention(query: q, key: key, value: value)
            }
            #expect(error?.argument == name, "\(String(describing: error))")
        }
    }
}
