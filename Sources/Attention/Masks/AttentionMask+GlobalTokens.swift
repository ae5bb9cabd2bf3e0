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
        /// The global positions, ascending and distinct.
        public let positions: [Int]

        /// The listed positions (any order; duplicates are dropped).
        public init(positions: [Int]) { self.positions = Array(Set(positions)).sorted() }

        /// The first `count` positions, `0..<count` (none when `count ≤ 0`).
        public static func leading(_ count: Int) -> GlobalTokens {
            GlobalTokens(positions: Array(0..<Swift.max(count, 0)))
        }

        public init(integerLiteral count: Int) { self = .leading(count) }
        public init(arrayLiteral positions: Int...) { self.init(positions: positions) }

        /// Whether the positions are exactly `0..<positions.count`.
        var isLeading: Bool { positions.last.map { $0 == positions.count - 1 } ?? true }

        /// How many global positions lie in `range`.
        func count(in range: ClosedRange<Int>) -> Int {
            positions.lowerBound(of: range.upperBound + 1)
                - positions.lowerBound(of: range.lowerBound)
        }

        func contains(_ position: Int) -> Bool {
            let k = positions.lowerBound(of: position)
            return k < positions.count && positions[k] == position
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
