import Foundation

extension RoPE {
    /// How the rotation frequencies are adapted so a model runs past the context length it
    /// was trained with, following Hugging Face transformers' `modeling_rope_utils.py`
    /// (`rope_type` = `"default"`, `"linear"`, `"dynamic"`, `"yarn"`, `"llama3"`).
    ///
    /// Notation: `d` = ``RoPE/dimensions`` (the rotated features), `k = 0..<d/2` the pair
    /// index, `θ_k = base^(−2k/d)` the unscaled inverse frequency, `λ_k = 2π/θ_k` its
    /// wavelength in positions, `L` the sequence length (largest position + 1) and
    /// `L₀` = `originalMaxPositions`, the context length of pre-training. Each case changes
    /// ``RoPE/inverseFrequencies`` and, for YaRN only, ``RoPE/attentionScaling``.
    public enum Scaling: Sendable, Equatable {
        /// Plain RoPE: `θ_k = base^(−2k/d)`.
        case none

        /// Position interpolation (Chen et al. 2023): `θ_k / factor`, i.e. positions are
        /// divided by `factor`. Same as ``RoPE/scale`` `= 1/factor`.
        /// - Parameter factor: the context extension ratio (> 0), e.g. 4 for 2k → 8k.
        case linear(factor: Float)

        /// Dynamic NTK-aware scaling (`rope_type="dynamic"`): when `L > L₀` the base grows to
        ///
        ///     base' = base · ((factor · L / L₀) − (factor − 1))^(d / (d − 2))
        ///
        /// and `θ_k = base'^(−2k/d)`; for `L ≤ L₀` the frequencies are unchanged. `L` is
        /// `offset + S` of each call (HF: `max(position_ids) + 1`), so the frequencies depend
        /// on the call; see ``RoPE/inverseFrequencies(sequenceLength:)``.
        /// - Parameters:
        ///   - factor: the scaling factor (> 0).
        ///   - originalMaxPositions: `L₀` (HF `max_position_embeddings`), > 0.
        case dynamicNTK(factor: Float, originalMaxPositions: Int)

        /// YaRN (Peng et al. 2023, `rope_type="yarn"`): blends interpolated and extrapolated
        /// frequencies per pair with a linear ramp, and scales cos/sin by an attention factor.
        ///
        ///     r(b)   = d · ln(L₀ / (2π·b)) / (2 ln base)        correction dimension
        ///     low    = max(⌊r(betaFast)⌋, 0),  high = min(⌈r(betaSlow)⌉, d − 1)
        ///              (no ⌊⌋/⌈⌉ when truncate is false; high += 0.001 if low == high)
        ///     ramp_k = clamp((k − low) / (high − low), 0, 1)
        ///     θ'_k   = (θ_k / factor) · ramp_k + θ_k · (1 − ramp_k)
        ///     cos, sin ← attentionFactor · cos, attentionFactor · sin
        ///
        /// Fast-rotating pairs (`k < low`) keep `θ_k` (extrapolation), slow ones (`k > high`)
        /// get `θ_k / factor` (interpolation).
        /// - Parameters:
        ///   - factor: the context extension ratio (> 0).
        ///   - originalMaxPositions: `L₀` (HF `original_max_position_embeddings`), > 0.
        ///   - betaFast: rotations over `L₀` above which a pair extrapolates (HF default 32).
        ///   - betaSlow: rotations over `L₀` below which a pair interpolates (HF default 1).
        ///   - attentionFactor: multiplies cos and sin (so q·k scales by its square); `nil`
        ///     means `0.1 · ln(factor) + 1` (1 when `factor ≤ 1`), HF's `get_mscale(factor)`.
        ///     Pass DeepSeek's `mscale / mscale_all_dim` ratio here explicitly if needed.
        ///   - truncate: round `low` down and `high` up (HF `truncate`, default `true`).
        case yarn(
            factor: Float, originalMaxPositions: Int, betaFast: Float = 32, betaSlow: Float = 1,
            attentionFactor: Float? = nil, truncate: Bool = true)

        /// Llama 3.1's piecewise rule (`rope_type="llama3"`), by wavelength `λ_k`:
        ///
        ///     λ_k < L₀ / highFrequencyFactor  →  θ_k                      (high frequency)
        ///     λ_k > L₀ / lowFrequencyFactor   →  θ_k / factor             (low frequency)
        ///     otherwise                       →  (1 − s) · θ_k / factor + s · θ_k
        ///     where s = (L₀/λ_k − lowFrequencyFactor)
        ///               / (highFrequencyFactor − lowFrequencyFactor)
        ///
        /// - Parameters:
        ///   - factor: the interpolation factor for low frequencies (Llama 3.1: 8), > 0.
        ///   - lowFrequencyFactor: Llama 3.1: 1, > 0.
        ///   - highFrequencyFactor: Llama 3.1: 4, > `lowFrequencyFactor`.
        ///   - originalMaxPositions: `L₀` (Llama 3.1: 8192), > 0.
        case llama3(
            factor: Float = 8, lowFrequencyFactor: Float = 1, highFrequencyFactor: Float = 4,
            originalMaxPositions: Int = 8192)
    }
}

