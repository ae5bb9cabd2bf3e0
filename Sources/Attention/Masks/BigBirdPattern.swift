// BigBird (Zaheer et al. 2020) at token level and in the block (ITC) form. Both evaluate one
// rule, `BigBirdGrid`, on a grid of rows × columns: the positions themselves, or the blocks of
// `blockSize` positions.

/// Token-level BigBird; `randomColumns` optionally holds the random keys of the query range
/// being classified (precomputed once per query block by ``BlockMask``).
struct BigBirdPattern: PositionPattern {
    let grid: BigBirdGrid
    var randomColumns: ColumnSet? = nil

    func isVisible(_ i: Int, _ j: Int) -> Bool { grid.isVisible(i, j) }
    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        grid.classify(q, k, randomColumns: randomColumns)
    }
    // keySpans stays the single range keyBounds: a query block's random keys scatter over about
    // as many key blocks as there are, and listing them costs more than classifying them all.
    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        grid.keyBounds(q, randomColumns: randomColumns)
    }

    func prepared(for q: ClosedRange<Int>) -> BigBirdPattern {
        BigBirdPattern(grid: grid, randomColumns: grid.randomColumns(rows: q))
    }
}

/// BigBird-ITC: the grid rule on blocks of `blockSize` positions. A tile meets exactly the
/// block pairs of its block ranges, and visibility is constant on a block pair, so the tile's
/// classification is the grid's classification of those block ranges.
struct BigBirdBlocksPattern: PositionPattern {
    let blockSize: Int
    let grid: BigBirdGrid
    var randomColumns: ColumnSet? = nil

    init(
        blockSize: Int, windowBlocks: Int, globalBlocks: Int, randomBlocks: Int, seed: UInt64,
        keys: Int
    ) {
        self.blockSize = Swift.max(blockSize, 1)
        let keyBlocks = (Swift.max(keys, 0) + self.blockSize - 1) / self.blockSize
        grid = BigBirdGrid(
            window: windowBlocks, global: globalBlocks, random: randomBlocks,
            columns: keyBlocks, seed: seed)
    }

    func blocks(_ r: ClosedRange<Int>) -> ClosedRange<Int> {
        (r.lowerBound / blockSize)...(r.upperBound / blockSize)
    }

    func isVisible(_ i: Int, _ j: Int) -> Bool { grid.isVisible(i / blockSize, j / blockSize) }
    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind {
        grid.classify(blocks(q), blocks(k), randomColumns: randomColumns)
    }
    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> {
        let b = grid.keyBounds(blocks(q), randomColumns: randomColumns)
        if b == allKeys { return allKeys }
        return span(b.lowerBound * blockSize, b.upperBound * blockSize)
    }
    func keySpans(_ q: ClosedRange<Int>) -> KeySpans {
        let spans = grid.keySpans(blocks(q), randomColumns: randomColumns)
        if spans == KeySpans(allKeys) { return spans }
        return KeySpans(
            spans.ranges.map { span($0.lowerBound * blockSize, $0.upperBound * blockSize) })
    }

    func prepared(for q: ClosedRange<Int>) -> BigBirdBlocksPattern {
        var p = self
        p.randomColumns = grid.randomColumns(rows: blocks(q))
        return p
    }
}
