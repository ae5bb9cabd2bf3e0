/// Which keys each query may attend to, described by structure rather than as a matrix.
///
/// Positions are 0-based: query `i` in `0..<queries`, key `j` in `0..<keys`. Structured
/// masks cost nothing to store and let the fused kernel skip blocks that are entirely hidden
/// (see ``BlockMask``). ``materialize(queries:keys:batch:head:)`` turns any mask into a dense
/// 0/1 tensor for the reference path, tests and figures.
///
/// Tensor masks broadcast to `[B, H, Sq, Sk]` (NumPy rules, aligned right):
/// - ``dense(_:)``: boolean, nonzero = may attend, zero = blocked (PyTorch's bool `attn_mask`).
/// - ``additive(_:)``: added to the scaled scores; `-inf` blocks (PyTorch's float `attn_mask`).
///
/// A query that sees no key outputs zeros, never NaN.
public indirect enum AttentionMask: Sendable {
    /// Every query sees every key.
    case none
    /// Query `i` sees keys `j ≤ i` (top-left aligned, PyTorch `is_causal=True`).
    case causal
    /// Query `i` sees keys `j ≤ i + (keys − queries)`: the last query is aligned with the
    /// last key (decoding with a cache, FlashAttention's convention).
    case causalFromBottomRight
    /// A boolean mask tensor broadcastable to `[B, H, Sq, Sk]`; nonzero = may attend.
    case dense(Tensor)
    /// A float tensor broadcastable to `[B, H, Sq, Sk]`, added to the scaled scores.
    case additive(Tensor)
    /// Query `i` sees keys `i − left … i + right` (a local / sliding window). The seed's
    /// `create_local_mask(S, w)` is `slidingWindow(left: w / 2, right: w / 2)`.
    case slidingWindow(left: Int, right: Int)
    /// Visible where both masks are visible (additive parts add up).
    case and(AttentionMask, AttentionMask)
    /// Visible where either mask is visible.
    case or(AttentionMask, AttentionMask)
}

/// How much of a (query block × key block) tile a mask leaves visible.
public enum BlockKind: Sendable, Equatable {
    /// Nothing visible: the tile is skipped.
    case empty
    /// Everything visible and nothing to add: no per-element work.
    case full
    /// Some entries hidden or biased: elements are tested.
    case partial
}

extension AttentionMask {
    /// Intersects with another mask (`.and`).
    public func intersect(_ other: AttentionMask) -> AttentionMask { .and(self, other) }
    /// Unites with another mask (`.or`).
    public func union(_ other: AttentionMask) -> AttentionMask { .or(self, other) }

    /// Tensors inside the mask, for validation.
    var tensors: [(name: String, tensor: Tensor)] {
        switch self {
        case .dense(let t): return [("dense mask", t)]
        case .additive(let t): return [("additive mask", t)]
        case .and(let a, let b), .or(let a, let b): return a.tensors + b.tensors
        default: return []
        }
    }

    /// Whether the mask contains an additive part.
    var hasAdditive: Bool {
        switch self {
        case .additive: return true
        case .and(let a, let b), .or(let a, let b): return a.hasAdditive || b.hasAdditive
        default: return false
        }
    }

    /// Checks that every tensor in the mask broadcasts to `[batch, heads, queries, keys]`.
    /// - Throws: ``AttentionError`` naming `mask` and both shapes.
    public func validate(batch: Int, heads: Int, queries: Int, keys: Int) throws {
        let target = [batch, heads, queries, keys]
        for (name, t) in tensors {
            guard t.rank <= 4, let b = Tensor.broadcastShape(t.shape, target), b == target else {
                throw AttentionError.shape(
                    "mask", expected: "a \(name) broadcastable to \(target)", actual: t.shape)
            }
        }
        if case .or = self, hasAdditive {
            throw AttentionError.argument("mask", "an additive mask cannot be combined with .or")
        }
        try validateStructure(queries: queries, keys: keys)
    }

    /// Whether query `query` may attend to key `key` (additive parts count as visible unless
    /// they hold −inf).
    public func isVisible(query: Int, key: Int, queries: Int, keys: Int, batch: Int = 0, head: Int = 0) -> Bool {
        switch self {
        case .none: return true
        case .causal: return key <= query
        case .causalFromBottomRight: return key <= query + (keys - queries)
        case .dense(let t): return t.broadcastValue(batch, head, query, key) != 0
        case .additive(let t): return t.broadcastValue(batch, head, query, key) != -.infinity
        case .and(let a, let b):
            return a.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                && b.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        case .or(let a, let b):
            return a.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
                || b.isVisible(query: query, key: key, queries: queries, keys: keys, batch: batch, head: head)
        default:
            return isVisibleStructured(query: query, key: key, queries: queries, keys: keys)
        }
    }

