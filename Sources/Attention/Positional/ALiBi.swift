import Foundation

/// Attention with Linear Biases (Press et al. 2022): no position embedding; instead each
/// head adds a bias proportional to the query–key distance to its attention scores.
///
///     scores[h, i, j] += bias[h, i, j]
///     .causal:     bias = −m_h · (i' − j)      (= m_h · (j − i'))
///     .symmetric:  bias = −m_h · |i' − j|
///     i' = i + shift,  shift = 0 (.topLeft) or Sk − Sq (.bottomRight)
///
/// with `m_h` = ``slopes(heads:)``[h]. See ``Form`` for the two forms and ``Alignment`` for
/// where query `i` sits among the keys when `Sq ≠ Sk`.
///
/// Shapes: `H` heads, `Sq` queries, `Sk` keys; ``bias(queries:keys:)`` is `[H, Sq, Sk]`,
/// which broadcasts against scores `[B, H, Sq, Sk]` and can be passed as an
/// ``AttentionMask/additive(_:)`` mask. The fused kernel can instead evaluate
/// ``Form/bias(slope:query:key:)`` per tile and never materialize it.
public struct ALiBi: Sendable, Hashable {
    /// Number of heads.
    public let heads: Int
    /// The slope `m_h` of each head, ``slopes(heads:)``.
    public let slopes: [Float]
    /// How the distance enters the bias.
    public let form: Form
    /// How queries line up with keys when their counts differ.
    public let alignment: Alignment

    /// The most heads ``slopes(heads:)`` accepts (2²⁰; models use tens).
    public static let maxHeads = 1 << 20

    /// ALiBi for `heads` heads.
    ///
    /// - Parameters:
    ///   - heads: number of attention heads (> 0).
    ///   - form: ``Form/causal`` (the paper's, for decoders) or ``Form/symmetric``.
    ///   - alignment: query/key alignment when `Sq ≠ Sk` (default ``Alignment/bottomRight``,
    ///     right for decoding with a cache).
    /// - Throws: ``AttentionError`` naming `heads` when it is not positive.
    public init(heads: Int, form: Form, alignment: Alignment = .bottomRight) throws {
        guard heads > 0 else {
            throw AttentionError.argument("heads", "must be > 0, got \(heads)")
        }
        self.heads = heads
        self.slopes = try ALiBi.slopes(heads: heads)
        self.form = form
        self.alignment = alignment
    }

    /// ALiBi with given slopes (ring attention rewrites a block's bias into local
    /// coordinates, which can negate a slope); not validated.
    package init(slopes: [Float], form: Form, alignment: Alignment) {
        self.heads = slopes.count
        self.slopes = slopes
        self.form = form
        self.alignment = alignment
    }

    /// The head slopes of the ALiBi paper's reference code (`get_slopes`).
    ///
    /// For `n` a power of two, a geometric sequence starting at and with ratio `2^(−8/n)`:
    ///
    ///     m_h = 2^(−8(h+1)/n),  h = 0..<n          (n = 8: 1/2, 1/4, …, 1/256)
    ///
    /// Otherwise, with `p` the largest power of two below `n`: `slopes(p)` followed by the
    /// first `n − p` of every other slope of `slopes(2p)` (indices 0, 2, 4, …), so the extra
    /// heads interleave between the existing ones.
    ///
    /// - Parameter heads: number of heads, in `0…maxHeads` (0 gives `[]`).
    /// - Returns: `heads` slopes in (0, 1).
    /// - Throws: ``AttentionError`` naming `heads` when it is negative or above ``maxHeads``.
    public static func slopes(heads: Int) throws -> [Float] {
        guard heads >= 0 && heads <= maxHeads else {
            throw AttentionError.argument("heads", "must be in 0…\(maxHeads), got \(heads)")
        }
        guard heads > 0 else { return [] }
        func powerOfTwo(_ n: Int) -> [Float] {
            (1...n).map { Float(exp2(-8 * Double($0) / Double(n))) }
        }
        if heads & (heads - 1) == 0 { return powerOfTwo(heads) }
        let p = 1 << (Int.bitWidth - 1 - heads.leadingZeroBitCount)
        let doubled = powerOfTwo(2 * p)
        let extra = stride(from: 0, to: 2 * p, by: 2).prefix(heads - p).map { doubled[$0] }
        return powerOfTwo(p) + extra
    }

    /// The bias for every head, query and key.
    ///
    /// - Parameters:
    ///   - queries: `Sq` ≥ 0.
    ///   - keys: `Sk` ≥ 0.
    /// - Returns: `[heads, queries, keys]`, `bias[h, i, j] = form.bias(slope: m_h,
    ///   query: i + shift, key: j)` with `shift` from ``alignment``.
    /// - Throws: ``AttentionError`` naming `queries` or `keys` when negative.
    public func bias(queries: Int, keys: Int) throws -> Tensor {
        guard queries >= 0 else {
            throw AttentionError.argument("queries", "must be ≥ 0, got \(queries)")
        }
        guard keys >= 0 else {
            throw AttentionError.argument("keys", "must be ≥ 0, got \(keys)")
        }
        let shift = alignment.queryShift(queries: queries, keys: keys)
        var values = [Float](repeating: 0, count: heads * queries * keys)
        var index = 0
        for slope in slopes {
            for i in 0..<queries {
                for j in 0..<keys {
                    values[index] = form.bias(slope: slope, query: i + shift, key: j)
                    index += 1
                }
            }
        }
        return Tensor(unchecked: [heads, queries, keys], storage: values)
    }

    /// The bias `[heads, queries, keys]` for the given heads, form and alignment.
    ///
    /// Same as `try ALiBi(heads:form:alignment:).bias(queries:keys:)`.
    /// - Throws: ``AttentionError`` naming `heads`, `queries` or `keys`.
    public static func bias(
        heads: Int, queries: Int, keys: Int, form: Form, alignment: Alignment = .bottomRight
    ) throws -> Tensor {
        try ALiBi(heads: heads, form: form, alignment: alignment).bias(queries: queries, keys: keys)
    }
}
