// Dispatch from the structured (position-only) cases to their `PositionPattern`s.
extension AttentionMask {
    /// Whether this case is described by positions alone (not a tensor, not a combination).
    var isStructured: Bool {
        switch self {
        case .dense, .additive, .and, .or: return false
        default: return true
        }
    }

    /// Runs `visitor` on the pattern of a structured case.
    func visitPattern<V: PositionPatternVisitor>(_ visitor: V, queries: Int, keys: Int) -> V.Result
    {
        switch self {
        case .none: return visitor.visit(NoMaskPattern())
        case .causal: return visitor.visit(CausalPattern(shift: 0))
        case .causalFromBottomRight: return visitor.visit(CausalPattern(shift: keys - queries))
        case .slidingWindow(let left, let right):
            return visitor.visit(SlidingWindowPattern(left: left, right: right))
        case .slidingWindowFromBottomRight(let left, let right):
            return visitor.visit(
                SlidingWindowPattern(left: left, right: right, shift: keys - queries))
        case .dilatedWindow(let window, let dilation):
            return visitor.visit(DilatedWindowPattern(window: window, dilation: dilation))
        case .longformer(let window, let globals):
            return visitor.visit(LongformerPattern(window: window, globals: globals))
        case .strided(let stride): return visitor.visit(StridedPattern(stride: stride))
        case .sparseTransformerStrided(let stride):
            return visitor.visit(SparseStridedPattern(stride: stride))
        case .sparseTransformerFixed(let block, let summary):
            return visitor.visit(SparseFixedPattern(blockSize: block, summary: summary))
        case .bigBird(let window, let global, let random, let seed):
            return visitor.visit(
                BigBirdPattern(
                    grid: BigBirdGrid(
                        window: window, global: global, random: random, columns: keys, seed: seed)))
        case .bigBirdBlocks(let block, let window, let global, let random, let seed):
            return visitor.visit(
                BigBirdBlocksPattern(
                    blockSize: block, windowBlocks: window, globalBlocks: global,
                    randomBlocks: random,
                    seed: seed, keys: keys))
        case .blockDiagonal(let segments):
            return visitor.visit(BlockDiagonalPattern(segments: segments))
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

    func classifyStructured(
        queryRange q: Range<Int>, keyRange k: Range<Int>, queries: Int, keys: Int
    ) -> BlockKind {
        struct Classify: PositionPatternVisitor {
            let q: ClosedRange<Int>, k: ClosedRange<Int>
            func visit<P: PositionPattern>(_ p: P) -> BlockKind { p.classify(q, k) }
        }
        if q.isEmpty || k.isEmpty { return .empty }
        return visitPattern(
            Classify(q: ClosedRange(q), k: ClosedRange(k)), queries: queries, keys: keys)
    }

    /// The pattern of a structured case, prepared for the query range `q` (non-empty).
    func preparedPattern(for q: Range<Int>, queries: Int, keys: Int) -> any PositionPattern {
        struct Prepare: PositionPatternVisitor {
            let q: ClosedRange<Int>
            func visit<P: PositionPattern>(_ p: P) -> any PositionPattern { p.prepared(for: q) }
        }
        return visitPattern(Prepare(q: ClosedRange(q)), queries: queries, keys: keys)
    }
}
