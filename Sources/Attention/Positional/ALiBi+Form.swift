extension ALiBi {
    /// How ALiBi turns the query–key distance into a bias (slope `m`, aligned query
    /// position `i'`, key position `j`).
    public enum Form: Sendable, Hashable {
        /// `−m · (i' − j)`: the paper's form for causal decoders. Keys in the past
        /// (`j < i'`) get a negative bias growing with distance; for future keys (`j > i'`)
        /// the value `m · (j − i')` is positive — those entries are meant to be hidden by a
        /// causal mask and are kept as is (not clamped), so the bias stays linear in `j`.
        /// Because softmax ignores per-row constants, this equals BLOOM's `m · j` bias on the
        /// visible keys.
        case causal
        /// `−m · |i' − j|`: distance in both directions, for bidirectional (encoder)
        /// attention.
        case symmetric

        /// The bias for one (query, key) pair.
        ///
        /// - Parameters:
        ///   - slope: the head's slope `m`.
        ///   - query: the query's aligned position `i'` (already shifted by
        ///     ``Alignment/queryShift(queries:keys:)``).
        ///   - key: the key position `j`.
        /// - Returns: `−m·(i' − j)` or `−m·|i' − j|`, one Float rounding of the exact
        ///   product.
        @inlinable
        public func bias(slope: Float, query: Int, key: Int) -> Float {
            switch self {
            case .causal: return -(slope * Float(query - key))
            case .symmetric: return -(slope * Float(abs(query - key)))
            }
        }
    }

    /// Where query `i` sits among the keys when there are `Sq` queries and `Sk` keys.
    ///
    /// Mirrors ``AttentionMask/causal`` (top-left) and
    /// ``AttentionMask/causalFromBottomRight``; use the same alignment for the mask and the
    /// bias.
    public enum Alignment: Sendable, Hashable {
        /// Query `i` is at key position `i` (PyTorch `is_causal`).
        case topLeft
        /// Query `i` is at key position `i + (Sk − Sq)`: the last query lines up with the
        /// last key (decoding with a cache, FlashAttention's convention).
        case bottomRight

        /// The shift added to a query index to get its key position: 0 or `keys − queries`.
        @inlinable
        public func queryShift(queries: Int, keys: Int) -> Int {
            switch self {
            case .topLeft: return 0
            case .bottomRight: return keys - queries
            }
        }
    }
}
