@testable import Attention

/// Helpers shared by the Mask* tests: ground truth by plain loops, and a catalogue of masks.
enum MaskFixtures {
    /// A `queries × keys` 0/1 matrix from a predicate, row-major.
    static func matrix(_ queries: Int, _ keys: Int, _ visible: (Int, Int) -> Bool) -> [Float] {
        var m = [Float](repeating: 0, count: queries * keys)
        for i in 0..<queries { for j in 0..<keys where visible(i, j) { m[i * keys + j] = 1 } }
        return m
    }

    /// The mask's visibility by `isVisible`, row-major.
    static func truth(_ mask: AttentionMask, _ queries: Int, _ keys: Int) -> [Bool] {
        var m = [Bool](repeating: false, count: queries * keys)
        for i in 0..<queries {
            for j in 0..<keys {
                m[i * keys + j] = mask.isVisible(query: i, key: j, queries: queries, keys: keys)
            }
        }
        return m
    }

    /// Segment lengths summing to `total` (uneven, one of them short).
    static func segments(_ total: Int) -> [Int] {
        var lengths: [Int] = [], left = total, next = 37
        while left > 0 {
            let l = Swift.min(left, next)
            lengths.append(l)
            left -= l
            next = next == 37 ? 5 : next == 5 ? 64 : 37
        }
        return lengths
    }

    /// Every structured kind with a few parameter choices. `sameLength` kinds need queries == keys.
    static func structured(queries: Int, keys: Int) -> [AttentionMask] {
        var masks: [AttentionMask] = [
            .none, .causal, .causalFromBottomRight,
            .slidingWindow(left: 8, right: 8), .slidingWindow(left: 0, right: 5),
            .slidingWindow(left: 20, right: 0),
            .slidingWindowFromBottomRight(left: 8, right: 3),
            .slidingWindowFromBottomRight(left: 20, right: 0),
            .dilatedWindow(window: 8, dilation: 3), .dilatedWindow(window: 5, dilation: 1),
            .dilatedWindow(window: 0, dilation: 4),
            .longformer(window: 16, globalTokens: 2),
            .longformer(window: 6, globalTokens: [0, 13, 40]),
            .longformer(window: 4, globalTokens: 0),
            .strided(stride: 8), .strided(stride: 1), .strided(stride: 3),
            .sparseTransformerStrided(stride: 8), .sparseTransformerStrided(stride: 1),
            .sparseTransformerStrided(stride: 5),
            .sparseTransformerFixed(blockSize: 16, summary: 4),
            .sparseTransformerFixed(blockSize: 7, summary: 0),
            .sparseTransformerFixed(blockSize: 5, summary: 5),
            .sparseTransformerFixed(blockSize: 1, summary: 1),
            .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 0),
            .bigBird(window: 4, globalTokens: 0, randomPerRow: 5, seed: 7),
            .bigBird(window: 60, globalTokens: 1, randomPerRow: 40, seed: 3),
            .bigBird(window: 2, globalTokens: 3, randomPerRow: 0, seed: 1),
            .bigBirdBlocks(blockSize: 16, seed: 0),
            .bigBirdBlocks(
                blockSize: 8, windowBlocks: 1, globalBlocks: 1,
                randomBlocks: 2, seed: 5),
            .bigBirdBlocks(
                blockSize: 7, windowBlocks: 3, globalBlocks: 0, randomBlocks: 30, seed: 2),
            .prefixLM(prefixLength: 10), .prefixLM(prefixLength: 0),
            .prefixLM(prefixLength: Swift.min(keys, 70)),
        ]
        if queries == keys {
            masks.append(.blockDiagonal(lengths: .init(segments(queries))))
            masks.append(.blockDiagonal(lengths: .init([0, queries - 3, 0, 3])))
        }
        return masks
    }

    /// Random `.and` / `.or` trees over structured kinds and a dense tensor, reproducible.
    static func combinations(queries: Int, keys: Int, count: Int, seed: UInt64) -> [AttentionMask] {
        let leaves =
            structured(queries: queries, keys: keys) + [denseLeaf(queries, keys, seed: seed)]
        var rng = SplitMix64(seed: seed)
        func tree(_ depth: Int) -> AttentionMask {
            if depth == 0 || rng.next() % 3 == 0 {
                return leaves[Int(rng.next() % UInt64(leaves.count))]
            }
            let a = tree(depth - 1), b = tree(depth - 1)
            return rng.next() % 2 == 0 ? .and(a, b) : .or(a, b)
        }
        return (0..<count).map { _ in
            let a = tree(2), b = tree(1)
            return rng.next() % 2 == 0 ? .and(a, b) : .or(a, b)
        }
    }

    /// A boolean tensor mask with about a third of the entries visible.
    static func denseLeaf(_ queries: Int, _ keys: Int, seed: UInt64) -> AttentionMask {
        let u = Tensor.randomUniform([queries, keys], seed: seed)
        return .dense(u.map { $0 < 0.33 ? 1 : 0 })
    }
}
