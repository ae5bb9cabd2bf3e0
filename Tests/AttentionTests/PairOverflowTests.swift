import Foundation
import Testing

@testable import Attention

/// The bf16 pair kernels sum `q·k` before they scale it. With a small scale and large
/// entries that sum can overflow float32 where the scaled score `scale·q·k` (what the rule
/// and the fp32 kernels compute) is finite; every kernel must still give the rule's answer.
struct PairOverflowTests {
    /// `[1, 2, 12, 64]` bf16 queries over one key/value head of 40 positions: query row 5 of
    /// head 0 and key 7 hold 1e19 in their first four features, so `q·k ≈ 4e38` overflows
    /// float32 while `1e−37·q·k ≈ 40` is an ordinary score (row 5 then weighs key 7 by
    /// 1 − 4e−17; every other score is about 1e−18).
    static func inputs() -> (Tensor, Tensor, Tensor) {
        var (q, k, v) = randomQKV(b: 1, h: 2, hkv: 1, sq: 12, sk: 40, d: 64, seed: 31)
        for i in 0..<4 {
            q[0, 0, 5, i] = 1e19
            k[0, 0, 7, i] = 1e19
        }
        return (q.converted(to: .bf16), k.converted(to: .bf16), v.converted(to: .bf16))
    }

    static let scale: Float = 1e-37

    @Test(arguments: ReducedPrecisionKernel.supported)
    func forwardFollowsTheRule(_ kernel: ReducedPrecisionKernel) throws {
        let (q, k, v) = Self.inputs()
        var options = AttentionOptions(scale: Self.scale, backend: .fused, returnLogSumExp: true)
        options.execution.reducedPrecisionKernel = kernel
        let oracle = NonFiniteOracle(
            query: q.converted(to: .f32), key: k.converted(to: .f32),
            value: v.converted(to: .f32), options: options)
        #expect(oracle.lse.allSatisfy { $0.isFinite })
        let r = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let out = r.output.converted(to: .f32)
        #expect(firstDisagreement(out, oracle.output, tolerance: 1e-2) == nil, "\(kernel)")
        #expect(firstDisagreement(r.logSumExp!, oracle.lse, tolerance: 1e-4) == nil, "\(kernel)")
    }

    /// The backward on the pair kernel gives the widening kernel's gradients (finite).
    @Test func backwardMatchesTheWideningKernel() throws {
        let (q, k, v) = Self.inputs()
        let dO = Tensor.randomNormal([1, 2, 12, 64], seed: 32).converted(to: .bf16)
        var gradients: [ReducedPrecisionKernel: AttentionGradients] = [:]
        for kernel in ReducedPrecisionKernel.supported {
            var options = AttentionOptions(
                scale: Self.scale, backend: .fused, returnLogSumExp: true)
            options.execution.reducedPrecisionKernel = kernel
            let forward = try scaledDotProductAttention(
                query: q, key: k, value: v, options: options)
            gradients[kernel] = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: forward.output,
                logSumExp: forward.logSumExp!, options: options)
        }
        let widened = try #require(gradients[.portable])
        for (kernel, g) in gradients {
            for (name, a, b) in [
                ("dQ", g.gradQuery, widened.gradQuery), ("dK", g.gradKey, widened.gradKey),
                ("dV", g.gradValue, widened.gradValue),
            ] {
                let x = a.converted(to: .f32), y = b.converted(to: .f32)
                #expect(x.scalars.allSatisfy { $0.isFinite }, "\(kernel) \(name)")
                let scaleOf = y.scalars.reduce(Float(0)) { max($0, abs($1)) }
                let difference = x.maxAbsDifference(y)
                #expect(difference <= 2e-2 * max(scaleOf, 1), "\(kernel) \(name): \(difference)")
            }
        }
    }
}
