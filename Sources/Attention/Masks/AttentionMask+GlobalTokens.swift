extension AttentionMask {
    /// The global positions of ``AttentionMask/longformer(window:globalTokens:)``: a count
    /// of leading positions or an explicit list, kept sorted and without duplicates.
    ///
    /// ```swift
    /// let a: AttentionMask = .longformer(window: 8, globalTokens: 2)           // {0, 1}
    /// let b: AttentionMask = .longformer(window: 8, globalTokens: [0, 31, 63]) // a list
    /// ```
    public struct GlobalTokens: Sendable, Hashable, ExpressibleByIntegerLiteral,
        ExpressibleByArrayLiteral
    {
        /// `0..<leading` when the positions are the leading ones (kept as a count, so a huge
        /// count costs nothing before it is validated against the sequence length).
        private let leading: Int?
        /// The positions otherwise, ascending and distinct.
        private let list: [Int]

        /// The global positions, ascending and distinct (O(count): built on demand for a
        /// leading count).
        public var positions: [Int] { leading.map { Array(0..<$0) } ?? list }

        /// The listed positions (any order; duplicates are dropped).
        public init(positions: [Int]) {
            let sorted = Array(Set(positions)).sorted()
            if sorted.last.map({ $0 == sorted.count - 1 }) ?? true {
                (leading, list) = (sorted.count, [])
            } else {
                (leading, list) = (nil, sorted)
            }
        }

        private init(leading count: Int) { (leading, list) = (Swift.max(count, 0), []) }

        /// The first `count` positions, `0..<count` (none when `count ≤ 0`).
        public static func leading(_ count: Int) -> GlobalTokens { GlobalTokens(leading: count) }

        public init(integerLiteral count: Int) { self = .leading(count) }
        public init(arrayLiteral positions: Int...) { self.init(positions: positions) }

        /// Whether the positions are exactly `0..<count`.
        var isLeading: Bool { leading != nil }
        /// How many positions there are.
        var count: Int { leading ?? list.count }
        /// The smallest and largest position, if any.
        var first: Int? { leading.map { $0 > 0 ? 0 : nil } ?? list.first }
        var last: Int? { leading.map { $0 > 0 ? $0 - 1 : nil } ?? list.last }

        /// How many global positions lie in `range`.
        func count(in range: ClosedRange<Int>) -> Int {
            if let leading {
                let upper = Swift.min(range.upperBound, leading - 1)
                return Swift.max(0, upper - Swift.max(range.lowerBound, 0) + 1)
            }
            return list.lowerBound(of: range.upperBound + 1)
                - list.lowerBound(of: range.lowerBound)
        }

        func contains(_ position: Int) -> Bool {
            if let leading { return position >= 0 && position < leading }
            let k = list.lowerBound(of: position)
            return k < list.count && list[k] == position
        }

        /// The positions as key ranges (one range for a leading count).
        var spans: [Range<Int>] {
            if let leading { return leading > 0 ? [0..<leading] : [] }
            return list.map { $0..<$0 + 1 }
        }
    }
}

extension Array where Element: Comparable {
    /// The index of the first element `≥ value` in this ascending array.
    func lowerBound(of value: Element) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
