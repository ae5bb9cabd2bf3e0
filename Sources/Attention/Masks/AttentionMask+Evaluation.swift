// Evaluating a mask: per-entry visibility and bias, and tile classification.
extension AttentionMask {
    /// Whether query `query` may attend to key `key` (additive parts count as visible unless
    /// they hold −inf).
    public func isVisible(
        query: Int, key: Int, queries: Int, keys: Int, batch: Int = 0, head: Int = 0
    ) -> Bool {
        switch self {
        case .dense(let t): return t.broadcastValue(batch, head, query, key) != 0
        case .additive(let t): return t.broadcastValue(batch, head, query, key) != -.infinity
        case .and(let a, let b):
            return a.isVisible(
                query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                && b.isVisible(
                    query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            return a.isVisible(
                query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                || b.isVisible(
                    query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        default:
            return isVisibleStructured(query: query, key: key, queries: queries, keys: keys)
        }
    }

    /// The additive bias at one entry (0 where the mask has no additive part).
    public func bias(query: Int, key: Int, batch: Int = 0, head: Int = 0) -> Float {
        switch self {
        case .additive(let t): return t.broadcastValue(batch, head, query, key)
        case .and(let a, let b):
            return a.bias(query: query, key: key, batch: batch, head: head)
                + b.bias(query: query, key: key, batch: batch, head: head)
        default: return 0
        }
    }

    /// Classifies the tile `queryRange × keyRange`. Never says `.empty` or `.full` wrongly;
    /// may say `.partial` when unsure.
    ///
    /// Every structured case decides emptiness exactly in O(1) (BigBird: O(rows of the tile)),
    /// so `.partial` means "something visible" for them; an `.and` whose parts are both
    /// partial scans tiles of up to ``exactScanLimit`` entries to settle emptiness.
    public func classify(
        queryRange: Range<Int>, keyRange: Range<Int>, queries: Int, keys: Int,
        batch: Int = 0, head: Int = 0
    ) -> BlockKind {
        if queryRange.isEmpty || keyRange.isEmpty { return .empty }
        switch self {
        case .dense(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: false)
        case .additive(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: true)
        case .and(let a, let b):
            let x = a.classify(
                queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys,
                batch: batch, head: head)
            if x == .empty { return .empty }
            let y = b.classify(
                queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys,
                batch: batch, head: head)
            return intersectionKind(
                x, y, queryRange, keyRange, queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            let x = a.classify(
                queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys,
                batch: batch, head: head)
            if x == .full { return .full }
            let y = b.classify(
                queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys,
                batch: batch, head: head)
            return AttentionMask.unionKind(x, y)
        default:
            return classifyStructured(
                queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys)
        }
    }

    /// The largest tile (in entries) whose emptiness an `.and` of two partial parts settles by
    /// testing entries: 128 × 128.
    public static let exactScanLimit = 128 * 128

    /// The kind of this `.and` mask's tile given its parts' kinds (`x` not empty).
    func intersectionKind(
        _ x: BlockKind, _ y: BlockKind, _ q: Range<Int>, _ k: Range<Int>,
        queries: Int, keys: Int, batch: Int, head: Int
    ) -> BlockKind {
        switch (x, y) {
        case (_, .empty): return .empty
        case (.full, .full): return .full
        case (.partial, .partial) where q.count * k.count <= AttentionMask.exactScanLimit:
            // Each part has a visible entry; whether they share one takes a look.
            for i in q {
                for j in k
                where isVisible(
                    query: i, key: j, queries: queries, keys: keys, batch: batch, head: head)
                {
                    return .partial
                }
            }
            return .empty
        default: return .partial
        }
    }

    /// The kind of an `.or` tile given its parts' kinds.
    static func unionKind(_ x: BlockKind, _ y: BlockKind) -> BlockKind {
        if x == .full || y == .full { return .full }
        return x == .empty && y == .empty ? .empty : .partial
    }

    /// Whether visibility differs between batch entries or heads (tensor masks with
    /// leading axes larger than 1).
    public var dependsOnBatchOrHead: Bool {
        tensors.contains { t in
            let lead = Array(
                (Array(repeating: 1, count: Swift.max(0, 4 - t.tensor.rank)) + t.tensor.shape)
                    .prefix(2))
            return lead.contains { $0 > 1 }
        }
    }
}
