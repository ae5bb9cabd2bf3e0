// Dispatch from the structured (position-only) cases to their `PositionPattern`s, and the
// validation of their parameters.
extension AttentionMask {
    /// Whether this case is described by positions alone (not a tensor, not a combination).
    var isStructured: Bool {
        switch self {
        case .dense, .additive, .and, .or: return false
        default: return true
        }
    }

    /// Runs `visitor` on the pattern of a structured case.
    func visitPattern<V: PositionPatternVisitor>(_ visitor: V, queries: Int, keys: Int) -> V.Result {
        switch self {
        case .none: return visitor.visit(NoMaskPattern())
        case .causal: return visitor.visit(CausalPattern(shift: 0))
        case .causalFromBottomRight: return visitor.visit(CausalPattern(shift: keys - queries))
        case .slidingWindow(let left, let right):
            return visitor.visit(SlidingWindowPattern(left: left, right: right))
        case .dilatedWindow(let window, let dilation):
            return visitor.visit(DilatedWindowPattern(window: window, dilation: dilation))
        case .longformer(let window, let globals):
            return visitor.visit(LongformerPattern(window: window, globals: globals))
        case .strided(let stride): return visitor.visit(StridedPattern(stride: stride))
        case .sparseTransformerStrided(let stride): return visitor.visit(SparseStridedPattern(stride: stride))
        case .sparseTransformerFixed(let block, let summary):
            return visitor.visit(SparseFixedPattern(blockSize: block, summary: summary))
        case .bigBird(let window, let global, let random, let seed):
            return visitor.visit(BigBirdPattern(grid: BigBirdGrid(
                window: window, global: global, random: random, columns: keys, seed: seed)))
        case .bigBirdBlocks(let block, let window, let global, let random, let seed):
            return visitor.visit(BigBirdBlocksPattern(
                blockSize: block, windowBlocks: window, globalBlocks: global, randomBlocks: random,
                seed: seed, keys: keys))
        case .blockDiagonal(let segments): return visitor.visit(BlockDiagonalPattern(segments: segments))
        case .prefixLM(let prefix): return visitor.visit(PrefixLMPattern(prefix: prefix))
        case .dense, .additive, .and, .or:
            preconditionFailure("\(self) is not a structured mask")
        }
    }

    func isVisibleStructured(query i: Int, key j: Int, queries: Int, keys: Int) -> Bool {
        struct Visible: PositionPatternVisitor {
            let i: Int, j: Int
            func visit<P: PositionPattern>(_ p: P) -> Bool { p.isVisible(i, j) }
        }
        return visitPattern(Visible(i: i, j: j), queries: queries, keys: keys)
    }

    func classifyStructured(queryRange q: Range<Int>, keyRange k: Range<Int>, queries: Int, keys: Int) -> BlockKind {
        struct Classify: PositionPatternVisitor {
            let q: ClosedRange<Int>, k: ClosedRange<Int>
            func visit<P: PositionPattern>(_ p: P) -> BlockKind { p.classify(q, k) }
        }
        if q.isEmpty || k.isEmpty { return .empty }
        return visitPattern(Classify(q: ClosedRange(q), k: ClosedRange(k)), queries: queries, keys: keys)
    }

    /// The pattern of a structured case, prepared for the query range `q` (non-empty).
    func preparedPattern(for q: Range<Int>, queries: Int, keys: Int) -> any PositionPattern {
        struct Prepare: PositionPatternVisitor {
            let q: ClosedRange<Int>
            func visit<P: PositionPattern>(_ p: P) -> any PositionPattern { p.prepared(for: q) }
        }
        return visitPattern(Prepare(q: ClosedRange(q)), queries: queries, keys: keys)
    }

