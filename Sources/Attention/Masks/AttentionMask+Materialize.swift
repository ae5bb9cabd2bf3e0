// Dense views of a mask (materialize, density), built on tile classification: empty tiles
// cost nothing, full tiles are filled without per-entry tests.
extension AttentionMask {
    /// The mask as a `[queries, keys]` tensor of 0/1 for one (batch, head).
    public func materialize(queries: Int, keys: Int, batch: Int = 0, head: Int = 0) -> Tensor {
        var values = [Float](repeating: 0, count: queries * keys)
        forEachVisibleTile(queries: queries, keys: keys, batch: batch, head: head) { q, k, kind in
            for i in q {
                for j in k
                where kind == .full
                    || isVisible(
                        query: i, key: j, queries: queries, keys: keys, batch: batch, head: head)
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
                    for j in k where isVisible(query: i, key: j, queries: queries, keys: keys) {
                        visible += 1
                    }
                }
            }
        }
        return Double(visible) / Double(queries * keys)
    }

    /// Calls `body` for every 64 × 64 tile that is not empty (hidden tiles cost nothing).
    private func forEachVisibleTile(
        queries: Int, keys: Int, batch: Int, head: Int,
        _ body: (Range<Int>, Range<Int>, BlockKind) -> Void
    ) {
        guard queries > 0 && keys > 0 else { return }
        let tile = 64
        let blocks = BlockMask(
            mask: self, queries: queries, keys: keys, queryBlockSize: tile,
            keyBlockSize: tile, batch: batch, head: head)
        for qb in 0..<blocks.queryBlockCount {
            let q = qb * tile..<Swift.min(queries, (qb + 1) * tile)
            for (kb, kind) in blocks.visits(forQueryBlock: qb) {
                body(q, kb * tile..<Swift.min(keys, (kb + 1) * tile), kind)
            }
        }
    }
}
