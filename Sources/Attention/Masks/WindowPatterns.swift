// Local-window patterns: sliding window, Longformer's dilated window, Longformer with globals.

/// `j ∈ i − left … i + right`, with `i` shifted by `shift` first.
struct SlidingWindowPattern: PositionPattern {
    let left: Int, right: Int
    /// Added to query positions first (`.slidingWindowFromBottomRight`: `keys − queries`).
    var shift = 0

    func isVisible(_ i: Int, _ j: Int) -> Bool { j >= i + shift - left && j <= i + shift + right }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        if left + right < 0 { return .empty }
        let q = (q.lowerBound + shift)...(q.upperBound + shift)
        // Empty when the block lies wholly right of the last row's window or left of the first row's.
        if k.lowerBound > q.upperBound + right || k.upperBound < q.lowerBound - left {
            return .empty
        }
        // Full when every row's window covers the whole key block.
        if k.lowerBound >= q.upperBound - left && k.upperBound <= q.lowerBound + right {
            return .full
        }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        span(q.lowerBound + shift - left, q.upperBound + shift + right + 1)
    }
}

/// `|i − j| ≤ reach` and `(i − j) mod dilation == 0`, with `reach = (window / 2) · dilation`.
/// Depends on `d = i − j` only, and a tile holds every `d` in `q0 − k1 … q1 − k0`, so the
/// classification is exact.
struct DilatedWindowPattern: PositionPattern {
    let reach: Int, dilation: Int

    init(window: Int, dilation: Int) {
        self.dilation = Swift.max(dilation, 1)
        reach = Swift.max(window, 0) / 2 * self.dilation
    }

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        let d = i - j
        return abs(d) <= reach && d % dilation == 0
    }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        let dMin = q.lowerBound - k.upperBound, dMax = q.upperBound - k.lowerBound
        let lo = Swift.max(dMin, -reach), hi = Swift.min(dMax, reach)
        if lo > hi || nextMultiple(of: dilation, atLeast: lo) > hi { return .empty }
        // A tile with two or more d values holds a non-multiple unless dilation is 1.
        if dMin >= -reach && dMax <= reach && (dilation == 1 || dMin == dMax) { return .full }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        span(q.lowerBound - reach, q.upperBound + reach + 1)
    }
}

/// A window `|i − j| ≤ window / 2` plus global rows and columns.
struct LongformerPattern: PositionPattern {
    let window: SlidingWindowPattern
    let globals: AttentionMask.GlobalTokens

    init(window: Int, globals: AttentionMask.GlobalTokens) {
        let half = Swift.max(window, 0) / 2
        self.window = SlidingWindowPattern(left: half, right: half)
        self.globals = globals
    }

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        window.isVisible(i, j) || globals.contains(i) || globals.contains(j)
    }

    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        let w = window.classify(q, k)
        let globalRows = globals.count(in: q), globalColumns = globals.count(in: k)
        if w == .full || globalRows == q.count || globalColumns == k.count { return .full }
        if w == .empty && globalRows == 0 && globalColumns == 0 { return .empty }
        return .partial
    }

    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        if globals.count(in: q) > 0 { return allKeys }
        let w = window.keyBounds(q)
        guard let first = globals.first, let last = globals.last else {
            return w
        }
        return Swift.min(w.lowerBound, first)..<Swift.max(w.upperBound, last + 1)
    }

    func keySpans(_ q: ClosedRange<Int>) -> KeySpans {
        if globals.count(in: q) > 0 { return KeySpans(allKeys) }
        return KeySpans([window.keyBounds(q)] + globals.spans)
    }
}
