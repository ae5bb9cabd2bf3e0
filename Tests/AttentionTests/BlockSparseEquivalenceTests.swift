import Testing

@testable import Attention

/// The property "a block-sparse run equals the dense run under the equivalent dense mask":
/// each structured mask, whose tiles the fused kernel skips by its structure, against the
/// same mask materialized as a `.dense` 0/1 tensor and as an `.additive` 0/−∞ tensor, on both
/// backends. Tolerance: max |difference| ≤ 1e-6 (outputs are convex combinations of values
/// of size ≲ 4, so a few Float ulps). A different tile order may change the rounding of the
/// online softmax, so bit-identity is not required; measured, most masks agree bit for bit
/// and the largest difference is about 2e-7. Across backends (fused block-sparse against the
/// materialized path under the dense tensor: two different Float algorithms) the tolerance
/// is 1e-5; measured up to about 1.5e-6. An additive mask puts the fused kernel in checked
/// mode (natural-log units, docs/KERNELS.md "Non-finite values"), another exponential than
/// the structured run's base 2, so that pair gets 4e-6; measured up to about 1.2e-6.
@Suite struct BlockSparseEquivalenceTests {
    static let tolerance: Float = 1e-6
    static let checkedModeTolerance: Float = 4e-6
    static let crossBackendTolerance: Float = 1e-5

    static let masks: [AttentionMask] = [
        .bigBirdBlocks(blockSize: 64, windowBlocks: 3, globalBlocks: 1, randomBlocks: 2, seed: 3),
        .bigBirdBlocks(blockSize: 16, windowBlocks: 1, globalBlocks: 2, randomBlocks: 3, seed: 8),
        .slidingWindow(left: 100, right: 27), .slidingWindow(left: 0, right: 0),
        .and(.causal, .slidingWindow(left: 64, right: 0)),
        .strided(stride: 16), .sparseTransformerStrided(stride: 9),
        .sparseTransformerFixed(blockSize: 32, summary: 4),
        .longformer(window: 32, globalTokens: 2),
        .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 2),
        .dilatedWindow(window: 12, dilation: 4), .prefixLM(prefixLength: 50),
        .blockDiagonal(lengths: [120, 7, 173]),
        .or(.strided(stride: 64), .and(.causalFromBottomRight, .slidingWindow(left: 32, right: 0))),
    ]

    @Test(arguments: 0..<masks.count)
    func sparseEqualsDenseUnderTheMaterializedMask(_ index: Int) throws {
        let mask = Self.masks[index]
        let (sq, sk) = (300, 300)
        let (q, k, v) = randomQKV(b: 2, h: 4, hkv: 2, sq: sq, sk: sk, d: 40, seed: UInt64(index))
        let matrix = mask.materialize(queries: sq, keys: sk)
        #expect(matrix.shape == [sq, sk])
        let dense = AttentionMask.dense(matrix)
        let additive = AttentionMask.additive(matrix.map { $0 == 1 ? 0 : -.infinity })
        var outputs: [String: Tensor] = [:]
        for backend in [AttentionBackend.fused, .reference] {
            let sparse = try scaledDotProductAttention(
                query: q, key: k, value: v, mask: mask, backend: backend)
            outputs["\(backend) sparse"] = sparse
            for (name, equivalent) in [("dense", dense), ("additive", additive)] {
                let run = try scaledDotProductAttention(
                    query: q, key: k, value: v, mask: equivalent, backend: backend)
                let difference = sparse.maxAbsDifference(run)
                let checked = backend == .fused && name == "additive"
                #expect(
                    difference <= (checked ? Self.checkedModeTolerance : Self.tolerance),
                    "\(mask) \(backend): sparse vs \(name) differ by \(difference)")
            }
        }
        // And across backends: the fused block-sparse run against the materialized path
        // under the dense tensor.
        let fused = try #require(outputs["fused sparse"])
        let reference = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: dense, backend: .reference)
        #expect(fused.maxAbsDifference(reference) <= Self.crossBackendTolerance, "\(mask)")
    }

    @Test func theStructuredRunsSkipTiles() throws {
        // The equivalence above is not vacuous: at these sizes the structured masks let the
        // fused kernel skip tiles, so the sparse runs take a different path from a
        // dense run with every tile visited.
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 300, sk: 300, d: 16, seed: 4)
        for mask in [Self.masks[2], Self.masks[4], Self.masks[12]] {
            let options = AttentionOptions(mask: mask, backend: .fused)
            let problem = try AttentionProblem(query: q, key: k, value: v, options: options)
            let visited = FlashAttention.forward(problem, options: options, outputLayout: .bhsd)
                .visitedTiles
            let (bq, bk) = problem.execution.tileSize(for: mask)
            let all = ((300 + bq - 1) / bq) * ((300 + bk - 1) / bk)
            #expect(visited < all, "\(mask) visits \(visited) of \(all) tiles")
        }
    }
}
