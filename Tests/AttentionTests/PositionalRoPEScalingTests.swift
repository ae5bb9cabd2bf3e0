import Foundation
import Testing
@testable import Attention

/// Each RoPE.Scaling variant against its published formula (Hugging Face transformers'
/// `modeling_rope_utils.py`), with the expected values derived here in Double. Frequencies
/// are compared with relative tolerance 1e-6 (one Float rounding is ≤ 6e-8).
@Suite struct PositionalRoPEScalingTests {
    typealias Support = PositionalTestSupport

    @Test func noneIsPlain() throws {
        let rope = try RoPE(dimensions: 8, base: 10_000)
        // θ_k = 10000^(−k/4): 1, 0.1, 0.01, 0.001.
        #expect(Support.maxRelativeError(rope.inverseFrequencies, [1, 0.1, 0.01, 0.001]) <= 1e-6)
        #expect(rope.attentionScaling == 1)
    }

    /// Position interpolation: θ_k / factor; same outputs as `scale = 1/factor`.
    @Test func linear() throws {
        let rope = try RoPE(dimensions: 8, scaling: .linear(factor: 4))
        #expect(
            Support.maxRelativeError(rope.inverseFrequencies, [0.25, 0.025, 0.0025, 0.00025])
                <= 1e-6)
        #expect(rope.attentionScaling == 1)
        let x = Tensor.randomUniform([1, 2, 5, 8], in: -1...1, seed: 30)
        let viaScale = try RoPE(dimensions: 8, scale: 0.25)
        #expect(try rope(x, offset: 77).maxAbsDifference(try viaScale(x, offset: 77)) <= 1e-6)
    }

    /// base' = base · ((factor·L/L₀) − (factor − 1))^(d/(d−2)) for L > L₀, with L = offset + S.
    @Test func dynamicNTK() throws {
        let d = 8, base = 10_000.0, factor = 2.0, original = 16
        let rope = try RoPE(
            dimensions: d, scaling: .dynamicNTK(factor: 2, originalMaxPositions: original))
        let plain = Support.plainFrequencies(dimensions: d, base: base)
        // Within the original context: unchanged.
        #expect(Support.maxRelativeError(rope.inverseFrequencies, plain) <= 1e-6)
        #expect(
            Support.maxRelativeError(rope.inverseFrequencies(sequenceLength: 16), plain) <= 1e-6)
        // L = 40: base' = 10000 · (2·40/16 − 1)^(8/6) = 10000 · 4^(4/3) ≈ 63 496.04.
        let grownBase =
            base * pow(factor * 40 / Double(original) - (factor - 1), Double(d) / Double(d - 2))
        #expect(abs(grownBase - 63_496.04) < 0.01)
        let grown = Support.plainFrequencies(dimensions: d, base: grownBase)
        #expect(
            Support.maxRelativeError(rope.inverseFrequencies(sequenceLength: 40), grown) <= 1e-6)
        // Applied: offset 32 + S 8 = L 40 uses base'; offset 0 uses the plain base.
        let x = Tensor.randomUniform([1, 1, 8, d], in: -1...1, seed: 31)
        let late = Support.referenceRoPE(
            x, dimensions: d, traditional: false, frequencies: grown, offset: 32)
        #expect(Support.maxAbsError(try rope(x, offset: 32).scalars, late) <= 1e-6)
        let early = Support.referenceRoPE(
            x, dimensions: d, traditional: false, frequencies: plain, offset: 0)
        #expect(Support.maxAbsError(try rope(x).scalars, early) <= 1e-6)
        #expect(rope.attentionScaling == 1)
    }

    /// YaRN with d = 32, base 10000, L₀ = 4096, factor 8, β_fast 32, β_slow 1:
    /// r(β) = d·ln(L₀/(2πβ)) / (2 ln base): r(32) ≈ 5.24 → low = 5, r(1) ≈ 11.26 → high = 12;
    /// ramp_k = clamp((k − 5)/7, 0, 1); θ'_k = θ_k/8 · ramp_k + θ_k · (1 − ramp_k);
    /// attention factor 0.1·ln 8 + 1 ≈ 1.2079.
    @Test func yarn() throws {
        let d = 32, base = 10_000.0, original = 4096.0, factor = 8.0
        let rope = try RoPE(
            dimensions: d, scaling: .yarn(factor: 8, originalMaxPositions: 4096))
        func correction(_ rotations: Double) -> Double {
            Double(d) * log(original / (rotations * 2 * Double.pi)) / (2 * log(base))
        }
        #expect(abs(correction(32) - 5.236) < 1e-3 && abs(correction(1) - 11.2567) < 1e-3)
        let (low, high) = (5.0, 12.0)  // ⌊5.236⌋, ⌈11.257⌉
        let plain = Support.plainFrequencies(dimensions: d, base: base)
        let expected = plain.enumerated().map { k, theta -> Double in
            let ramp = Swift.min(Swift.max((Double(k) - low) / (high - low), 0), 1)
            return theta / factor * ramp + theta * (1 - ramp)
        }
        let actual = rope.inverseFrequencies
        #expect(Support.maxRelativeError(actual, expected) <= 1e-6)
        // Hand-checked points: pure extrapolation, half-way-ish, pure interpolation.
        #expect(abs(Double(actual[3]) / plain[3] - 1) <= 1e-6)
        #expect(abs(Double(actual[8]) / plain[8] - (3.0 / 7 / 8 + 4.0 / 7)) <= 1e-6)
        #expect(abs(Double(actual[14]) / plain[14] - 1.0 / 8) <= 1e-6)
        let attention = 0.1 * log(8.0) + 1
        #expect(abs(Double(rope.attentionScaling) - attention) <= 1e-6)

        // Applied: cos and sin are multiplied by the attention factor.
        let x = Tensor.randomUniform([1, 2, 3, d], in: -1...1, seed: 32)
        let reference = Support.referenceRoPE(
            x, dimensions: d, traditional: true, frequencies: expected, offset: 9000,
            amplitude: attention)
        let yarnInterleaved = try RoPE(
            dimensions: d, traditional: true, scaling: .yarn(factor: 8, originalMaxPositions: 4096))
        #expect(
            Support.maxAbsError(try yarnInterleaved(x, offset: 9000).scalars, reference) <= 2e-6)
    }

    /// YaRN options: an explicit attention factor, no truncation, other betas.
    @Test func yarnOptions() throws {
        let d = 16, base = 10_000.0, original = 256.0, factor = 4.0
        let rope = try RoPE(
            dimensions: d,
            scaling: .yarn(
                factor: 4, originalMaxPositions: 256, betaFast: 16, betaSlow: 2,
                attentionFactor: 1.5, truncate: false))
        #expect(rope.attentionScaling == 1.5)
        func correction(_ rotations: Double) -> Double {
            Double(d) * log(original / (rotations * 2 * Double.pi)) / (2 * log(base))
        }
        let low = Swift.max(correction(16), 0), high = Swift.min(correction(2), Double(d - 1))
        let expected = Support.plainFrequencies(dimensions: d, base: base).enumerated().map {
            k, theta -> Double in
            let ramp = Swift.min(Swift.max((Double(k) - low) / (high - low), 0), 1)
            return theta / factor * ramp + theta * (1 - ramp)
        }
        #expect(Support.maxRelativeError(rope.inverseFrequencies, expected) <= 1e-6)
        // factor ≤ 1 and no attention factor: 1.
        let identity = try RoPE(dimensions: d, scaling: .yarn(factor: 1, originalMaxPositions: 256))
        #expect(identity.attentionScaling == 1)
    }

    /// Llama 3.1's rule with d = 16, base 10000, factor 8, low 1, high 4, L₀ = 1024:
    /// wavelengths λ_k = 2π·10^(k/2) ≈ 6.3, 19.9, 62.8, 198.7, 628.3, 1986.9, 6283, 19869;
    /// λ < 256 keeps θ (k ≤ 3), λ > 1024 divides by 8 (k ≥ 5), k = 4 is smoothed with
    /// s = (1024/628.3 − 1)/3 ≈ 0.2099.
    @Test func llama3() throws {
        let d = 16, base = 10_000.0
        let rope = try RoPE(
            dimensions: d,
            scaling: .llama3(
                factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 1024
            ))
        let plain = Support.plainFrequencies(dimensions: d, base: base)
        let s = (1024 / (2 * Double.pi / plain[4]) - 1) / 3
        #expect(abs(s - 0.2099) < 1e-4)
        let expected = plain.enumerated().map { k, theta -> Double in
            switch k {
            case 0...3: return theta
            case 4: return (1 - s) * theta / 8 + s * theta
            default: return theta / 8
            }
        }
        #expect(Support.maxRelativeError(rope.inverseFrequencies, expected) <= 1e-6)
        #expect(rope.attentionScaling == 1)
        // The defaults are Llama 3.1's (8, 1, 4, 8192).
        let defaults = try RoPE(dimensions: d, base: 500_000, scaling: .llama3())
        #expect(
            defaults.scaling
                == .llama3(
                    factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                    originalMaxPositions: 8192))
    }
}
