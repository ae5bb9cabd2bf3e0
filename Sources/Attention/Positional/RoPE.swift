import Foundation

/// Rotary position embedding (RoFormer, Su et al. 2021), applied to queries and keys
/// before their dot product so that `q·k` depends only on the relative position.
///
/// The first `d = dimensions` features of each vector are split into `d/2` pairs
/// `(x₁, x₂)`; the pair `k` at position `p` is rotated by the angle `p · scale · θ_k`:
///
///     θ_k = base^(−2k/d)                      (k = 0..<d/2; see ``Scaling``)
///     x₁' = x₁ · cos(p·scale·θ_k) − x₂ · sin(p·scale·θ_k)
///     x₂' = x₂ · cos(p·scale·θ_k) + x₁ · sin(p·scale·θ_k)
///
/// i.e. `x₁ + i·x₂` is multiplied by `a · e^{i·p·scale·θ_k}` with `a` = ``attentionScaling``
/// (1 except for YaRN). Features `d..<D` pass through unchanged (partial rotary, e.g.
/// GPT-NeoX's `rotary_pct`, Phi's `partial_rotary_factor`). The pairs are:
/// - `traditional: false`: halves, `(x[k], x[k + d/2])` — GPT-NeoX / LLaMA / Hugging Face
///   `rotate_half`, MLX's default;
/// - `traditional: true`: interleaved, `(x[2k], x[2k + 1])` — the RoFormer paper, GPT-J,
///   Meta's original LLaMA code (complex view), MLX `traditional: true`.
///
/// Shapes: `[B, H, S, D]` (`B` batch, `H` heads, `S` sequence, `D` head dimension) by
/// default — any rank ≥ 2 with the features last and the sequence on `sequenceAxis`
/// (default −2, the second-to-last axis); pass `sequenceAxis: 1` for `[B, S, H, D]`.
/// Element `s` along the sequence axis has position `offset + s`.
///
/// cos/sin tables are cached and grown on demand, thread-safely; there is no maximum
/// position. Angles are computed in Double and rounded once to Float, so large positions
/// (e.g. 100 000) keep full Float accuracy.
///
/// ```swift
/// let rope = try RoPE(dimensions: 64)
/// let q = try rope(queries)                       // [B, H, S, 64], positions 0..<S
/// let k = try rope(newKey, offset: cache.count)   // decoding: one new position
/// ```
public struct RoPE: Sendable {
    /// Number of leading features rotated (`d`, even, ≤ the head dimension `D`).
    public let dimensions: Int
    /// `true`: interleaved pairs `(x[2k], x[2k+1])`; `false`: halves `(x[k], x[k + d/2])`.
    public let traditional: Bool
    /// The frequency base (10 000 in RoFormer; LLaMA 3: 500 000).
    public let base: Float
    /// Positions are multiplied by `scale` before rotating (MLX's `scale`); `1/factor` is
    /// linear position interpolation, like ``Scaling/linear(factor:)``.
    public let scale: Float
    /// The frequency scaling rule.
    public let scaling: Scaling
    /// The factor multiplying cos and sin: YaRN's attention factor, 1 for other scalings.
    public let attentionScaling: Float

    /// Tables for the frequencies that do not depend on the sequence length.
    let cache: RoPETableCache

    /// A rotary embedding.
    ///
    /// - Parameters:
    ///   - dimensions: features rotated, `d` (positive and even); features past it pass
    ///     through.
    ///   - traditional: interleaved pairs (`true`) or halves (`false`, the default).
    ///   - base: the frequency base, `θ_k = base^(−2k/d)`; > 1.
    ///   - scale: multiplies positions; > 0.
    ///   - scaling: the frequency scaling rule (default ``Scaling/none``).
    /// - Throws: ``AttentionError`` naming `dimensions` (odd or not positive), `base`,
    ///   `scale` or `scaling` (a parameter out of range).
    public init(
        dimensions: Int, traditional: Bool = false, base: Float = 10_000, scale: Float = 1,
        scaling: Scaling = .none
    ) throws {
        guard dimensions > 0, dimensions % 2 == 0 else {
            throw AttentionError.argument(
                "dimensions",
                "must be positive and even (features are rotated in pairs), got \(dimensions)")
        }
        guard base.isFinite, base > 1 else {
            throw AttentionError.argument("base", "must be finite and > 1, got \(base)")
        }
        guard scale.isFinite, scale > 0 else {
            throw AttentionError.argument("scale", "must be finite and > 0, got \(scale)")
        }
        try scaling.validate(dimensions: dimensions)
        self.dimensions = dimensions
        self.traditional = traditional
        self.base = base
        self.scale = scale
        self.scaling = scaling
        let amplitude = scaling.attentionScaling
        attentionScaling = Float(amplitude)
        cache = RoPETableCache(
            inverseFrequencies: scaling.inverseFrequencies(
                dimensions: dimensions, base: Double(base), sequenceLength: 0),
            positionScale: Double(scale), amplitude: amplitude)
    }

