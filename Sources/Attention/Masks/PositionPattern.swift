/// The rule of one structured mask kind on absolute positions: what
/// ``AttentionMask/isVisible(query:key:queries:keys:batch:head:)``,
/// ``AttentionMask/classify(queryRange:keyRange:queries:keys:batch:head:)`` and ``BlockMask``
/// need from it. Tiles arrive as non-empty closed ranges `q = q0…q1`, `k = k0…k1`.
///
/// Each conforming type holds its parameters already sanitised (a stride below 1 counts as 1,
/// and so on), so no input can trap here; ``AttentionMask/validate(batch:heads:queries:keys:)``
/// is where bad parameters are reported.
protocol PositionPattern {
    /// Whether query `i` sees key `j`.
    func isVisible(_ i: Int, _ j: Int) -> Bool
    /// `.empty` only if no entry of the tile is visible, `.full` only if all are.
    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind
    /// A key range outside which every key is hidden for every query in `q` (unclamped).
    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int>
    /// Key ranges outside which every key is hidden for every query in `q` (unclamped); finer
    /// than ``keyBounds(_:)`` for patterns with global columns or random keys.
    func keySpans(_ q: ClosedRange<Int>) -> KeySpans
    /// This pattern with work for the query range `q` done ahead (BigBird's random keys), for
    /// classifying many key ranges against the same rows. Most patterns need nothing.
    func prepared(for q: ClosedRange<Int>) -> Self
}

/// A computation over whichever ``PositionPattern`` a structured mask is; the switch in
/// ``AttentionMask/visitPattern(_:queries:keys:)`` hands it the concrete type, so release
/// builds specialise every call (no existential boxes on the per-element path).
protocol PositionPatternVisitor {
    associatedtype Result
    func visit<P: PositionPattern>(_ pattern: P) -> Result
}

/// Every key (the caller clamps to `0..<keys`).
let allKeys = Int.min..<Int.max

/// `lo..<hi`, or an empty range at `lo` when `hi < lo`.
@inline(__always) func span(_ lo: Int, _ hi: Int) -> Range<Int> { lo..<Swift.max(lo, hi) }

/// `⌈a / b⌉` for `b > 0` and any sign of `a`.
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? (a + b - 1) / b : -((-a) / b)
}

/// The smallest multiple of `m > 0` that is `≥ a`.
@inline(__always) func nextMultiple(of m: Int, atLeast a: Int) -> Int { ceilDiv(a, m) * m }

extension PositionPattern {
    func prepared(for q: ClosedRange<Int>) -> Self { self }
    func keySpans(_ q: ClosedRange<Int>) -> KeySpans { KeySpans(keyBounds(q)) }
}

/// Every key visible (``AttentionMask/none``).
struct NoMaskPattern: PositionPattern {
    func isVisible(_ i: Int, _ j: Int) -> Bool { true }
    func classify(_ q: ClosedRange<Int>, _ k: ClosedRange<Int>) -> BlockKind { .full }
    func keyBounds(_ q: ClosedRange<Int>) -> Range<Int> { allKeys }
}
