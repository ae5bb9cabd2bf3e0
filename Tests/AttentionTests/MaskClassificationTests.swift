import Testing
@testable import Attention

/// Tile classification and BlockMask against ground truth, exhaustively over every tile.
@Suite struct MaskClassificationTests {
    static let shapes = [(64, 64), (100, 100), (200, 200), (64, 100), (130, 77)]
    static let tiles = [(7, 5), (16, 16), (64, 64), (33, 50), (128, 128)]

    /// Checks every tile of every tile size; `exact` also requires `.full` for all-visible tiles.
    func check(_ mask: AttentionMask, queries: Int, keys: Int, exact: Bool = false) {
        let truth = MaskFixtures.truth(mask, queries, keys)
        let materialized = mask.materialize(queries: queries, keys: keys).scalars
        let wrong = zip(materialized, truth).filter { ($0 == 1) != $1 }.count
        #expect(
            wrong == 0,
            "\(mask) \(queries)×\(keys): materialize differs from isVisible at \(wrong) entries")
        // Prefix sums: visible entries in [0, i) × [0, j).
        let w = keys + 1
        var sums = [Int](repeating: 0, count: (queries + 1) * w)
        for i in 0..<queries {
            for j in 0..<keys {
                sums[(i + 1) * w + j + 1] =
                    sums[i * w + j + 1] + sums[(i + 1) * w + j]
                    - sums[i * w + j] + (truth[i * keys + j] ? 1 : 0)
            }
        }
        for (tq, tk) in MaskClassificationTests.tiles {
            let blocks = BlockMask(
                mask: mask, queries: queries, keys: keys, queryBlockSize: tq, keyBlockSize: tk)
            #expect(blocks.queryBlockCount == (queries + tq - 1) / tq)
            var failures = 0
            for qb in 0..<blocks.queryBlockCount {
                let q = qb * tq..<Swift.min(queries, (qb + 1) * tq)
                var expected: [Int: BlockKind] = [:]
                for kb in 0..<(keys + tk - 1) / tk {
                    let k = kb * tk..<Swift.min(keys, (kb + 1) * tk)
                    let visible =
                        sums[q.upperBound * w + k.upperBound]
                        - sums[q.lowerBound * w + k.upperBound]
                        - sums[q.upperBound * w + k.lowerBound]
                        + sums[q.lowerBound * w + k.lowerBound]
                    let area = q.count * k.count
                    let kind = mask.classify(
                        queryRange: q, keyRange: k, queries: queries, keys: keys)
                    let ok =
                        (visible > 0) == (kind != .empty) && (visible == area || kind != .full)
                        && (!exact || (visible == area) == (kind == .full))
                    if !ok && failures < 3 {
                        failures += 1
                        Issue.record(
                            "\(mask) \(queries)×\(keys) tile \(q)×\(k): \(visible)/\(area) visible, classified \(kind)"
                        )
                    }
                    if kind != .empty { expected[kb] = kind }
                }
                // BlockMask lists exactly the non-empty tiles, with classify's kinds, partial first.
                let visits = blocks.visits(forQueryBlock: qb)
                let listed = Dictionary(
                    visits.map { ($0.keyBlock, $0.kind) }, uniquingKeysWith: { a, _ in a })
                #expect(listed.count == visits.count)
                if listed != expected && failures < 3 {
                    failures += 1
                    Issue.record(
                        "\(mask) \(queries)×\(keys) tiles \(tq)×\(tk) query block \(qb): BlockMask \(listed.keys.sorted()), expected \(expected.keys.sorted())"
                    )
                }
                let kinds = visits.map(\.kind)
                #expect(kinds == kinds.filter { $0 == .partial } + kinds.filter { $0 == .full })
            }
        }
    }

    static func exactlyClassified(_ mask: AttentionMask) -> Bool {
        switch mask {
        case .longformer: return false
        default: return true
        }
    }

    @Test(arguments: shapes.indices) func structuredKinds(_ shape: Int) {
        let (q, k) = MaskClassificationTests.shapes[shape]
        for mask in MaskFixtures.structured(queries: q, keys: k) {
            check(mask, queries: q, keys: k, exact: MaskClassificationTests.exactlyClassified(mask))
        }
    }

    @Test func bigBirdBlocksAreExactOnAlignedTiles() {
        let mask = AttentionMask.bigBirdBlocks(
            blockSize: 16, windowBlocks: 3, globalBlocks: 1, randomBlocks: 2, seed: 11)
        for (q, k) in [(128, 128), (96, 160)] {
            let matrix = mask.materialize(queries: q, keys: k).scalars
            for tile in [16, 32] {
                // Brute force from the materialized mask: a tile is empty, full or partial
                // by counting its visible entries.
                var expected: [[Int: BlockKind]] = []
                for qb in 0..<(q + tile - 1) / tile {
                    var row: [Int: BlockKind] = [:]
                    for kb in 0..<(k + tile - 1) / tile {
                        let rows = qb * tile..<min(q, qb * tile + tile)
                        let cols = kb * tile..<min(k, kb * tile + tile)
                        let visible = rows.reduce(0) { sum, i in
                            sum + cols.filter { matrix[i * k + $0] == 1 }.count
                        }
                        if visible == rows.count * cols.count {
                            row[kb] = .full
                        } else if visible > 0 {
                            row[kb] = .partial
                        }
                    }
                    expected.append(row)
                }
                let blocks = BlockMask(
                    mask: mask, queries: q, keys: k, queryBlockSize: tile, keyBlockSize: tile)
                #expect(blocks.queryBlockCount == expected.count)
                for (qb, row) in expected.enumerated() {
                    let visits = blocks.visits(forQueryBlock: qb)
                    let listed = Dictionary(
                        visits.map { ($0.keyBlock, $0.kind) }, uniquingKeysWith: { a, _ in a })
                    #expect(listed.count == visits.count, "\(q)×\(k) tile \(tile) block \(qb)")
                    #expect(listed == row, "\(q)×\(k) tile \(tile) query block \(qb)")
                }
                let partial = expected.reduce(0) { $0 + $1.values.filter { $0 == .partial }.count }
                #expect(blocks.visitedBlockCount == expected.reduce(0) { $0 + $1.count })
                #expect(blocks.partialBlockCount == partial)
                // Tiles of the pattern's block size are all-or-nothing; 32-tiles straddle
                // visible and hidden 16-blocks, so some are partial.
                #expect(tile == 16 ? partial == 0 : partial > 0, "\(q)×\(k) tile \(tile)")
            }
            // `classify` on one pattern block is the visibility of its corner.
            for qb in 0..<q / 16 {
                for kb in 0..<k / 16 {
                    let kind = mask.classify(
                        queryRange: qb * 16..<qb * 16 + 16, keyRange: kb * 16..<kb * 16 + 16,
                        queries: q, keys: k)
                    let v = mask.isVisible(query: qb * 16, key: kb * 16, queries: q, keys: k)
                    #expect(kind == (v ? .full : .empty))
                }
            }
        }
    }

    @Test(arguments: shapes.indices) func randomCombinations(_ shape: Int) {
        let (q, k) = MaskClassificationTests.shapes[shape]
        for mask in MaskFixtures.combinations(queries: q, keys: k, count: 12, seed: UInt64(shape)) {
            check(mask, queries: q, keys: k)
        }
    }

    @Test func tensorMasksStillClassify() {
        let dense = MaskFixtures.denseLeaf(50, 70, seed: 5)
        check(dense, queries: 50, keys: 70, exact: true)
        let additive = AttentionMask.additive(
            Tensor.randomUniform([50, 70], seed: 6).map { $0 < 0.5 ? -.infinity : $0 })
        check(additive, queries: 50, keys: 70)
        check(.and(additive, .causal), queries: 50, keys: 70)
        // An additive part is never skipped as full.
        let blocks = BlockMask(
            mask: .additive(Tensor.zeros([1, 1])), queries: 10, keys: 10, queryBlockSize: 4,
            keyBlockSize: 4)
        #expect(blocks.partialBlockCount == blocks.visitedBlockCount)
    }

    @Test func visibleKeyRangeSkipsHiddenBlocks() {
        // A narrow window at S = 4096 with 64-tiles visits 3 key blocks per query block at most.
        let blocks = BlockMask(
            mask: .and(.causal, .slidingWindow(left: 64, right: 0)), queries: 4096, keys: 4096,
            queryBlockSize: 64, keyBlockSize: 64)
        for qb in 0..<blocks.queryBlockCount {
            #expect(
                blocks.visits(forQueryBlock: qb).map(\.keyBlock).sorted()
                    == Array(Swift.max(0, qb - 1)...qb))
        }
    }

    @Test func columnSetAndKeySpansAgreeWithBruteForce() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<50 {
            let columns = 1 + Int(rng.next() % 300)
            var set = ColumnSet(columns: columns), members = Set<Int>()
            for _ in 0..<Int(rng.next() % 6) {
                let c = Int(rng.next() % UInt64(columns))
                set.insert(c)
                members.insert(c)
            }
            for _ in 0..<40 {
                let a = Int(rng.next() % UInt64(columns)), b = a + Int(rng.next() % 200)
                #expect(set.containsAny(in: a...b) == members.contains { (a...b).contains($0) })
            }
            #expect(Set(set.spans.ranges.flatMap { Array($0) }) == members)
            // Spans: union and intersection against sets of keys.
            func randomSpans() -> KeySpans {
                KeySpans(
                    (0..<Int(rng.next() % 5)).map { _ in
                        let lo = Int(rng.next() % 100)
                        return lo..<lo + Int(rng.next() % 30)
                    })
            }
            let x = randomSpans(), y = randomSpans()
            let sx = Set(x.ranges.flatMap { Array($0) }), sy = Set(y.ranges.flatMap { Array($0) })
            #expect(Set(x.union(y).ranges.flatMap { Array($0) }) == sx.union(sy))
            #expect(Set(x.intersection(y).ranges.flatMap { Array($0) }) == sx.intersection(sy))
            let u = x.union(y).ranges
            #expect(zip(u, u.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound })
        }
    }
}
