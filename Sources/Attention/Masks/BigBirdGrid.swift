// BigBird's rule (Zaheer et al. 2020: window + global + random attention) on a grid of
// rows × columns, shared by the token form and the block (ITC) form (see BigBirdPattern.swift).

/// BigBird's rule on a grid with `columns` columns (see ``AttentionMask/bigBird(window:globalTokens:randomPerRow:seed:)``).
///
/// Row `i`'s *candidates* are the columns its window and the global columns leave hidden; they
/// form at most two intervals `a` (left of the window) and `b` (right of it), numbered
/// `t = 0..<m` in column order. Its random columns are one draw per stratum
/// `[⌊s·m/r⌋, ⌊(s+1)·m/r⌋)` (all candidates when `m ≤ r`), so "is candidate `t` drawn?"
/// costs one hash and no storage.
struct BigBirdGrid {
    let half: Int, global: Int, random: Int, columns: Int
    let rng: CounterRNG

    /// The largest accepted `random` (the stratum index takes 24 bits of the RNG counter).
    static let maxRandom = (1 << 24) - 1

    init(window: Int, global: Int, random: Int, columns: Int, seed: UInt64) {
        half = Swift.max(window, 0) / 2
        self.global = Swift.max(global, 0)
        self.random = Swift.min(Swift.max(random, 0), BigBirdGrid.maxRandom)
        self.columns = Swift.max(columns, 0)
        rng = CounterRNG(seed: seed)
    }

    /// The columns of one row that window and global columns leave hidden.
    struct Candidates {
        let a: Range<Int>, b: Range<Int>
        var count: Int { a.count + b.count }
        func column(_ t: Int) -> Int { t < a.count ? a.lowerBound + t : b.lowerBound + t - a.count }
        /// The candidate numbers of the columns in `c`, as one range per interval.
        func indices(of c: ClosedRange<Int>) -> (Range<Int>, Range<Int>) {
            let ta = span(
                Swift.max(c.lowerBound, a.lowerBound), Swift.min(c.upperBound + 1, a.upperBound))
            let tb = span(
                Swift.max(c.lowerBound, b.lowerBound), Swift.min(c.upperBound + 1, b.upperBound))
            return (
                (ta.lowerBound - a.lowerBound)..<(ta.upperBound - a.lowerBound),
                (tb.lowerBound - b.lowerBound + a.count)..<(tb.upperBound - b.lowerBound + a.count)
            )
        }
    }

    func candidates(row i: Int) -> Candidates {
        if i < global { return Candidates(a: 0..<0, b: 0..<0) }  // a global row sees everything
        let g = Swift.min(global, columns)
        return Candidates(
            a: g..<Swift.max(g, Swift.min(i - half, columns)),
            b: Swift.min(columns, Swift.max(g, i + half + 1))..<columns)
    }

    func isDeterministic(_ i: Int, _ j: Int) -> Bool {
        abs(i - j) <= half || i < global || j < global
    }

    /// The stratum holding candidate `t` of `m > random`: the largest `s` with `⌊s·m/r⌋ ≤ t`.
    func stratum(_ t: Int, of m: Int) -> Int { ((t + 1) * random - 1) / m }

    /// The candidate drawn from stratum `s` of row `i` (`m > random`).
    func pick(row i: Int, stratum s: Int, of m: Int) -> Int {
        let lo = s * m / random
        return draw(row: i, stratum: s, lo: lo, width: (s + 1) * m / random - lo)
    }

    /// `lo + ⌊width · u⌋` for the row and stratum's uniform 64-bit draw `u / 2^64`.
    @inline(__always) private func draw(row i: Int, stratum s: Int, lo: Int, width: Int) -> Int {
        let bits = rng.bits(at: UInt64(truncatingIfNeeded: i) << 24 | UInt64(s))
        return lo + Int(UInt64(width).multipliedFullWidth(by: bits).high)
    }

