/// How a heatmap chooses the data values mapped to the two ends of its colormap
/// (matplotlib's `vmin` and `vmax`).
public enum ColorRange: Sendable, Hashable {
    /// From the smallest to the largest finite value.
    case automatic
    /// From `-m` to `m`, where `m` is the largest finite magnitude, so that zero maps to the
    /// colormap's centre (the white of ``Colormap/rdBu``).
    case symmetric
    /// Explicit bounds; values outside are clamped to the end colours. Reversed bounds are
    /// swapped; a non-finite bound falls back to ``automatic``.
    case fixed(min: Double, max: Double)

    /// The concrete range for `values`, ignoring NaN and infinities.
    ///
    /// When every value is equal the range is widened around it, so it maps to the middle
    /// colour; with no finite value at all the range is `0...1`.
    public func resolve(for values: [Float]) -> ClosedRange<Double> {
        switch self {
        case .fixed(let a, let b) where a.isFinite && b.isFinite:
            return Swift.min(a, b)...Swift.max(a, b)
        case .fixed, .automatic, .symmetric:
            var low = Double.infinity
            var high = -Double.infinity
            for v in values where v.isFinite {
                low = Swift.min(low, Double(v))
                high = Swift.max(high, Double(v))
            }
            guard low.isFinite else { return 0...1 }
            if self == .symmetric {
                let magnitude = Swift.max(abs(low), abs(high))
                return magnitude > 0 ? -magnitude...magnitude : -1...1
            }
            if low == high {
                let pad = low == 0 ? 1 : abs(low) / 2
                return (low - pad)...(high + pad)
            }
            return low...high
        }
    }
}