    /// The additive bias at one entry (0 where the mask has no additive part).
    public func bias(query: Int, key: Int, batch: Int = 0, head: Int = 0) -> Float {
        switch self {
        case .additive(let t): return t.broadcastValue(batch, head, query, key)
        case .and(let a, let b): return a.bias(query: query, key: key, batch: batch, head: head)
            + b.bias(query: query, key: key, batch: batch, head: head)
        default: return 0
        }
    }

    /// Classifies the tile `queryRange × keyRange`. Never says `.empty` or `.full` wrongly;
    /// may say `.partial` when unsure.
    public func classify(queryRange: Range<Int>, keyRange: Range<Int>, queries: Int, keys: Int,
                         batch: Int = 0, head: Int = 0) -> BlockKind {
        if queryRange.isEmpty || keyRange.isEmpty { return .empty }
        switch self {
        case .none: return .full
        case .causal, .causalFromBottomRight:
            let shift = self.isCausalTopLeft ? 0 : keys - queries
            // Row i sees keys ≤ i + shift.
            if keyRange.lowerBound > queryRange.upperBound - 1 + shift { return .empty }
            if keyRange.upperBound - 1 <= queryRange.lowerBound + shift { return .full }
            return .partial
        case .dense(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: false)
        case .additive(let t):
            return t.classifyBroadcast(batch, head, queryRange, keyRange, additive: true)
        case .and(let a, let b):
            let x = a.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if x == .empty { return .empty }
            let y = b.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if y == .empty { return .empty }
            return x == .full && y == .full ? .full : .partial
        case .or(let a, let b):
            let x = a.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if x == .full { return .full }
            let y = b.classify(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys, batch: batch, head: head)
            if y == .full { return .full }
            return x == .empty && y == .empty ? .empty : .partial
        default:
            return classifyStructured(queryRange: queryRange, keyRange: keyRange, queries: queries, keys: keys)
        }
    }

    private var isCausalTopLeft: Bool {
        if case .causal = self { return true }
        return false
    }

    /// Whether visibility differs between batch entries or heads (tensor masks with
    /// leading axes larger than 1).
    public var dependsOnBatchOrHead: Bool {
        tensors.contains { t in
            let lead = Array((Array(repeating: 1, count: Swift.max(0, 4 - t.tensor.rank)) + t.tensor.shape).prefix(2))
            return lead.contains { $0 > 1 }
        }
    }

    /// The mask as a `[queries, keys]` tensor of 0/1 for one (batch, head).
    public func materialize(queries: Int, keys: Int, batch: Int = 0, head: Int = 0) -> Tensor {
        var values = [Float](repeating: 0, count: queries * keys)
        for i in 0..<queries {
            for j in 0..<keys where isVisible(query: i, key: j, queries: queries, keys: keys, batch: batch, head: head) {
                values[i * keys + j] = 1
            }
        }
        return Tensor(unchecked: [queries, keys], storage: values)
    }

    /// The fraction of visible entries in a `queries × keys` attention matrix (batch 0, head 0).
    public func density(queries: Int, keys: Int) -> Double {
        guard queries > 0 && keys > 0 else { return 0 }
        var visible = 0
        for i in 0..<queries {
            for j in 0..<keys where isVisible(query: i, key: j, queries: queries, keys: keys) { visible += 1 }
        }
        return Double(visible) / Double(queries * keys)
    }
}

extension Tensor {
    /// Element [b, h, i, j] of this tensor broadcast (right-aligned) to rank 4.
    func broadcastValue(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Float {
        let idx = [b, h, i, j]
        var index = offset
        for axis in 0..<rank {
            let a = axis + 4 - rank
            if shape[axis] != 1 { index += idx[a] * strides[axis] }
        }
        return storage[index]
    }

    /// Classifies a tile of a broadcast boolean (or additive) mask by scanning it.
    func classifyBroadcast(_ b: Int, _ h: Int, _ rows: Range<Int>, _ cols: Range<Int>, additive: Bool) -> BlockKind {
        var any = false, all = true
        for i in rows {
            for j in cols {
                let v = broadcastValue(b, h, i, j)
                let visible = additive ? v != -.infinity : v != 0
                any = any || visible
                all = all && visible
            }
        }
        if !any { return .empty }
        return additive ? .partial : (all ? .full : .partial)
    }
}
