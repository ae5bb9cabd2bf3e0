import Foundation
import Testing

@testable import Attention

/// Finite values whose unnormalized sum `Σ p·v` would overflow float32 (`Sk·max|v| ≥ 2¹²⁶`):
/// the output is an average of values, so it is finite; every backend and path agrees with
/// the Double oracle.
struct LargeValueTests {
    @Test(arguments: [DType.f32, .bf16], [3, 40])
    func averagesStayFinite(_ dtype: DType, _ sq: Int) throws {
        // 300 keys; values of about 4e36 (300·4e36 ≈ 1.2e39 > 3.4e38), one head of values
        // all 1e37 (a uniform row: the output is 1e37 exactly).
        var (q, k, v) = randomQKV(b: 1, h: 4, hkv: 2, sq: sq, sk: 300, d: 32, seed: 51)
        v = v * 4e36
        for j in 0..<300 { for x in 0..<32 { v[0, 1, j, x] = 1e37 } }
        (q, k, v) = (q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype))
        let wide = (q.converted(to: .f32), k.converted(to: .f32), v.converted(to: .f32))
        let oracle = NaiveAttention(
            query: wide.0, key: wide.1, value: wide.2, mask: .causalFromBottomRight)
        #expect(oracle.output.allSatisfy { $0.isFinite })
        for backend in [AttentionBackend.automatic, .fused, .reference] {
            let options = AttentionOptions(mask: .causalFromBottomRight, backend: backend)
            let out = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
                .output.converted(to: .f32)
            let context = "\(dtype) Sq \(sq) \(backend)"
            #expect(out.scalars.allSatisfy { $0.isFinite }, "\(context)")
            // bf16: the output rounded once (2⁻⁸ relative).
            let tolerance = dtype == .f32 ? 1e-5 : 8e-3
            let error = maxRelativeError(out, oracle.output)
            #expect(error <= tolerance, "\(context): \(error)")
        }
    }

    /// Dropout scales kept weights by 1/(1 − p): two keys of equal score and value
    /// v = 2^124.5 (so Sk·max|v| < 2¹²⁶) with p = 0.9 sum to 20·v ≈ 2^128.8 unnormalized in
    /// the rows that keep both keys, although the output, 10·v ≈ 3e38, is finite. The fused
    /// kernel must agree with the reference, which normalizes first.
    @Test func dropoutFactorCountsInTheBound() throws {
        let v = try Tensor(shape: [1, 1, 2, 4], repeating: 0x1.6a09e6p124)  // 2^124.5
        let q = Tensor.zeros([1, 1, 400, 4]), k = Tensor.zeros([1, 1, 2, 4])
        var outputs: [Tensor] = []
        for backend in [AttentionBackend.fused, .reference] {
            let options = AttentionOptions(dropout: 0.9, dropoutSeed: 3, backend: backend)
            outputs.append(
                try scaledDotProductAttention(query: q, key: k, value: v, options: options).output)
        }
        let (fused, reference) = (outputs[0].scalars, outputs[1].scalars)
        #expect(reference.allSatisfy { $0.isFinite })
        #expect(reference.contains { $0 > 2e38 }, "no row keeps both keys: choose another seed")
        #expect(
            fused.allSatisfy { $0.isFinite },
            "fused: \(fused.filter { !$0.isFinite }.count) non-finite")
        #expect(zip(fused, reference).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) })
    }
}
