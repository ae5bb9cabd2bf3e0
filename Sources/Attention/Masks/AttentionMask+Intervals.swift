// Masks whose visible keys form one contiguous interval per query: the fused kernel hides
// the rest of a row with two fills and works only on the columns a panel of rows can see.
extension AttentionMask {
    /// The keys query `i` sees when they form one interval (`nil` for other masks, e.g.
    /// strided, BigBird, tensors or `.or`). An empty range means no visible key.
    func visibleInterval(query i: Int, queries: Int, keys: Int) -> Range<Int>? {
        func clamp(_ lo: Int, _ hi: Int) -> Range<Int> {
            let l = Swift.min(Swift.max(lo, 0), keys)
            return l..<Swift.max(l, Swift.min(hi, keys))
        }
        switch self {
        case .none: return 0..<keys
        case .causal: return clamp(0, i + 1)
        case .causalFromBottomRight: return clamp(0, i + keys - queries + 1)
        case .slidingWindow(let left, let right): return clamp(i - left, i + right + 1)
        case .slidingWindowFromBottomRight(let left, let right):
            let i = i + keys - queries
            return clamp(i - left, i + right + 1)
        case .prefixLM(let prefix): return clamp(0, Swift.max(prefix, i + 1))
        case .blockDiagonal(let lengths):
            guard i < lengths.total else { return 0..<0 }
            let s = lengths.segment(of: i)
            return clamp(lengths.start(of: s), lengths.start(of: s) + lengths.lengths[s])
        case .and(let a, let b):
            guard let x = a.visibleInterval(query: i, queries: queries, keys: keys),
                let y = b.visibleInterval(query: i, queries: queries, keys: keys)
            else { return nil }
            let lo = Swift.max(x.lowerBound, y.lowerBound)
            return lo..<Swift.max(lo, Swift.min(x.upperBound, y.upperBound))
        default: return nil
        }
    }

    /// Whether every query's visible keys form one interval.
    var isIntervalMask: Bool {
        switch self {
        case .none, .causal, .causalFromBottomRight, .slidingWindow, .slidingWindowFromBottomRight,
            .prefixLM, .blockDiagonal:
            return true
        case .and(let a, let b): return a.isIntervalMask && b.isIntervalMask
        default: return false
        }
    }
}
