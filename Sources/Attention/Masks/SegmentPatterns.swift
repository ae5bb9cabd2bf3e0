// Patterns over contiguous segments: packed documents (block diagonal) and prefix LM.

/// Same segment of ``AttentionMask/SegmentLengths``. A tile's rows and columns each cover a
/// contiguous run of segments; it has a visible entry iff the runs share a segment.
struct BlockDiagonalPattern: PositionPattern {
    let segments: AttentionMask.SegmentLengths

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        segments.segment(of: i) == segments.segment(of: j)
    }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        let q0 = segments.segment(of: q.lowerBound), q1 = segments.segment(of: q.upperBound)
        let k0 = segments.segment(of: k.lowerBound), k1 = segments.segment(of: k.upperBound)
        if Swift.max(q0, k0) > Swift.min(q1, k1) { return .empty }
        return q0 == q1 && k0 == k1 && q0 == k0 ? .full : .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        span(
            segments.start(of: segments.segment(of: q.lowerBound)),
            segments.end(of: segments.segment(of: q.upperBound)))
    }
}

/// `j < prefix` or `j ≤ i`.
struct PrefixLMPattern: PositionPattern {
    let prefix: Int

    func isVisible(_ i: Int, _ j: Int) -> Bool { j < prefix || j <= i }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        if k.upperBound < prefix || k.upperBound <= q.lowerBound { return .full }
        if k.lowerBound < prefix || k.lowerBound <= q.upperBound { return .partial }
        return .empty
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        span(0, Swift.max(prefix, q.upperBound + 1))
    }
}

/// `j ≤ i + shift` (`.causal`: shift 0; `.causalFromBottomRight`: `keys − queries`).
struct CausalPattern: PositionPattern {
    let shift: Int

    func isVisible(_ i: Int, _ j: Int) -> Bool { j <= i + shift }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        if k.lowerBound > q.upperBound + shift { return .empty }
        if k.upperBound <= q.lowerBound + shift { return .full }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> { span(Int.min, q.upperBound + shift + 1) }
}