    /// Whether row `i` draws one of the candidates `t`, `m` candidates in all.
    func drawsAny(row i: Int, _ t: Range<Int>, of m: Int) -> Bool {
        if t.isEmpty { return false }
        if m <= random { return true }
        let s0 = stratum(t.lowerBound, of: m), s1 = stratum(t.upperBound - 1, of: m)
        if s1 - s0 >= 2 { return true }  // stratum s0 + 1 lies wholly inside t
        if t.contains(pick(row: i, stratum: s0, of: m)) { return true }
        return s1 != s0 && t.contains(pick(row: i, stratum: s1, of: m))
    }

    /// Whether row `i` has a random column in `c`.
    func hasRandom(row i: Int, in c: ClosedRange<Int>) -> Bool {
        guard random > 0 && i >= global else { return false }
        let cand = candidates(row: i)
        let (ta, tb) = cand.indices(of: c)
        return drawsAny(row: i, ta, of: cand.count) || drawsAny(row: i, tb, of: cand.count)
    }

    /// Calls `body` with each random column of row `i`, ascending.
    func forEachRandom(row i: Int, _ body: (Int) -> Void) {
        guard random > 0 && i >= global else { return }
        let cand = candidates(row: i), m = cand.count
        if m <= random {
            for t in 0..<m { body(cand.column(t)) }
        } else {
            var lo = 0
            for s in 0..<random {
                let hi = (s + 1) * m / random
                body(cand.column(draw(row: i, stratum: s, lo: lo, width: hi - lo)))
                lo = hi
            }
        }
    }

    /// The random columns of rows `q` (what ``BlockMask`` precomputes per query block).
    func randomColumns(rows q: ClosedRange<Int>) -> ColumnSet {
        var set = ColumnSet(columns: columns)
        if random > 0 { for i in q { forEachRandom(row: i) { set.insert($0) } } }
        return set
    }

    func isVisible(_ i: Int, _ j: Int) -> Bool {
        isDeterministic(i, j) || (j < columns && hasRandom(row: i, in: j...j))
    }

    /// Exact for emptiness; `.full` needs every row to be global or to have all of `k` covered
    /// by window, global columns and its random draws (checked row by row for ≤ 4096 rows).
    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>, randomColumns: ColumnSet?)
        -> BlockKind
    {
        let window = SlidingWindowPattern(left: half, right: half).classify(q, k)
        var any = window != .empty || q.lowerBound < global || k.lowerBound < global
        if !any && random > 0 {
            if let randomColumns {
                any = randomColumns.containsAny(in: k)
            } else {
                any = q.contains { hasRandom(row: $0, in: k) }
            }
        }
        if !any { return .empty }
        return isFull(q, k, window: window) ? .full : .partial
    }

    private func isFull(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>, window: BlockKind) -> Bool {
        if window == .full || q.upperBound < global || k.upperBound < global { return true }
        guard q.count <= 4096 else { return false }
        for i in q where i >= global {
            let cand = candidates(row: i), m = cand.count
            let (ta, tb) = cand.indices(of: k)
            let hidden = ta.count + tb.count  // columns of k neither window nor global
            if hidden == 0 || (random > 0 && m <= random) { continue }
            if hidden > random { return false }
            for t in Array(ta) + Array(tb)
            where pick(row: i, stratum: stratum(t, of: m), of: m) != t {
                return false
            }
        }
        return true
    }

    func keyBounds(_ q: ClosedRange<Int>, randomColumns: ColumnSet?) -> Range<Int> {
        if q.lowerBound < global { return allKeys }
        var lo = q.lowerBound - half, hi = q.upperBound + half + 1
        if global > 0 { lo = Swift.min(lo, 0); hi = Swift.max(hi, global) }
        if random > 0 {
            guard let randomColumns else { return allKeys }
            if !randomColumns.isEmpty {
                lo = Swift.min(lo, randomColumns.lowest)
                hi = Swift.max(hi, randomColumns.highest + 1)
            }
        }
        return span(lo, hi)
    }

    func keySpans(_ q: ClosedRange<Int>, randomColumns: ColumnSet?) -> KeySpans {
        if q.lowerBound < global || (random > 0 && randomColumns == nil) {
            return KeySpans(allKeys)
        }
        let fixed = KeySpans(sorted: [
            span(0, global), span(q.lowerBound - half, q.upperBound + half + 1),
        ])
        return randomColumns.map { fixed.union($0.spans) } ?? fixed
    }
}
