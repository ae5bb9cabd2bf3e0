import Foundation
import Testing

@testable import Attention

/// `scaledDotProductAttention` with the automatic backend runs a few queries against many
/// keys on the split-KV decode kernel; the result matches the Double oracle (and the flash
/// kernel, which `.fused` still runs), in every dtype, with GQA, masks, ALiBi, strided
/// inputs and the log-sum-exp.
struct AutomaticDecodeTests {
    struct Case: CustomStringConvertible, Sendable {
        var b = 2, h = 8, hkv = 2, sq = 1, sk = 300, d = 64, dv = 64
        var mask = AttentionMask.none
        var alibi = false
        /// Symmetric ALiBi, top-left aligned (otherwise causal, bottom-right).
        var symmetricTopLeft = false
        var strided = false
        var description: String {
            "B\(b) H\(h)/\(hkv) Sq\(sq) Sk\(sk) D\(d)/\(dv) \(mask)\(alibi ? (symmetricTopLeft ? " alibi symmetric/top-left" : " alibi") : "")\(strided ? " strided" : "")"
        }
    }

    static let cases: [Case] = [
        Case(),
        Case(sq: 16, sk: 256, mask: .causalFromBottomRight),
        Case(b: 1, h: 4, hkv: 4, sq: 5, sk: 1000, d: 59, dv: 17, mask: .causalFromBottomRight),
        Case(b: 1, h: 32, hkv: 8, sq: 3, sk: 777, d: 128, dv: 128, alibi: true),
        Case(sq: 2, sk: 400, mask: .causalFromBottomRight, alibi: true, strided: true),
        Case(b: 1, h: 2, hkv: 1, sq: 1, sk: 2049, d: 8, dv: 8),
        Case(
            b: 1, h: 4, hkv: 2, sq: 7, sk: 600, d: 32, dv: 32, alibi: true, symmetricTopLeft: true),
        // Other masks whose visible keys form one interval per query: each row's interval.
        Case(sq: 4, mask: .causal),  // top-left: query i sees keys 0...i
        Case(sq: 3, sk: 400, mask: .slidingWindow(left: 1, right: 290), alibi: true),
        Case(
            b: 1, h: 4, hkv: 1, sq: 5, sk: 600,
            mask: .and(.causalFromBottomRight, .slidingWindow(left: 0, right: 250))),
        Case(sq: 2, sk: 500, mask: .prefixLM(prefixLength: 300)),
        // Mistral-style local attention over a cache: the last 100 keys up to each query.
        Case(sq: 4, sk: 500, mask: .slidingWindowFromBottomRight(left: 100, right: 0), alibi: true),
    ]

    @Test(arguments: cases, [DType.f32, .bf16, .f16])
    func matchesTheOracle(_ c: Case, _ dtype: DType) throws {
        var (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: 5)
        (q, k, v) = (q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype))
        if c.strided {
            // [B, S, H, D] storage viewed as [B, H, S, D], as a layer's projections are.
            func strided(_ t: Tensor) throws -> Tensor {
                try t.permuted([0, 2, 1, 3]).contiguous().permuted([0, 2, 1, 3])
            }
            (q, k, v) = (try strided(q), try strided(k), try strided(v))
            #expect(k.strides[2] != c.d)
        }
        let alibi =
            c.alibi
            ? try c.symmetricTopLeft
                ? ALiBi(heads: c.h, form: .symmetric, alignment: .topLeft)
                : ALiBi(heads: c.h, form: .causal) : nil
        let expected = NaiveAttention(
            query: q.converted(to: .f32), key: k.converted(to: .f32),
            value: v.converted(to: .f32), mask: c.mask, alibi: alibi)
        let options = AttentionOptions(mask: c.mask, alibi: alibi, returnLogSumExp: true)
        let result = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        #expect(result.reason.contains("decode kernel"), "\(result.reason)")
        #expect(result.output.dtype == dtype)
        // f32: fp32 sums; bf16/f16: the output rounded once (2⁻⁸, 2⁻¹¹ relative) plus P
        // rounded to bf16 on the pair kernel.
        let tolerance = dtype == .f32 ? 2e-5 : dtype == .bf16 ? 1.6e-2 : 4e-3
        let error = maxRelativeError(result.output.converted(to: .f32), expected.output)
        #expect(error <= tolerance, "\(c) \(dtype): output error \(error)")
        let lse = try #require(result.logSumExp)
        #expect(maxError(lse, expected.lse) <= 1e-4, "\(c) \(dtype): lse")

