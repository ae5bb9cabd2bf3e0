import Foundation
import Testing

@testable import Attention

/// The fused backward recomputes `P = e^(S − LSE)`; for rows whose log-sum-exp is large
/// (≥ 1024) the float LSE is too coarse for that, and the backward recomputes the rows'
/// statistics itself (FlashBackward+RowStatistics.swift).
struct BackwardLargeLogitsTests {
    /// `[1, 4, 40, 64]` queries over 2 key/value heads of 150 keys in which every score of
    /// head 0 and 2's rows is shifted by `offset` (feature 0 of every key is 1, of each
    /// query `offset/scale`) and 7 rows of head 1 by `offset` too: a row's softmax, and so
    /// every gradient, is that of the unshifted scores; heads 3 stays ordinary.
    static func inputs(offset: Float) -> (Tensor, Tensor, Tensor, Tensor) {
        var (q, k, v) = randomQKV(b: 1, h: 4, hkv: 2, sq: 40, sk: 150, d: 64, seed: 41)
        let scale: Float = 1 / 8
        for hk in 0..<2 { for j in 0..<150 { k[0, hk, j, 0] = 1 } }
        for h in [0, 2] { for i in 0..<40 { q[0, h, i, 0] = offset / scale } }
        for i in 10..<17 { q[0, 1, i, 0] = offset / scale }
        return (q, k, v, Tensor.randomNormal([1, 4, 40, 64], seed: 42))
    }

    /// Scores near 2000: the recomputed statistics against the Double oracle (float scores
    /// near 2000 are exact to 1.2e-4, which bounds the error), on both backends and every
    /// instruction set, with causal masking on 24-row tiles (partial tiles).
    @Test(arguments: InstructionSet.supported)
    func matchesTheOracleNear2000(_ isa: InstructionSet) throws {
        let (q, k, v, dO) = Self.inputs(offset: 2000)
        let execution = ExecutionOptions(threads: 2, instructionSet: isa, queryBlock: 24)
        for backend in [AttentionBackend.fused, .reference] {
            let options = AttentionOptions(
                mask: .causal, backend: backend, returnLogSumExp: true, execution: execution)
            let forward = try scaledDotProductAttention(
                query: q, key: k, value: v, options: options)
            #expect(forward.logSumExp!.scalars.contains { $0 > 1024 })
            let g = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: forward.output,
                logSumExp: forward.logSumExp!, options: options)
            let want = DoubleAttention(
                query: q, key: k, value: v, mask: .causal, scale: nil, alibi: nil, dropout: 0,
                seed: 0
            ).backward(dO.scalars.map(Double.init))
            for (name, got, expected) in [
                ("dQ", g.gradQuery, want.q), ("dK", g.gradKey, want.k), ("dV", g.gradValue, want.v),
            ] {
                let error = normwiseError(got.scalars.map(Double.init), expected)
                #expect(error <= 2e-3, "\(isa) \(backend) \(name): \(error)")
            }
        }
    }

    /// Scores near 1e9 (float spacing 64): the rows' softmax is decided by the rounding, so
    /// the closed forms checked are those that hold for any softmax — finite gradients, and
    /// `Σ_j dV_j = Σ_i dO_i` per key/value head (each row's weights sum to 1). Before the
    /// recomputed statistics, `e^(S − LSE)` overflowed: NaN and infinite gradients.
    @Test(arguments: [DType.f32, .bf16])
    func staysFiniteNear1e9(_ dtype: DType) throws {
        var (q, k, v, dO) = Self.inputs(offset: 1e9)
        (q, k, v, dO) = (
            q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype),
            dO.converted(to: dtype)
        )
        let kernels: [ReducedPrecisionKernel?] =
            dtype == .f32 ? [nil] : ReducedPrecisionKernel.supported
        for kernel in kernels {
            var options = AttentionOptions(backend: .fused, returnLogSumExp: true)
            options.execution.reducedPrecisionKernel = kernel
            let forward = try scaledDotProductAttention(
                query: q, key: k, value: v, options: options)
            let g = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: forward.output,
                logSumExp: forward.logSumExp!, options: options)
            let context = "\(dtype) \(kernel.map { "\($0)" } ?? "")"
            for (name, t) in [("dQ", g.gradQuery), ("dK", g.gradKey), ("dV", g.gradValue)] {
                #expect(
                    t.converted(to: .f32).scalars.allSatisfy { $0.isFinite }, "\(context) \(name)")
            }
            let gv = g.gradValue.converted(to: .f32), go = dO.converted(to: .f32)
            for hk in 0..<2 {
                for x in 0..<64 {
                    var sumV = 0.0, sumO = 0.0, size = 0.0
                    for j in 0..<150 { sumV += Double(gv[0, hk, j, x]) }
                    for h in 2 * hk..<2 * hk + 2 {
                        for i in 0..<40 {
                            sumO += Double(go[0, h, i, x])
                            size += abs(Double(go[0, h, i, x]))
                        }
                    }
                    let tolerance = (dtype == .f32 ? 1e-4 : 2e-2) * size
                    #expect(abs(sumV - sumO) <= tolerance, "\(context) head \(hk) column \(x)")
                }
            }
        }
    }

    /// A log-sum-exp over more keys than the call holds (ring attention's use: each shard's
    /// backward with the rows' global log-sum-exp) is used as given, large or not: the
    /// backwards of the two key halves sum to the whole call's gradients.
    /// Both backends: the reference backward too uses a log-sum-exp that is not its own as
    /// given (before, it recomputed the softmax over the keys it was handed, and its halves
    /// summed to a dQ off by O(1)), and the two backends' halves agree.
    @Test(arguments: [Float(0), 2000], [AttentionBackend.fused, .reference])
    func aLogSumExpOverMoreKeysIsUsedAsGiven(_ offset: Float, _ backend: AttentionBackend) throws {
        let (q, k, v, dO) = Self.inputs(offset: offset)
        let options = AttentionOptions(backend: backend, returnLogSumExp: true)
        let fused = AttentionOptions(backend: .fused)
        let full = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let whole = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: full.output,
            logSumExp: full.logSumExp!, options: options)
        var dQ = [Double](repeating: 0, count: q.count)
        for half in [0..<75, 75..<150] {
            let (kh, vh) = (try k.sliced(axis: 2, range: half), try v.sliced(axis: 2, range: half))
            let g = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: kh, value: vh, output: full.output,
                logSumExp: full.logSumExp!, options: options)
            for (i, x) in g.gradQuery.scalars.enumerated() { dQ[i] += Double(x) }
            let f = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: kh, value: vh, output: full.output,
                logSumExp: full.logSumExp!, options: fused)
            for (name, a, b) in [
                ("dQ", g.gradQuery, f.gradQuery), ("dK", g.gradKey, f.gradKey),
                ("dV", g.gradValue, f.gradValue),
            ] {
                let e = normwiseError(a.scalars.map(Double.init), b.scalars.map(Double.init))
                #expect(
                    e <= 1e-4, "offset \(offset) \(backend) keys \(half) \(name) vs fused: \(e)")
            }
        }
        let error = normwiseError(dQ, whole.gradQuery.scalars.map(Double.init))
        #expect(error <= 1e-4, "offset \(offset) \(backend): \(error)")
    }
}
