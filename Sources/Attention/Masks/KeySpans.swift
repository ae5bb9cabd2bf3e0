/// A set of keys as sorted, disjoint, non-adjacent ranges: where a query range's visible keys
/// can lie (a superset). ``BlockMask`` classifies only the key blocks that meet a span.
struct KeySpans: Equatable {
    private(set) var ranges: [Range<Int>]

    /// Sorts, drops empty ranges and merges overlapping or touching ones.
    init(_ ranges: [Range<Int>]) {
        self.init(sorted: ranges.sorted { $0.lowerBound < $1.lowerBound })
    }

    /// Like ``init(_:)`` for ranges already in ascending order of `lowerBound`.
    init(sorted: [Range<Int>]) {
        var merged: [Range<Int>] = []
        merged.reserveCapacity(sorted.count)
        for r in sorted where !r.isEmpty {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] =
                    last.lowerBound..<Swift.max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        ranges = merged
    }

    init(_ range: Range<Int>) { ranges = range.isEmpty ? [] : [range] }

    /// The spans within `all` (clamping keeps the order).
    func clamped(to all: Range<Int>) -> KeySpans {
        var out = self
        out.ranges = ranges.lazy.map { $0.clamped(to: all) }.filter { !$0.isEmpty }
        return out
    }

    /// Keys in both (two-pointer walk).
    func intersection(_ other: KeySpans) -> KeySpans {
        var out: [Range<Int>] = [], a = 0, b = 0
        while a < ranges.count && b < other.ranges.count {
            let x = ranges[a], y = other.ranges[b]
            let lo = Swift.max(x.lowerBound, y.lowerBound),
                hi = Swift.min(x.upperBound, y.upperBound)
            if lo < hi { out.append(lo..<hi) }
            if x.upperBound < y.upperBound { a += 1 } else { b += 1 }
        }
        return KeySpans(out)
    }

    /// Keys in either (a linear merge).
    func union(_ other: KeySpans) -> KeySpans {
        var merged: [Range<Int>] = [], a = 0, b = 0
        merged.reserveCapacity(ranges.count + other.ranges.count)
        while a < ranges.count || b < other.ranges.count {
            if b == other.ranges.count
                || (a < ranges.count && ranges[a].lowerBound <= other.ranges[b].lowerBound)
            {
                merged.append(ranges[a])
                a += 1
            } else {
                merged.append(other.ranges[b])
                b += 1
            }
        }
        return KeySpans(sorted: merged)
    }

    /// Calls `body` with each block index (`⌊key / blockSize⌋`) meeting a span, ascending,
    /// each once.
    func forEachBlock(size blockSize: Int, _ body: (Int) -> Void) {
        var next = Int.min
        for r in ranges {
            let first = Swift.max(r.lowerBound / blockSize, next),
                last = (r.upperBound - 1) / blockSize
            if first > last { continue }
            for b in first...last { body(b) }
            next = last + 1
        }
    }
}
