import Testing
@testable import Attention

/// The structured masks equal the seed's constructions, written here as plain loops.
@Suite struct MaskSeedTests {
    let S = 64

    func expectMask(_ mask: AttentionMask, queries: Int, keys: Int, _ visible: (Int, Int) -> Bool) {
        let expected = MaskFixtures.matrix(queries, keys, visible)
        let got = mask.materialize(queries: queries, keys: keys)
        #expect(got.shape == [queries, keys])
        let wrong = zip(got.scalars, expected).filter { $0 != $1 }.count
        #expect(wrong == 0, "\(mask) at \(queries)×\(keys): \(wrong) entries differ from the loops")
    }

    @Test func localWindowMatchesCreateLocalMask() throws {
        // create_local_mask(64, 16): mask[i, max(0, i − w/2) : min(S, i + w/2 + 1)] = 1
        let w = 16
        var seed = [Float](repeating: 0, count: S * S)
        for i in 0..<S {
            for j in Swift.max(0, i - w / 2)..<Swift.min(S, i + w / 2 + 1) { seed[i * S + j] = 1 }
        }
        expectMask(.slidingWindow(left: 8, right: 8), queries: S, keys: S) { i, j in
            seed[i * S + j] == 1
        }
        expectMask(try AttentionMask(parsing: "window:16"), queries: S, keys: S) { i, j in
            seed[i * S + j] == 1
        }
    }

    @Test func stridedMatchesSeed() {
        // mask[i, ::stride] = 1 — no diagonal, no causality.
        var seed = [Float](repeating: 0, count: S * S)
        for i in 0..<S { for j in Swift.stride(from: 0, to: S, by: 8) { seed[i * S + j] = 1 } }
        expectMask(.strided(stride: 8), queries: S, keys: S) { i, j in seed[i * S + j] == 1 }
    }

    @Test func causalIsLowerTriangular() {
        expectMask(.causal, queries: S, keys: S) { i, j in j <= i }
        expectMask(.causalFromBottomRight, queries: 5, keys: 9) { i, j in j <= i + 4 }
    }

    @Test func bottomRightWindowEndsAtTheLastKey() {
        // FlashAttention's window_size=(3, 1) with Sq = 5, Sk = 9: query i is key position
        // i + 4, and sees keys i + 1 … i + 5 that exist.
        expectMask(.slidingWindowFromBottomRight(left: 3, right: 1), queries: 5, keys: 9) { i, j in
            j >= i + 1 && j <= i + 5
        }
        // More queries than keys: the first rows' windows start before key 0.
        expectMask(.slidingWindowFromBottomRight(left: 2, right: 0), queries: 9, keys: 5) { i, j in
            j >= i - 6 && j <= i - 4
        }
        // Square: the top-left window.
        expectMask(.slidingWindowFromBottomRight(left: 4, right: 2), queries: S, keys: S) { i, j in
            j >= i - 4 && j <= i + 2
        }
    }

    @Test func sparseTransformerPatterns() {
        for s in [1, 4, 8] {
            expectMask(.sparseTransformerStrided(stride: s), queries: S, keys: S) { i, j in
                j <= i && ((i - j) < s || (i - j) % s == 0)
            }
        }
        for (l, c) in [(16, 4), (8, 1), (5, 0), (4, 4)] {
            expectMask(.sparseTransformerFixed(blockSize: l, summary: c), queries: S, keys: S) {
                i, j in
                j <= i && (j / l == i / l || j % l >= l - c)
            }
        }
    }

    @Test func windowFamilies() {
        expectMask(.dilatedWindow(window: 8, dilation: 3), queries: S, keys: S) { i, j in
            abs(i - j) <= 4 * 3 && (i - j) % 3 == 0
        }
        expectMask(.longformer(window: 16, globalTokens: 2), queries: S, keys: S) { i, j in
            abs(i - j) <= 8 || i < 2 || j < 2
        }
        let g: Set = [5, 40]
        expectMask(.longformer(window: 4, globalTokens: [40, 5, 5]), queries: S, keys: S) { i, j in
            abs(i - j) <= 2 || g.contains(i) || g.contains(j)
        }
    }

    @Test func segmentFamilies() {
        // Packed documents of 20, 30 and 14 tokens.
        let doc = { (p: Int) in p < 20 ? 0 : p < 50 ? 1 : 2 }
        expectMask(.blockDiagonal(lengths: [20, 30, 14]), queries: S, keys: S) { i, j in
            doc(i) == doc(j)
        }
        expectMask(.prefixLM(prefixLength: 10), queries: S, keys: S) { i, j in j < 10 || j <= i }
    }

