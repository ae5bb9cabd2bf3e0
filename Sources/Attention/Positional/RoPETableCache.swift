import Foundation

/// Rows of RoPE's cos/sin tables for a range of positions.
///
/// Row `p` (for `p` in `firstPosition..<firstPosition + rows`) starts at
/// `(p − firstPosition + rowOffset) · half` in ``cos`` and ``sin``; each row holds
/// `a · cos(p · s · θ_k)` (resp. `sin`) for `k = 0..<half`.
struct RoPETable: Sendable {
    let cos: [Float]
    let sin: [Float]
    /// Index of the row of `firstPosition` in ``cos``/``sin``.
    let rowOffset: Int
    /// Number of frequencies per row (`dimensions / 2`).
    let half: Int
}

/// A growable, thread-safe cache of RoPE's cos/sin tables for positions `0..<rows`.
///
/// There is no maximum position: a request past the cached rows grows the cache (at least
/// doubling it, so decoding token by token costs amortized O(1) per token), up to
/// ``maximumCachedElements`` per table; requests beyond that are computed for just the
/// requested positions and not stored, so memory stays bounded however long the sequence.
/// Angles `p · s · θ_k` and their cos/sin are evaluated in Double and rounded once.
///
/// Readers copy the arrays out under the lock (a reference-count increment, no element
/// copy); growth appends under the lock, which copies only if a reader still holds the old
/// arrays (copy-on-write). Hence the `@unchecked Sendable`: all mutable state is guarded
/// by `lock`.
final class RoPETableCache: @unchecked Sendable {
    /// `θ_k` for `k = 0..<half`.
    let inverseFrequencies: [Double]
    /// Positions are multiplied by this (RoPE's `scale`).
    let positionScale: Double
    /// cos and sin are multiplied by this (YaRN's attention factor, else 1).
    let amplitude: Double

    /// Largest number of Floats kept per table (16 MB each).
    static let maximumCachedElements = 1 << 22

    private let lock = NSLock()
    private var cos: [Float] = []
    private var sin: [Float] = []
    private var rows = 0

    init(inverseFrequencies: [Double], positionScale: Double, amplitude: Double) {
        self.inverseFrequencies = inverseFrequencies
        self.positionScale = positionScale
        self.amplitude = amplitude
    }

    var half: Int { inverseFrequencies.count }

    /// Number of positions currently cached (for tests).
    var cachedRows: Int { lock.withLock { rows } }

    /// The most positions the cache will hold.
    var maximumRows: Int { Swift.max(1, Self.maximumCachedElements / Swift.max(half, 1)) }

    /// The table rows for `positions` (non-negative).
    func table(for positions: Range<Int>) -> RoPETable {
        if positions.upperBound > maximumRows {
            return Self.compute(
                positions, inverseFrequencies: inverseFrequencies,
                positionScale: positionScale, amplitude: amplitude)
        }
        return lock.withLock {
            if positions.upperBound > rows {
                let target = Swift.min(maximumRows, Swift.max(positions.upperBound, 2 * rows, 256))
                let grown = Self.compute(
                    rows..<target, inverseFrequencies: inverseFrequencies,
                    positionScale: positionScale, amplitude: amplitude)
                cos.append(contentsOf: grown.cos)
                sin.append(contentsOf: grown.sin)
                rows = target
            }
            return RoPETable(cos: cos, sin: sin, rowOffset: positions.lowerBound, half: half)
        }
    }

    /// Computes the rows for `positions` without caching them.
    static func compute(
        _ positions: Range<Int>, inverseFrequencies: [Double], positionScale: Double,
        amplitude: Double
    ) -> RoPETable {
        let half = inverseFrequencies.count
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        var index = 0
        for p in positions {
            let position = Double(p) * positionScale
            for theta in inverseFrequencies {
                let angle = position * theta
                c[index] = Float(amplitude * Foundation.cos(angle))
                s[index] = Float(amplitude * Foundation.sin(angle))
                index += 1
            }
        }
        return RoPETable(cos: c, sin: s, rowOffset: 0, half: half)
    }
}
