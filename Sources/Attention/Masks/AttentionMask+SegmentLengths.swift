extension AttentionMask {
    /// The segment lengths of ``AttentionMask/blockDiagonal(lengths:)`` (packed documents),
    /// with their end offsets precomputed so a position's segment is a binary search.
    ///
    /// ```swift
    /// let packed: AttentionMask = .blockDiagonal(lengths: [100, 28])   // S = 128
    /// let fromArray: AttentionMask = .blockDiagonal(lengths: .init(documentLengths))
    /// ```
    public struct SegmentLengths: Sendable, Hashable, ExpressibleByArrayLiteral {
        /// The length of each segment, in order.
        public let lengths: [Int]
        /// `ends[s]` = `lengths[0] + … + lengths[s]`.
        let ends: [Int]

        public init(_ lengths: [Int]) {
            self.lengths = lengths
            var total = 0
            ends = lengths.map {
                // Saturating: absurd lengths are rejected by validation, never trap here.
                let sum = total.addingReportingOverflow($0)
                total = sum.overflow ? ($0 > 0 ? Int.max : Int.min) : sum.partialValue
                return total
            }
        }

        public init(arrayLiteral lengths: Int...) { self.init(lengths) }

        /// The sum of the lengths (the sequence length they describe).
        public var total: Int { ends.last ?? 0 }

        /// The segment holding `position`: the number of segments that end at or before it
        /// (positions past the end fall in an implicit segment `lengths.count`).
        func segment(of position: Int) -> Int { ends.lowerBound(of: position + 1) }

        /// Where segment `s` starts.
        func start(of s: Int) -> Int { s == 0 ? 0 : ends[Swift.min(s, ends.count) - 1] }

        /// Where segment `s` ends (exclusive); `Int.max` for the implicit trailing segment.
        func end(of s: Int) -> Int { s < ends.count ? ends[s] : Int.max }
    }
}