extension RoPE.Scaling {
    /// Checks the parameters.
    /// - Throws: ``AttentionError`` naming `scaling`.
    func validate(dimensions: Int) throws {
        func positive(_ value: Float, _ name: String) throws {
            guard value.isFinite, value > 0 else {
                throw AttentionError.argument(
                    "scaling", "\(name) must be finite and > 0, got \(value)")
            }
        }
        func positive(_ value: Int, _ name: String) throws {
            guard value > 0 else {
                throw AttentionError.argument("scaling", "\(name) must be > 0, got \(value)")
            }
        }
        switch self {
        case .none:
            break
        case .linear(let factor):
            try positive(factor, "factor")
        case .dynamicNTK(let factor, let original):
            try positive(factor, "factor")
            try positive(original, "originalMaxPositions")
            guard dimensions > 2 else {
                throw AttentionError.argument(
                    "scaling",
                    "dynamicNTK needs dimensions > 2 (exponent d/(d−2)), got \(dimensions)")
            }
        case .yarn(let factor, let original, let betaFast, let betaSlow, let attention, _):
            try positive(factor, "factor")
            try positive(original, "originalMaxPositions")
            try positive(betaFast, "betaFast")
            try positive(betaSlow, "betaSlow")
            if let attention { try positive(attention, "attentionFactor") }
        case .llama3(let factor, let low, let high, let original):
            try positive(factor, "factor")
            try positive(low, "lowFrequencyFactor")
            try positive(high, "highFrequencyFactor")
            try positive(original, "originalMaxPositions")
            guard high > low else {
                throw AttentionError.argument(
                    "scaling",
                    "highFrequencyFactor (\(high)) must be > lowFrequencyFactor (\(low))")
            }
        }
    }

    /// The factor multiplying cos and sin: YaRN's attention factor, 1 otherwise.
    var attentionScaling: Double {
        guard case .yarn(let factor, _, _, _, let attention, _) = self else { return 1 }
        if let attention { return Double(attention) }
        return factor <= 1 ? 1 : 0.1 * log(Double(factor)) + 1
    }

    /// Whether the frequencies for sequence length `length` differ from those for short ones.
    func dependsOnLength(_ length: Int) -> Bool {
        if case .dynamicNTK(_, let original) = self { return length > original }
        return false
    }

    /// The scaled inverse frequencies `θ'_k`, `k = 0..<dimensions/2`, in Double.
    /// - Parameter sequenceLength: `L`, used by `.dynamicNTK` only.
    func inverseFrequencies(dimensions: Int, base: Double, sequenceLength: Int) -> [Double] {
        let d = Double(dimensions)
        func plain(_ base: Double) -> [Double] {
            stride(from: 0, to: dimensions, by: 2).map { 1 / pow(base, Double($0) / d) }
        }
        switch self {
        case .none:
            return plain(base)

        case .linear(let factor):
            return plain(base).map { $0 / Double(factor) }

        case .dynamicNTK(let factor, let original):
            guard sequenceLength > original else { return plain(base) }
            let f = Double(factor)
            let grown = f * Double(sequenceLength) / Double(original) - (f - 1)
            return plain(base * pow(grown, d / (d - 2)))

        case .yarn(let factor, let original, let betaFast, let betaSlow, _, let truncate):
            let f = Double(factor)
            func correctionDimension(_ rotations: Double) -> Double {
                d * log(Double(original) / (rotations * 2 * Double.pi)) / (2 * log(base))
            }
            var low = correctionDimension(Double(betaFast))
            var high = correctionDimension(Double(betaSlow))
            if truncate { low = low.rounded(.down); high = high.rounded(.up) }
            low = Swift.max(low, 0)
            high = Swift.min(high, d - 1)
            if low == high { high += 0.001 }
            return plain(base).enumerated().map { k, theta in
                let ramp = Swift.min(Swift.max((Double(k) - low) / (high - low), 0), 1)
                return theta / f * ramp + theta * (1 - ramp)
            }

        case .llama3(let factor, let lowFactor, let highFactor, let original):
            let f = Double(factor), lo = Double(lowFactor), hi = Double(highFactor)
            let lowFrequencyWavelength = Double(original) / lo
            let highFrequencyWavelength = Double(original) / hi
            return plain(base).map { theta in
                let wavelength = 2 * Double.pi / theta
                if wavelength < highFrequencyWavelength { return theta }
                if wavelength > lowFrequencyWavelength { return theta / f }
                let s = (Double(original) / wavelength - lo) / (hi - lo)
                return (1 - s) * theta / f + s * theta
            }
        }
    }
}
