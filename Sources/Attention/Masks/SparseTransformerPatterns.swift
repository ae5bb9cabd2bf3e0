// Strided patterns: the seed's column stride and the Sparse Transformer's strided and fixed
// patterns (Child et al. 2019, "Generating Long Sequences with Sparse Transformers").

/// The seed's `mask[i, ::stride] = 1`: `j mod stride == 0` for every query.
struct StridedPattern: PositionPattern {
    let stride: Int

    init(stride: Int) { self.stride = Swift.max(stride, 1) }

    func isVisible(_ i: Int, _ j: Int) -> Bool { j % stride == 0 }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        if nextMultiple(of: stride, atLeast: k.lowerBound) > k.upperBound { return .empty }
        return stride == 1 || k.count == 1 ? .full : .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> { allKeys }
}

/// `d = i − j ≥ 0` and (`d < stride` or `d mod stride == 0`). Depends on `d` only, and a tile
/// holds every `d` in `q0 − k1 … q1 − k0`, so the classification is exact.
struct SparseStridedPattern: PositionPattern {
    let stride: Int

    init(stride: Int) { self.stride = Swift.max(stride, 1) }

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        let d = i - j
        return d >= 0 && (d < stride || d % stride == 0)
    }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        let dMin = q.lowerBound - k.upperBound, dMax = q.upperBound - k.lowerBound
        let lo = Swift.max(dMin, 0)
        if lo > dMax { return .empty }
        if lo >= stride && nextMultiple(of: stride, atLeast: lo) > dMax { return .empty }
        // Every d < stride is visible; above it only a single multiple can be.
        if dMin >= 0
            && (stride == 1 || dMax < stride
                || (Swift.max(dMin, stride) == dMax && dMax % stride == 0))
        {
            return .full
        }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> { span(0, q.upperBound + 1) }
}

/// `j ≤ i` and (`⌊j / l⌋ == ⌊i / l⌋` or `j mod l ≥ l − c`).
struct SparseFixedPattern: PositionPattern {
    let block: Int, summary: Int

    init(blockSize: Int, summary: Int) {
        block = Swift.max(blockSize, 1)
        self.summary = Swift.min(Swift.max(summary, 0), block)
    }

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        j <= i && (j / block == i / block || isSummary(j))
    }

    func isSummary(_ j: Int) -> Bool { j % block >= block - summary }

    /// The first summary column `≥ a` (`a ≥ 0`, `summary > 0`).
    func nextSummary(_ a: Int) -> Int {
        let r = a % block
        return r >= block - summary ? a : a - r + block - summary
    }

    /// Whether every column of `a…b` is a summary column.
    func allSummary(_ a: Int, _ b: Int) -> Bool {
        summary == block || (summary > 0 && a / block == b / block && isSummary(a))
    }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        let (q0, q1, k0, k1) = (q.lowerBound, q.upperBound, k.lowerBound, k.upperBound)
        if k0 > q1 { return .empty }
        // A block meeting both ranges has a visible entry (its first key column ≤ its last row).
        let sharesBlock = Swift.max(q0 / block, k0 / block) <= Swift.min(q1 / block, k1 / block)
        let seesSummary = summary > 0 && nextSummary(k0) <= Swift.min(k1, q1)
        if !sharesBlock && !seesSummary { return .empty }
        // Full: causal-full, and every column is a summary column or in the rows' only block.
        if k1 <= q0 {
            if allSummary(k0, k1) { return .full }
            let b = q0 / block
            if q1 / block == b && (k0 >= b * block || allSummary(k0, Swift.min(k1, b * block - 1)))
            {
                return .full
            }
        }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> { span(0, q.upperBound + 1) }
}