        // The flash kernel on request, and the decode kernel on every instruction set.
        var fused = options
        fused.backend = .fused
        let flash = try scaledDotProductAttention(query: q, key: k, value: v, options: fused)
        #expect(!flash.reason.contains("decode kernel"))
        #expect(maxRelativeError(flash.output.converted(to: .f32), expected.output) <= tolerance)
        for isa in InstructionSet.supported {
            var o = options
            o.execution = ExecutionOptions(threads: 2, instructionSet: isa)
            let out = try scaledDotProductAttention(query: q, key: k, value: v, options: o).output
            let e = maxRelativeError(out.converted(to: .f32), expected.output)
            #expect(e <= tolerance, "\(c) \(dtype) \(isa): \(e)")
        }
    }

    /// What the decode kernel does not support goes to the flash kernel, as before: masks
    /// whose visible keys are not one interval per query, dropout, `.fused`, more than 16
    /// queries, fewer than 256 keys.
    @Test func otherProblemsKeepTheFlashKernel() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 4, sk: 300, d: 16, seed: 9)
        let flash: [AttentionOptions] = [
            AttentionOptions(mask: .strided(stride: 3)),
            AttentionOptions(mask: .or(.causal, .slidingWindow(left: 0, right: 0))),
            AttentionOptions(mask: .dense(Tensor.ones([4, 300]))),
            AttentionOptions(dropout: 0.1),
            AttentionOptions(backend: .fused),
        ]
        for options in flash {
            let r = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            #expect(!r.reason.contains("decode kernel"), "\(r.reason)")
        }
        let (q17, k17, v17) = randomQKV(b: 1, h: 2, sq: 17, sk: 300, d: 16, seed: 9)
        let r17 = try scaledDotProductAttention(
            query: q17, key: k17, value: v17, options: AttentionOptions())
        #expect(!r17.reason.contains("decode kernel"))
        let (qs, ks, vs) = randomQKV(b: 1, h: 2, sq: 4, sk: 255, d: 16, seed: 9)
        let short = try scaledDotProductAttention(
            query: qs, key: ks, value: vs, options: AttentionOptions())
        #expect(!short.reason.contains("decode kernel"))
    }

    /// NaN, infinity and overflow through the automatic path: the non-finite rule, output
    /// and log-sum-exp (``NonFiniteOracle``).
    @Test func hostileValuesFollowTheRule() throws {
        var (q, k, v) = randomQKV(b: 1, h: 8, hkv: 2, sq: 3, sk: 300, d: 64, seed: 21)
        k[0, 1, 100, 2] = .nan  // heads 4–7
        v[0, 0, 10, 0] = .infinity  // heads 0–3
        q[0, 0, 1, 0] = 4e19  // does not matter: head 0 is NaN anyway
        let options = AttentionOptions(mask: .causalFromBottomRight, returnLogSumExp: true)
        let expected = NonFiniteOracle(query: q, key: k, value: v, options: options)
        let result = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        #expect(result.reason.contains("decode kernel"))
        #expect(firstDisagreement(result.output, expected.output, tolerance: 2e-5) == nil)
        #expect(
            firstDisagreement(try #require(result.logSumExp), expected.lse, tolerance: 1e-5) == nil)
        // A clean key/value head with one overflowing score (−inf weighs 0, +inf is NaN).
        (q, k, v) = randomQKV(b: 1, h: 8, hkv: 2, sq: 3, sk: 300, d: 64, seed: 22)
        q[0, 1, 0, 0] = -1e20
        q[0, 2, 2, 0] = 1e20
        k[0, 0, 3, 0] = 1e20
        let expected2 = NonFiniteOracle(query: q, key: k, value: v, options: options)
        let result2 = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        #expect(firstDisagreement(result2.output, expected2.output, tolerance: 2e-5) == nil)
        #expect(
            firstDisagreement(try #require(result2.logSumExp), expected2.lse, tolerance: 1e-5)
                == nil)
    }

    /// A layer's cross-attention with few queries against a long memory runs on the decode
    /// kernel through the layer's `[B, S, H, D]` head views (rows read in place, strided) and
    /// equals the flash kernel's result; GQA and bottom-right causal too.
    @Test func layerCrossAttention() throws {
        let mha = try MultiHeadAttention(dimensions: 64, numHeads: 8, seed: 7, numKVHeads: 2)
        let queries = Tensor.randomNormal([2, 3, 64], seed: 8)
        let memory = Tensor.randomNormal([2, 300, 64], seed: 9)
        for mask in [AttentionMask.none, .causalFromBottomRight] {
            let auto = try mha(queries, keys: memory, mask: mask)
            let flash = try mha(queries, keys: memory, mask: mask, backend: .fused)
            let expected = flash.scalars.map(Double.init)
            let error = maxRelativeError(auto, expected)
            #expect(error <= 1e-5, "\(mask): \(error)")
        }
    }
}