    /// The inverse frequencies `θ'_k` (`k = 0..<dimensions/2`) after ``scaling``, for
    /// sequences no longer than the original context (for `.dynamicNTK` they change with the
    /// length; see ``inverseFrequencies(sequenceLength:)``). Angles are
    /// `position · scale · θ'_k`.
    public var inverseFrequencies: [Float] { cache.inverseFrequencies.map { Float($0) } }

    /// The inverse frequencies `θ'_k` used for a call whose largest position is
    /// `sequenceLength − 1` (i.e. `offset + S = sequenceLength`).
    ///
    /// Only ``Scaling/dynamicNTK(factor:originalMaxPositions:)`` depends on the length.
    /// - Parameter sequenceLength: `L`, the number of positions `0..<L` in view.
    public func inverseFrequencies(sequenceLength: Int) -> [Float] {
        frequencies(sequenceLength: sequenceLength).map { Float($0) }
    }

    /// The rotation tables for a range of positions, as the kernel applies them:
    /// `cos[s, k] = a · cos(p · scale · θ'_k)`, `sin[s, k] = a · sin(p · scale · θ'_k)` with
    /// `p = positions.lowerBound + s` and `a` = ``attentionScaling``.
    ///
    /// For `.dynamicNTK`, `θ'` is chosen for `L = positions.upperBound`.
    /// - Parameter positions: non-negative positions.
    /// - Returns: `cos` and `sin`, each `[positions.count, dimensions / 2]`.
    /// - Throws: ``AttentionError`` naming `positions` when it starts below 0.
    public func rotationTables(positions: Range<Int>) throws -> (cos: Tensor, sin: Tensor) {
        guard positions.lowerBound >= 0 else {
            throw AttentionError.argument("positions", "must be ≥ 0, got \(positions)")
        }
        let table = table(for: positions)
        let half = dimensions / 2
        let first = table.rowOffset * half, end = first + positions.count * half
        let shape = [positions.count, half]
        return (
            Tensor(unchecked: shape, storage: Array(table.cos[first..<end])),
            Tensor(unchecked: shape, storage: Array(table.sin[first..<end]))
        )
    }

    /// Rotates the first ``dimensions`` features of every vector in `x` by its position.
    ///
    ///     y[…, s, …, k-th pair] = a · e^{i·(offset + s)·scale·θ'_k} · x[…, s, …, k-th pair]
    ///
    /// - Parameters:
    ///   - x: `[B, H, S, D]` (or any rank ≥ 2 with features last), `D ≥ dimensions`; may be
    ///     a strided view.
    ///   - offset: position of the first element along the sequence axis, ≥ 0 (decoding
    ///     with a key/value cache: the number of cached positions).
    ///   - sequenceAxis: the axis holding the sequence; negative values count from the end.
    ///     −2 (default) for `[B, H, S, D]`, 1 for `[B, S, H, D]`. Must not be the last axis.
    /// - Returns: a contiguous tensor of the shape of `x`.
    /// - Throws: ``AttentionError`` naming `input` (rank below 2, or `D < dimensions`),
    ///   `sequenceAxis` (out of range or the feature axis) or `offset` (negative, or the
    ///   positions overflow `Int`).
    public func callAsFunction(_ x: Tensor, offset: Int = 0, sequenceAxis: Int = -2) throws
        -> Tensor
    {
        try rotate(x, offset: offset, sequenceAxis: sequenceAxis, transposed: false)
    }

