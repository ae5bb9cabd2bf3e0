/// A mask specialised to one query range (a query block), so that the key blocks of a row of
/// tiles classify in O(1) each: per-range work (BigBird's random keys) is done once, and
/// ``keySpans`` says which keys can be visible at all, so ``BlockMask`` never looks at the
/// rest (FlashAttention-2's visible key-block range, for every structured kind; for BigBird
/// and Longformer, the window, the global columns and the random keys).
///
/// Classifications equal ``AttentionMask/classify(queryRange:keyRange:queries:keys:batch:head:)``
/// for the same tile. The mask tree is compiled once into closures over the concrete pattern
/// types (no enum switch, existential or reference counting per key block).
struct QueryBlockClassifier {
    let queryRange: Range<Int>
    /// Keys outside these spans are hidden for every query of the range (within `0..<keys`).
    let keySpans: KeySpans
    /// The kind of the tile `queryRange × keyRange` (`keyRange` non-empty).
    let classify: (Range<Int>) -> BlockKind

    /// `queryRange` must be non-empty.
    init(
        mask: AttentionMask, queryRange: Range<Int>, queries: Int, keys: Int, batch: Int, head: Int
    ) {
        precondition(!queryRange.isEmpty)
        self.queryRange = queryRange
        let all = 0..<Swift.max(keys, 0)
        let q = ClosedRange(queryRange)

        struct Compile: PositionPatternVisitor {
            let q: ClosedRange<Int>, all: Range<Int>
            func visit<P: PositionPattern>(_ p: P) -> (KeySpans, (Range<Int>) -> BlockKind) {
                let prepared = p.prepared(for: q), q = self.q
                return (
                    prepared.keySpans(q).clamped(to: all), { prepared.classify(q, ClosedRange($0)) }
                )
            }
        }

        func compile(_ m: AttentionMask) -> (KeySpans, (Range<Int>) -> BlockKind) {
            switch m {
            case .dense(let t), .additive(let t):
                let additive = if case .additive = m { true } else { false }
                return (
                    KeySpans(all),
                    { t.classifyBroadcast(batch, head, queryRange, $0, additive: additive) }
                )
            case .and(let a, let b):
                let (x, fx) = compile(a), (y, fy) = compile(b)
                return (
                    x.intersection(y),
                    { k in
                        let kx = fx(k)
                        if kx == .empty { return .empty }
                        return m.intersectionKind(
                            kx, fy(k), queryRange, k,
                            queries: queries, keys: keys, batch: batch, head: head)
                    }
                )
            case .or(let a, let b):
                let (x, fx) = compile(a), (y, fy) = compile(b)
                return (
                    x.union(y),
                    { k in
                        let kx = fx(k)
                        if kx == .full { return .full }
                        return AttentionMask.unionKind(kx, fy(k))
                    }
                )
            default:
                return m.visitPattern(Compile(q: q, all: all), queries: queries, keys: keys)
            }
        }
        (keySpans, classify) = compile(mask)
    }
}