    @Test func bigBirdDeterministicPartMatchesSeed() {
        // create_bigbird_mask(64, window 16, global 2, random 3): local window, then global rows
        // and columns; the random part is checked on its own below.
        let mask = AttentionMask.bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 0)
        var seedLocalGlobal = [Float](repeating: 0, count: S * S)
        for i in 0..<S {
            for j in Swift.max(0, i - 8)..<Swift.min(S, i + 9) { seedLocalGlobal[i * S + j] = 1 }
        }
        for i in 0..<2 {
            for j in 0..<S { seedLocalGlobal[i * S + j] = 1; seedLocalGlobal[j * S + i] = 1 }
        }
        let got = mask.materialize(queries: S, keys: S).scalars
        for i in 0..<S {
            var extra = 0
            for j in 0..<S {
                if seedLocalGlobal[i * S + j] == 1 {
                    #expect(got[i * S + j] == 1)
                } else if got[i * S + j] == 1 {
                    extra += 1
                }
            }
            // Every non-global row has ≥ 3 hidden keys at S = 64, so exactly 3 random ones.
            #expect(extra == (i < 2 ? 0 : 3), "row \(i)")
        }
    }

    @Test func bigBirdRandomPartIsReproducibleAndSeeded() {
        func bird(_ seed: UInt64) -> [Float] {
            AttentionMask.bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: seed)
                .materialize(queries: S, keys: S).scalars
        }
        #expect(bird(0) == bird(0))
        #expect(bird(0) != bird(1))
        #expect(bird(1) != bird(2))
        // A row's draws depend only on (seed, row, keys): a longer query axis keeps them.
        let short = AttentionMask.bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 9)
        for i in 0..<S {
            for j in 0..<S {
                #expect(
                    short.isVisible(query: i, key: j, queries: S, keys: S)
                        == short.isVisible(query: i, key: j, queries: 2 * S, keys: S))
            }
        }
    }

    @Test func bigBirdTakesEveryCandidateWhenTooFewRemain() {
        // S = 20, window 30 (h = 15): rows near the middle have no hidden key left; the rest
        // fewer than 4, and all of those become visible.
        let S = 20
        let mask = AttentionMask.bigBird(window: 30, globalTokens: 0, randomPerRow: 4, seed: 3)
        for i in 0..<S {
            let hidden = (0..<S).filter { abs(i - $0) > 15 }.count
            let extra = (0..<S).filter {
                abs(i - $0) > 15 && mask.isVisible(query: i, key: $0, queries: S, keys: S)
            }.count
            #expect(extra == Swift.min(hidden, 4))
        }
        #expect(mask.density(queries: S, keys: S) == 1)
    }

    @Test func bigBirdBlocksFollowTheBlockRule() {
        // BigBird-ITC at block 8 on S = 64 (8 blocks): window of 3 blocks, 2 global blocks,
        // 3 random key blocks per non-global query block.
        let B = 8, n = S / B
        let mask = AttentionMask.bigBirdBlocks(
            blockSize: B, windowBlocks: 3, globalBlocks: 2, randomBlocks: 2, seed: 4)
        let m = mask.materialize(queries: S, keys: S).scalars
        for a in 0..<n {
            var randomBlocks = 0
            for b in 0..<n {
                let v = m[a * B * S + b * B]
                // Constant on each block pair.
                for i in a * B..<(a + 1) * B {
                    for j in b * B..<(b + 1) * B { #expect(m[i * S + j] == v) }
                }
                let deterministic = abs(a - b) <= 1 || a < 2 || b < 2
                if deterministic { #expect(v == 1) } else if v == 1 { randomBlocks += 1 }
            }
            // Non-global block rows have 8 − 2 − 3 (or 2 at the edges) ≥ 2 candidate blocks.
            #expect(randomBlocks == (a < 2 ? 0 : 2), "block row \(a)")
        }
    }

    @Test func densityIsTheMaterializedFraction() {
        for (q, k) in [(64, 64), (100, 37)] {
            for mask in MaskFixtures.structured(queries: q, keys: k) {
                let ones = mask.materialize(queries: q, keys: k).scalars.reduce(0, +)
                #expect(
                    mask.density(queries: q, keys: k) == Double(ones) / Double(q * k), "\(mask)")
            }
        }
    }
}
