import Foundation
import Testing

@testable import Attention

/// Decoding follows the same rule for NaN, infinity and overflowing scores as the fused and
/// reference paths (docs/KERNELS.md, "Non-finite values"), checked against
/// ``NonFiniteOracle`` on the same inputs with the same (bottom-right causal) mask.
struct DecodeNonFiniteTests {
    struct Scenario: CustomStringConvertible, Sendable {
        var name: String
        var edit: @Sendable (inout Tensor, inout Tensor, inout Tensor) -> Void
        var scale: Float? = nil
        var description: String { name }
    }

    static let scenarios: [Scenario] = [
        .init(name: "NaN in a key") { _, k, _ in k[0, 1, 100, 2] = .nan },
        .init(name: "+inf in a key") { _, k, _ in k[0, 0, 290, 3] = .infinity },
        .init(name: "−inf in a key") { _, k, _ in k[0, 0, 40, 0] = -.infinity },
        .init(name: "NaN in a value") { _, _, v in v[0, 1, 250, 5] = .nan },
        .init(name: "inf in a value") { _, _, v in v[0, 0, 10, 0] = .infinity },
        // Seen by some rows of a chunk only: the others must stay finite (0·NaN).
        .init(name: "NaN in the last key (query 2 only)") { _, k, _ in k[0, 0, 299, 0] = .nan },
        .init(name: "NaN in value 248 (all rows; with the window, query 0 only)") { _, _, v in
            v[0, 1, 248, 0] = .nan
        },
        // Finite values whose unnormalized sum overflows float32 (300 × 1e37).
        .init(name: "values of 1e37") { q, _, v in
            for h in 0..<8 { for s in 0..<3 { for i in 0..<64 { q[0, h, s, i] = 0 } } }
            for j in 0..<300 { for i in 0..<64 { v[0, 0, j, i] = 1e37 } }
        },
        .init(name: "NaN/inf in queries") { q, _, _ in
            q[0, 0, 1, 2] = .nan
            q[0, 5, 2, 0] = -.infinity
        },
        .init(name: "q·k overflows") { q, k, _ in
            q[0, 0, 1, 0] = 1e20
            q[0, 1, 0, 0] = -1e20
            k[0, 0, 3, 0] = 1e20
        },
        .init(name: "q·k near the float maximum after scaling") { q, k, _ in
            // |q·k| ≈ 2e39 overflows float32, the scaled score 2e39/8 does not.
            q[0, 2, 2, 0] = 4e19
            k[0, 0, 7, 0] = 5e19
        },
        .init(name: "large but finite scores") { q, k, _ in
            q[0, 3, 0, 0] = 1e18
            k[0, 0, 20, 0] = 1e18
        },
        .init(name: "scale 1e38", edit: { _, _, _ in }, scale: 1e38),
    ]

    /// The decode settings tried: plain, and a window of 50 with causal ALiBi (query 0 sees
    /// 248 ..< 298, query 2 sees 250 ..< 300).
    static let settings: [(window: Int?, alibi: Bool)] = [(nil, false), (50, true)]

    @Test(arguments: scenarios, [DType.f32, .bf16, .f16])
    func followsTheRule(_ s: Scenario, _ dtype: DType) throws {
        // B = 1, H = 8 over Hkv = 2, Sq = 3 new queries, 300 cached positions (two chunks of
        // work per key/value head: a flagged one merges with a clean one), D = 64.
        var (q, k, v) = randomQKV(b: 1, h: 8, hkv: 2, sq: 3, sk: 300, d: 64, seed: 21)
        s.edit(&q, &k, &v)
        // The oracle sees what the cache stores (rounded keys and values).
        let kc = k.converted(to: dtype).converted(to: .f32)
        let vc = v.converted(to: dtype).converted(to: .f32)
        var cache = try KVCache(batch: 1, kvHeads: 2, headDim: 64, capacity: 300, dtype: dtype)
        try cache.append(keys: k, values: v)
        var paged = try PagedKVCache(
            kvHeads: 2, headDim: 64, blockSize: 16, blockCount: 19, dtype: dtype)
        let id = paged.addSequence()
        try paged.append(keys: k, values: v, sequence: id)
        for (window, withALiBi) in Self.settings {
            // Query s sits at position 297 + s and sees (297 + s − W) ..< (298 + s).
            var visible = try Tensor(shape: [3, 300], repeating: 0)
            for i in 0..<3 {
                for j in 0..<(298 + i) where window.map({ j > 297 + i - $0 }) ?? true {
                    visible[i, j] = 1
                }
            }
            let alibi = withALiBi ? try ALiBi(heads: 8, form: .causal) : nil
            let expected = NonFiniteOracle(
                query: q, key: kc, value: vc,
                options: .init(mask: .dense(visible), scale: s.scale, alibi: alibi)
            ).output
            // Every instruction set and every reduced-precision kernel this CPU has.
            let executions =
                InstructionSet.supported.map { ExecutionOptions(threads: 2, instructionSet: $0) }
                + ReducedPrecisionKernel.supported.map {
                    ExecutionOptions(threads: 2, reducedPrecisionKernel: $0)
                }
            for execution in executions {
                let options = DecodeOptions(
                    scale: s.scale, window: window, alibi: alibi, execution: execution)
                let tolerance = dtype == .f32 ? 2e-5 : 2e-2
                for (name, out) in [
                    ("contiguous", try decodeAttention(query: q, cache: cache, options: options)),
                    (
                        "paged",
                        try decodeAttention(
                            query: q, cache: paged, sequences: [id], options: options)
                    ),
                ] {
                    let bad = firstDisagreement(out, expected, tolerance: tolerance)
                    #expect(
                        bad == nil,
                        "\(s), \(dtype), \(execution), \(name), window \(window ?? 0): \(bad ?? "")"
                    )
                }
            }
        }
    }
}
