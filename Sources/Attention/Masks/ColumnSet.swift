/// A set of columns in `0..<columns` as a bitmap: O(1) inserts, and "any in `a…b`" reads
/// `(b − a) / 64 + 1` words.
struct ColumnSet {
    private var words: [UInt64]
    private(set) var lowest = Int.max, highest = Int.min
    /// How many inserts (≥ the number of columns).
    private var inserted = 0

    init(columns: Int) { words = [UInt64](repeating: 0, count: (Swift.max(columns, 0) + 63) / 64) }

    var isEmpty: Bool { highest < lowest }

    mutating func insert(_ c: Int) {
        words[c >> 6] |= 1 << UInt64(c & 63)
        inserted += 1
        lowest = Swift.min(lowest, c)
        highest = Swift.max(highest, c)
    }

    /// The columns as runs of consecutive columns.
    var spans: KeySpans {
        var runs: [Range<Int>] = []
        if isEmpty { return KeySpans(sorted: runs) }
        runs.reserveCapacity(inserted)
        var start = lowest, end = lowest  // the current run, start..<end
        for w in (lowest >> 6)...(highest >> 6) {
            var bits = words[w]
            while bits != 0 {
                let c = w << 6 | bits.trailingZeroBitCount
                if c != end {
                    if end > start { runs.append(start..<end) }
                    start = c
                }
                end = c + 1
                bits &= bits - 1
            }
        }
        runs.append(start..<end)
        return KeySpans(sorted: runs)
    }

    func containsAny(in c: ClosedRange<Int>) -> Bool {
        let a = Swift.max(c.lowerBound, lowest), b = Swift.min(c.upperBound, highest)
        if a > b { return false }
        let wa = a >> 6, wb = b >> 6
        let low: UInt64 = ~0 << UInt64(a & 63), high: UInt64 = ~0 >> UInt64(63 - b & 63)
        if wa == wb { return words[wa] & low & high != 0 }
        if words[wa] & low != 0 || words[wb] & high != 0 { return true }
        return words[(wa + 1)..<wb].contains { $0 != 0 }
    }
}
