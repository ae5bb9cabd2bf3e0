/// A mask specialised to one query range (a query block), so that the key blocks of a row of
/// tiles classify in O(1) each: per-range work (BigBird's random keys) is done once, and
/// ``keyBounds`` says which keys can be visible at all, so ``BlockMask`` never looks at the
/// rest (FlashAttention-2's visible key-block range, for every structured kind).
///
/// Classifications equal ``AttentionMask/classify(queryRange:keyRange:queries:keys:batch:head:)``
/// for the same tile.
struct QueryBlockClassifier {
    let mask: AttentionMask
    let queryRange: Range<Int>
    let queries: Int, keys: Int, batch: Int, head: Int
    private let root: Node

    private indirect enum Node {
        case pattern(any PositionPattern)
        case tensor(Tensor, additive: Bool)
        case and(Node, Node, AttentionMask)
        case or(Node, Node)
    }

    /// `queryRange` must be non-empty.
    init(mask: AttentionMask, queryRange: Range<Int>, queries: Int, keys: Int, batch: Int, head: Int) {
        precondition(!queryRange.isEmpty)
        self.mask = mask
        self.queryRange = queryRange
        self.queries = queries
        self.keys = keys
        self.batch = batch
        self.head = head
        func build(_ m: AttentionMask) -> Node {
            switch m {
            case .dense(let t): return .tensor(t, additive: false)
            case .additive(let t): return .tensor(t, additive: true)
            case .and(let a, let b): return .and(build(a), build(b), m)
            case .or(let a, let b): return .or(build(a), build(b))
            default: return .pattern(m.preparedPattern(for: queryRange, queries: queries, keys: keys))
            }
        }
        root = build(mask)
    }

    /// Keys outside this range are hidden for every query of the range (clamped to `0..<keys`).
    var keyBounds: Range<Int> { bounds(root) }

    private func bounds(_ node: Node) -> Range<Int> {
        let all = 0..<Swift.max(keys, 0)
        switch node {
        case .pattern(let p): return p.keyBounds(ClosedRange(queryRange)).clamped(to: all)
        case .tensor: return all
        case .and(let a, let b, _):
            let x = bounds(a), y = bounds(b)
            return span(Swift.max(x.lowerBound, y.lowerBound), Swift.min(x.upperBound, y.upperBound))
        case .or(let a, let b):
            let x = bounds(a), y = bounds(b)
            if x.isEmpty { return y }
            if y.isEmpty { return x }
            return Swift.min(x.lowerBound, y.lowerBound)..<Swift.max(x.upperBound, y.upperBound)
        }
    }

    /// The kind of the tile `queryRange × keyRange`.
    func classify(_ keyRange: Range<Int>) -> BlockKind {
        if keyRange.isEmpty { return .empty }
        return classify(root, keyRange)
    }

    private func classify(_ node: Node, _ k: Range<Int>) -> BlockKind {
        switch node {
        case .pattern(let p): return p.classify(ClosedRange(queryRange), ClosedRange(k))
        case .tensor(let t, let additive):
            return t.classifyBroadcast(batch, head, queryRange, k, additive: additive)
        case .and(let a, let b, let m):
            let x = classify(a, k)
            if x == .empty { return .empty }
            return m.intersectionKind(x, classify(b, k), queryRange, k,
                                      queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            let x = classify(a, k)
            if x == .full { return .full }
            return AttentionMask.unionKind(x, classify(b, k))
        }
    }
}