    /// Checks the parameters that do not depend on the sequence lengths.
    /// - Throws: ``AttentionError`` naming `argument`.
    func validateParameters(argument: String) throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw AttentionError.argument(argument, message()) }
        }
        let maxRandom = BigBirdGrid.maxRandom
        switch self {
        case .slidingWindow(let left, let right):
            try require(left >= 0 && right >= 0,
                        "slidingWindow needs left ≥ 0 and right ≥ 0, got left \(left), right \(right)")
        case .dilatedWindow(let window, let dilation):
            try require(window >= 0 && dilation >= 1,
                        "dilatedWindow needs window ≥ 0 and dilation ≥ 1, got window \(window), dilation \(dilation)")
        case .longformer(let window, let globals):
            try require(window >= 0, "longformer needs window ≥ 0, got \(window)")
            try require(globals.positions.allSatisfy { $0 >= 0 },
                        "longformer global positions must be ≥ 0, got \(globals.positions)")
        case .strided(let stride), .sparseTransformerStrided(let stride):
            try require(stride >= 1, "a strided mask needs stride ≥ 1, got \(stride)")
        case .sparseTransformerFixed(let block, let summary):
            try require(block >= 1 && summary >= 0 && summary <= block,
                        "sparseTransformerFixed needs blockSize ≥ 1 and 0 ≤ summary ≤ blockSize, got blockSize \(block), summary \(summary)")
        case .bigBird(let window, let global, let random, _):
            try require(window >= 0 && global >= 0 && random >= 0 && random <= maxRandom,
                        "bigBird needs window ≥ 0, globalTokens ≥ 0 and 0 ≤ randomPerRow ≤ \(maxRandom), got window \(window), globalTokens \(global), randomPerRow \(random)")
        case .bigBirdBlocks(let block, let window, let global, let random, _):
            try require(block >= 1 && window >= 1 && window % 2 == 1 && global >= 0
                            && random >= 0 && random <= maxRandom,
                        "bigBirdBlocks needs blockSize ≥ 1, an odd windowBlocks ≥ 1, globalBlocks ≥ 0 and 0 ≤ randomBlocks ≤ \(maxRandom), got blockSize \(block), windowBlocks \(window), globalBlocks \(global), randomBlocks \(random)")
        case .blockDiagonal(let segments):
            try require(segments.lengths.allSatisfy { $0 >= 0 },
                        "blockDiagonal lengths must be ≥ 0, got \(segments.lengths)")
        case .prefixLM(let prefix):
            try require(prefix >= 0, "prefixLM needs prefixLength ≥ 0, got \(prefix)")
        case .and(let a, let b), .or(let a, let b):
            try a.validateParameters(argument: argument)
            try b.validateParameters(argument: argument)
        case .none, .causal, .causalFromBottomRight, .dense, .additive:
            break
        }
    }

    /// Checks parameters and their fit to `queries × keys`.
    /// - Throws: ``AttentionError`` naming `mask`.
    func validateStructure(queries: Int, keys: Int) throws {
        try validateParameters(argument: "mask")
        switch self {
        case .longformer(_, let globals):
            let limit = Swift.max(queries, keys)
            if let bad = globals.positions.first(where: { $0 >= limit }) {
                throw AttentionError.argument(
                    "mask", "longformer global position \(bad) is outside 0..<\(limit) (max(queries, keys))")
            }
        case .blockDiagonal(let segments):
            guard queries == keys else {
                throw AttentionError.argument(
                    "mask", "blockDiagonal needs queries == keys (packed sequences), got queries \(queries), keys \(keys)")
            }
            guard segments.total == keys else {
                throw AttentionError.argument(
                    "mask", "blockDiagonal lengths must sum to the sequence length \(keys), got \(segments.lengths) (sum \(segments.total))")
            }
        case .prefixLM(let prefix):
            guard prefix <= keys else {
                throw AttentionError.argument("mask", "prefixLM needs prefixLength ≤ keys (\(keys)), got \(prefix)")
            }
        case .and(let a, let b), .or(let a, let b):
            try a.validateStructure(queries: queries, keys: keys)
            try b.validateStructure(queries: queries, keys: keys)
        default:
            break
        }
    }
}
