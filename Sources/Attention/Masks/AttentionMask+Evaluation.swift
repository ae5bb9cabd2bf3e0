// Evaluating a mask: validation, per-entry visibility and bias, tile classification, and the
// dense views (materialize, density) built on them.
extension AttentionMask {
    /// Tensors inside the mask, for validation.
    var tensors: [(name: String, tensor: Tensor)] {
        switch self {
        case .dense(let t): return [("dense mask", t)]
        case .additive(let t): return [("additive mask", t)]
        case .and(let a, let b), .or(let a, let b): return a.tensors + b.tensors
        default: return []
        }
    }

    /// Whether the mask contains an additive part.
    var hasAdditive: Bool {
        switch self {
        case .additive: return true
        case .and(let a, let b), .or(let a, let b): return a.hasAdditive || b.hasAdditive
        default: return false
        }
    }

    /// Checks that every tensor in the mask broadcasts to `[batch, heads, queries, keys]` and
    /// that every structured part's parameters are valid for `queries × keys` (for example
    /// ``blockDiagonal(lengths:)`` lengths summing to the sequence length).
    /// - Throws: ``AttentionError`` naming `mask`.
    public func validate(batch: Int, heads: Int, queries: Int, keys: Int) throws {
        let target = [batch, heads, queries, keys]
        for (name, t) in tensors {
            guard t.rank <= 4, let b = Tensor.broadcastShape(t.shape, target), b == target else {
                throw AttentionError.shape(
                    "mask", expected: "a \(name) broadcastable to \(target)", actual: t.shape)
            }
        }
        if case .or = self, hasAdditive {
            throw AttentionError.argument("mask", "an additive mask cannot be combined with .or")
        }
        try validateStructure(queries: queries, keys: keys)
    }

    /// Whether query `query` may attend to key `key` (additive parts count as visible unless
    /// they hold −inf).
    public func isVisible(query: Int, key: Int, queries: Int, keys: Int, batch: Int = 0, head: Int = 0) -> Bool {
        switch self {
        case .dense(let t): return t.broadcastValue(batch, head, query, key) != 0
        case .additive(let t): return t.broadcastValue(batch, head, query, key) != -.infinity
        case .and(let a, let b):
            return a.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                && b.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            return a.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                || b.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        default:
            return isVisibleStructured(query: query, key: key, queries: queries, keys: keys)
        }
    }

    /// The additive bias at one entry (0 where the mask has no additive part).
    public func bias(query: Int, key: Int, batch: Int = 0, head: Int = 0) -> Float {
        switch self {
        case .additive(let t): return t.broadcastValue(batch, head, query, key)
        case .and(let a, let b): return a.bias(query: query, key: key, batch: batch, head: head)
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
    public func classify(queryRange: Range<Int>, keyRange: Range<Int>, queries: Int, keys: Int,
                         batch: Int = 0, head: Int = 0) -> BlockKind {
        if queryRange.isEmpty || keyRange.isEmpty { return .empty }
        switch self {
        case .dense(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: false)
        case .additive(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: true)
        case .and(let a, let b):
            let x = a.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if x == .empty { return .empty }
            let y = b.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            return intersectionKind(x, y, queryRange, keyRange, queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            let x = a.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if x == .full { return .full }
            let y = b.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            return AttentionMask.unionKind(x, y)
        default:
            return classifyStructured(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys)
        }
    }

    /// The largest tile (in entries) whose emptiness an `.and` of two partial parts settles by
    /// testing entries: 128 × 128.
    public static let exactScanLimit = 128 * 128

    /// The kind of this `.and` mask's tile given its parts' kinds (`x` not empty).
    func intersectionKind(_ x: BlockKind, _ y: BlockKind, _ q: Range<Int>, _ k: Range<Int>,
                          queries: Int, keys: Int, batch: Int, head: Int) -> BlockKind {
        switch (x, y) {
        case (_, .empty): return .empty
        case (.full, .full): return .full
        case (.partial, .partial) where q.count * k.count <= AttentionMask.exactScanLimit:
            // Each part has a visible entry; whether they share one takes a look.
            for i in q {
                for j in k where isVisible(query: i, key: j, queries: queries, keys: keys, batch: batch, head: head) {
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
            let lead = Array((Array(repeating: 1, count: Swift.max(0, 4 - t.tensor.rank)) + t.tensor.shape).prefix(2))
            return lead.contains { $0 > 1 }
        }
    }

    /// The mask as a `[queries, keys]` tensor of 0/1 for one (batch, head).
    public func materialize(queries: Int, keys: Int, batch: Int = 0, head: Int = 0) -> Tensor {
        var values = [Float](repeating: 0, count: queries * keys)
        forEachVisibleTile(queries: queries, keys: keys, batch: batch, head: head) { q, k, kind in
            for i in q {
                for j in k where kind == .full
                    || isVisible(query: i, key: j, queries: queries, keys: keys, batch: batch, head: head)
                {
                    values[i * keys + j] = 1
                }
            }
        }
        return Tensor(unchecked: [queries, keys], storage: values)
    }

    /// The fraction of visible entries in a `queries × keys` attention matrix (batch 0, head 0).
    public func density(queries: Int, keys: Int) -> Double {
        guard queries > 0 && keys > 0 else { return 0 }
        var visible = 0
        forEachVisibleTile(queries: queries, keys: keys, batch: 0, head: 0) { q, k, kind in
            if kind == .full {
                visible += q.count * k.count
            } else {
                for i in q {
                    for j in k where isVisible(query: i, key: j, queries: queries, keys: keys) { visible += 1 }
                }
            }
        }
        return Double(visible) / Double(queries * keys)
    }

    /// Calls `body` for every 64 × 64 tile that is not empty (hidden tiles cost nothing).
    private func forEachVisibleTile(queries: Int, keys: Int, batch: Int, head: Int,
                                    _ body: (Range<Int>, Range<Int>, BlockKind) -> Void) {
        guard queries > 0 && keys > 0 else { return }
        let tile = 64
        let blocks = BlockMask(mask: self, queries: queries, keys: keys, queryBlockSize: tile,
                               keyBlockSize: tile, batch: batch, head: head)
        for qb in 0..<blocks.queryBlockCount {
            let q = qb * tile..<Swift.min(queries, (qb + 1) * tile)
            for (kb, kind) in blocks.visits(forQueryBlock: qb) {
                body(q, kb * tile..<Swift.min(keys, (kb + 1) * tile), kind)
            }
        }
    }
}
