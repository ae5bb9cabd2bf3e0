import Testing
@testable import Attention

/// Every mask kind through the fused block-sparse kernel against the Double oracle under the
/// same mask (FlashAttention-2's error rule), at sizes that are not multiples of the tiles.
@Suite struct SparseFusedTests {
    static let masks: [AttentionMask] = [
        .strided(stride: 8), .sparseTransformerStrided(stride: 7),
        .sparseTransformerFixed(blockSize: 16, summary: 3),
        .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 1),
        .bigBirdBlocks(blockSize: 64, windowBlocks: 3, globalBlocks: 1, randomBlocks: 1, seed: 2),
        .longformer(window: 20, globalTokens: 3), .dilatedWindow(window: 10, dilation: 3),
        .prefixLM(prefixLength: 37), .slidingWindow(left: 0, right: 0),
        .slidingWindow(left: 130, right: 3),
        .and(.causal, .slidingWindow(left: 50, right: 0)),
        .or(.strided(stride: 16), .slidingWindow(left: 4, right: 4)),
        .and(
            .bigBird(window: 8, globalTokens: 1, randomPerRow: 2, seed: 3), .causalFromBottomRight),
    ]

    func check(_ mask: AttentionMask, sq: Int, sk: Int, seed: UInt64) throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: sq, sk: sk, d: 24, seed: seed)
        let fused = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: mask, backend: .fused)
        let reference = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: mask, backend: .reference)
        let oracle = NaiveAttention(query: q, key: k, value: v, mask: mask)
        let e = maxError(fused, oracle.output), r = maxError(reference, oracle.output)
        #expect(e <= 2 * r + 1e-6, "\(mask) \(sq)×\(sk): fused \(e), reference \(r)")
        // Rows with no visible key are exactly zero.
        for h in 0..<2 {
            for i in 0..<sq
            where !(0..<sk).contains(where: {
                mask.isVisible(query: i, key: $0, queries: sq, keys: sk)
            }) {
                for x in 0..<24 { #expect(fused[0, h, i, x] == 0) }
            }
        }
    }

    @Test(arguments: 0..<masks.count)
    func everyKindMatchesTheOracle(_ index: Int) throws {
        let mask = Self.masks[index]
        try check(mask, sq: 203, sk: 203, seed: UInt64(index))
        if case .bigBirdBlocks = mask { return }
        if case .prefixLM = mask { return }
        try check(mask, sq: 113, sk: 150, seed: UInt64(index + 50))
    }

    @Test func blockDiagonalPackedDocuments() throws {
        try check(.blockDiagonal(lengths: [100, 28, 75]), sq: 203, sk: 203, seed: 7)
        try check(.and(.causal, .blockDiagonal(lengths: [1, 130, 72])), sq: 203, sk: 203, seed: 8)
    }

    @Test func randomCombinations() throws {
        var rng = SplitMix64(seed: 42)
        let leaves: [AttentionMask] = [
            .causal, .slidingWindow(left: 9, right: 2), .strided(stride: 5),
            .prefixLM(prefixLength: 20),
            .bigBird(window: 6, globalTokens: 1, randomPerRow: 2, seed: 5),
            .dilatedWindow(window: 8, dilation: 2),
        ]
        for trial in 0..<8 {
            let a = leaves[Int(rng.next() % 6)], b = leaves[Int(rng.next() % 6)]
            let mask: AttentionMask = rng.next() % 2 == 0 ? .and(a, b) : .or(a, b)
            try check(mask, sq: 130, sk: 130, seed: UInt64(trial))
        }
    }

    @Test func onlyNonEmptyTilesAreVisited() throws {
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 1000, sk: 1000, d: 16, seed: 3)
        for mask in [
            AttentionMask.slidingWindow(left: 64, right: 63), .causal, .bigBirdBlocks(seed: 4),
            .strided(stride: 256),
        ] {
            let (bq, bk) = ResolvedExecution.machineDefault.tileSize(for: mask)
            let blocks = BlockMask(
                mask: mask, queries: 1000, keys: 1000, queryBlockSize: bq, keyBlockSize: bk)
            // Every tile with a visible entry is listed; every listed tile has one.
            for qb in 0..<blocks.queryBlockCount {
                let listed = Set(blocks.visits(forQueryBlock: qb).map(\.keyBlock))
                for kb in 0..<((1000 + bk - 1) / bk) {
                    let rows = (qb * bq)..<min(1000, qb * bq + bq),
                        cols = (kb * bk)..<min(1000, kb * bk + bk)
                    let visible = rows.contains { i in
                        cols.contains {
                            mask.isVisible(query: i, key: $0, queries: 1000, keys: 1000)
                        }
                    }
                    #expect(listed.contains(kb) == visible, "\(mask) tile (\(qb), \(kb))")
                }
            }
            let options = AttentionOptions(mask: mask, backend: .fused)
            let problem = try AttentionProblem(query: q, key: k, value: v, options: options)
            let run = FlashAttention.forward(problem, options: options, outputLayout: .bhsd)
            #expect(run.visitedTiles == blocks.visitedBlockCount, "\(mask)")
        }
        // Tiles chosen per call are the ones the kernel runs (and they override a block mask's).
        for (bq, bk) in [(24, 64), (12, 32), (120, 256)] {
            let mask = AttentionMask.bigBirdBlocks(seed: 4)
            let options = AttentionOptions(
                mask: mask, backend: .fused,
                execution: ExecutionOptions(queryBlock: bq, keyBlock: bk))
            let problem = try AttentionProblem(query: q, key: k, value: v, options: options)
            #expect(problem.queryBlock == bq && problem.keyBlock == bk)
            let blocks = BlockMask(
                mask: mask, queries: 1000, keys: 1000, queryBlockSize: bq, keyBlockSize: bk)
            let run = FlashAttention.forward(problem, options: options, outputLayout: .bhsd)
            #expect(run.visitedTiles == blocks.visitedBlockCount, "\(bq)×\(bk)")
        }
    }
}

@Suite struct BlockMaskReuseTests {
    @Test func aPrebuiltClassificationGivesTheSameResult() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 150, sk: 150, d: 16, seed: 9)
        let dense = Tensor.randomUniform([150, 150], seed: 3).map { $0 < 0.3 ? 1 : 0 }
        let blocks = BlockMask.forFusedKernel(mask: .dense(dense), queries: 150, keys: 150)
        var options = AttentionOptions(mask: .dense(dense), backend: .fused)
        let fresh = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            .output
        options.blockMask = blocks
        let reused = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            .output
        #expect(fresh == reused)
        options.blockMask = BlockMask.forFusedKernel(mask: .dense(dense), queries: 150, keys: 140)
        #expect {
            _ = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        } throws: {
            ($0 as? AttentionError)?.argument == "blockMask"
        }
    }
}