    /// The rotation of ``callAsFunction(_:offset:sequenceAxis:)``, or its transpose (the
    /// angles negated: the backward pass).
    func rotate(_ x: Tensor, offset: Int, sequenceAxis: Int, transposed: Bool) throws -> Tensor {
        guard x.rank >= 2, x.shape[x.rank - 1] >= dimensions else {
            throw AttentionError.shape(
                "input", expected: "[B, H, S, D] (rank ≥ 2) with D ≥ dimensions = \(dimensions)",
                actual: x.shape)
        }
        let axis = sequenceAxis < 0 ? sequenceAxis + x.rank : sequenceAxis
        guard axis >= 0, axis < x.rank - 1 else {
            throw AttentionError.argument(
                "sequenceAxis",
                "expected an axis in \(-x.rank)..<\(x.rank - 1) other than the feature (last) "
                    + "axis of \(x.shape), got \(sequenceAxis)")
        }
        let length = x.shape[axis]
        guard offset >= 0, offset <= Int.max - length else {
            throw AttentionError.argument(
                "offset", "must be ≥ 0 with offset + S representable, got \(offset)")
        }
        guard x.count > 0 else { return x.contiguous() }

        let table = table(for: offset..<(offset + length))
        let sin = transposed ? table.sin.map { -$0 } : table.sin
        let features = x.shape[x.rank - 1]
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)..<(x.rank - 1)].reduce(1, *)
        var out = x.contiguous().scalars
        var row = 0  // start of the current vector in `out`
        for _ in 0..<outer {
            for s in 0..<length {
                let angles = (table.rowOffset + s) * table.half
                for _ in 0..<inner {
                    if traditional {
                        Self.rotateInterleaved(
                            &out, at: row, cos: table.cos, sin: sin, from: angles,
                            pairs: table.half)
                    } else {
                        Self.rotateHalves(
                            &out, at: row, cos: table.cos, sin: sin, from: angles,
                            pairs: table.half)
                    }
                    row += features
                }
            }
        }
        return Tensor(unchecked: x.shape, storage: out)
    }

    /// `θ'` in Double for a call covering positions `0..<sequenceLength`.
    func frequencies(sequenceLength: Int) -> [Double] {
        guard scaling.dependsOnLength(sequenceLength) else { return cache.inverseFrequencies }
        return scaling.inverseFrequencies(
            dimensions: dimensions, base: Double(base), sequenceLength: sequenceLength)
    }

    /// The cos/sin rows for `positions` (cached unless the frequencies depend on the length).
    func table(for positions: Range<Int>) -> RoPETable {
        guard scaling.dependsOnLength(positions.upperBound) else {
            return cache.table(for: positions)
        }
        return RoPETableCache.compute(
            positions, inverseFrequencies: frequencies(sequenceLength: positions.upperBound),
            positionScale: cache.positionScale, amplitude: cache.amplitude)
    }

    /// Rotates pairs `(v[k], v[k + n])`, `k = 0..<n`, of the vector starting at `row`.
    @inline(__always)
    static func rotateHalves(
        _ v: inout [Float], at row: Int, cos: [Float], sin: [Float], from t: Int, pairs n: Int
    ) {
        for k in 0..<n {
            let x1 = v[row + k], x2 = v[row + k + n]
            let c = cos[t + k], s = sin[t + k]
            v[row + k] = x1 * c - x2 * s
            v[row + k + n] = x2 * c + x1 * s
        }
    }

    /// Rotates pairs `(v[2k], v[2k + 1])`, `k = 0..<n`, of the vector starting at `row`.
    @inline(__always)
    static func rotateInterleaved(
        _ v: inout [Float], at row: Int, cos: [Float], sin: [Float], from t: Int, pairs n: Int
    ) {
        for k in 0..<n {
            let x1 = v[row + 2 * k], x2 = v[row + 2 * k + 1]
            let c = cos[t + k], s = sin[t + k]
            v[row + 2 * k] = x1 * c - x2 * s
            v[row + 2 * k + 1] = x2 * c + x1 * s
        }
    }
}

/// The long name of ``RoPE``.
public typealias RotaryPositionalEmbedding = RoPE
