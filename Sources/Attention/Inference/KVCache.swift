/// The keys and values of earlier positions for one attention layer, for decoding:
/// `[B, Hkv, capacity, D]` keys and `[B, Hkv, capacity, Dv]` values, with a length per
/// sequence.
///
/// Storage grows by pages: the first holds `capacity` positions, each later one
/// `pageTokens`. Appending never copies or moves what is already stored, so a cache can
/// start small. With a `window` the cache is a ring buffer that keeps only the last `W`
/// positions of each sequence (sliding-window attention; Mistral's rolling cache) and never
/// holds more.
///
/// Positions are absolute: sequence `b` holds positions ``storedRange(sequence:)``, its
/// ``lengths``[b] counts every position ever appended (minus trims), and new positions get
/// the RoPE offset `lengths[b]`.
///
/// A value type: copies share pages until one of them writes (copy-on-write per page).
///
/// ```swift
/// var cache = try KVCache(batch: 1, kvHeads: 8, headDim: 128, capacity: 4096)
/// try cache.append(keys: k, values: v)                 // [1, 8, S, 128]
/// let out = try decodeAttention(query: q, cache: cache) // q [1, 32, Sq, 128]
/// ```
public struct KVCache: Sendable {
    /// Sequences `B`, key/value heads `Hkv`, key and value features `D`, `Dv`.
    public let batch: Int, kvHeads: Int, headDim: Int, valueDim: Int
    /// The element type stored.
    public let dtype: DType
    /// Positions per page after the first.
    public let pageTokens: Int
    /// The sliding window `W` (ring buffer of the last `W` positions), or `nil`.
    public let window: Int?
    /// Positions appended to each sequence (absolute: the next position's index).
    public private(set) var lengths: [Int]
    /// First position each sequence still holds (`> 0` once a ring buffer wrapped).
    private var starts: [Int]
    /// Pages in position order; page `i` holds positions `firsts[i] ..< firsts[i] + tokens`.
    private var pages: [KVPage] = []
    private var firsts: [Int] = []

    /// A cache with room for `capacity` positions per sequence, growing by `pageTokens`.
    /// - Parameters:
    ///   - batch: sequences `B` ≥ 1.
    ///   - kvHeads: key/value heads `Hkv` ≥ 1.
    ///   - headDim: key features `D` ≥ 1.
    ///   - valueDim: value features `Dv` (default `D`).
    ///   - capacity: positions allocated now, ≥ 0.
    ///   - pageTokens: positions per later page, ≥ 1 (default `max(capacity, 256)`).
    ///   - dtype: element type stored (default `.f32`).
    /// - Throws: ``AttentionError`` naming the argument that is out of range, or `capacity`
    ///   when the storage size overflows or cannot be allocated (larger than physical memory,
    ///   or refused by the system).
    public init(
        batch: Int, kvHeads: Int, headDim: Int, valueDim: Int? = nil, capacity: Int,
        pageTokens: Int? = nil, dtype: DType = .f32
    ) throws {
        try self.init(
            batch: batch, kvHeads: kvHeads, headDim: headDim, valueDim: valueDim,
            capacity: capacity, pageTokens: pageTokens, window: nil, dtype: dtype)
    }

    /// A sliding-window cache: a ring buffer keeping the last `window` positions of each
    /// sequence (allocated once; it never grows or holds more).
    /// - Throws: ``AttentionError`` naming the argument that is out of range, or `capacity`
    ///   when the ring cannot be allocated.
    public init(
        batch: Int, kvHeads: Int, headDim: Int, valueDim: Int? = nil, window: Int,
        dtype: DType = .f32
    ) throws {
        guard window >= 1 else {
            throw AttentionError.argument("window", "expected ≥ 1, got \(window)")
        }
        try self.init(
            batch: batch, kvHeads: kvHeads, headDim: headDim, valueDim: valueDim, capacity: window,
            pageTokens: window, window: window, dtype: dtype)
    }

    private init(
        batch: Int, kvHeads: Int, headDim: Int, valueDim: Int?, capacity: Int,
        pageTokens: Int?, window: Int?, dtype: DType
    ) throws {
        let valueDim = valueDim ?? headDim
        for (name, value) in [
            ("batch", batch), ("kvHeads", kvHeads), ("headDim", headDim), ("valueDim", valueDim),
            ("pageTokens", pageTokens ?? 1),
        ] where value < 1 {
            throw AttentionError.argument(name, "expected ≥ 1, got \(value)")
        }
        guard capacity >= 0 else {
            throw AttentionError.argument("capacity", "expected ≥ 0, got \(capacity)")
        }
        (self.batch, self.kvHeads, self.headDim, self.valueDim) = (
            batch, kvHeads, headDim, valueDim
        )
        self.dtype = dtype
        self.pageTokens = pageTokens ?? Swift.max(capacity, 256)
        self.window = window
        lengths = []
        starts = []
        for (name, tokens) in [("capacity", capacity), ("pageTokens", self.pageTokens)] {
            guard pageBytes(tokens) != nil, batch <= Int.max / 64 else {
                throw AttentionError.argument(
                    name,
                    "\(tokens) positions of \(batch)×\(kvHeads)×(\(headDim)+\(valueDim)) elements overflow"
                )
            }
        }
        lengths = Array(repeating: 0, count: batch)
        starts = lengths
        if capacity > 0 { try addPage(tokens: capacity, argument: "capacity") }
    }

    /// Positions allocated per sequence (stored or not).
    public var capacity: Int { pages.reduce(0) { $0 + $1.tokens } }

    /// The absolute positions sequence `b` holds: `0 ..< lengths[b]`, or the last `W` of them
    /// for a sliding-window cache.
    public func storedRange(sequence b: Int) -> Range<Int> { starts[b]..<lengths[b] }

    private func pageBytes(_ tokens: Int) -> Int? {
        KVPage.byteCount(
            units: batch, heads: kvHeads, tokens: tokens, headDim: headDim, valueDim: valueDim,
            dtype: dtype)
    }

    private mutating func addPage(tokens: Int, argument: String) throws {
        let page = try KVPage(
            units: batch, heads: kvHeads, tokens: tokens, headDim: headDim, valueDim: valueDim,
            dtype: dtype, alreadyHeld: pages.reduce(0) { $0 &+ $1.storageBytes },
            argument: argument)
        firsts.append(capacity)
        pages.append(page)
    }

    /// Copies the pages holding `positions` that this value shares with another
    /// (copy-on-write) before anything is written, so that an append that cannot allocate
    /// throws with nothing changed; pages it will not write stay shared.
    private mutating func makePagesUnique(writing positions: Range<Int>) throws {
        guard !positions.isEmpty, !pages.isEmpty else { return }
        let first = locate(positions.lowerBound).page
        let last = window == nil ? locate(positions.upperBound - 1).page : pages.count - 1
        for i in first...last where !isKnownUniquelyReferenced(&pages[i]) {
            pages[i] = try pages[i].copy(argument: "keys")
        }
    }

    /// Appends `S` positions to every sequence.
    /// - Parameters:
    ///   - keys: `[B, Hkv, S, D]` (any strides).
    ///   - values: `[B, Hkv, S, Dv]`.
    /// - Throws: ``AttentionError`` naming `keys` or `values` when a shape does not fit, or
    ///   `keys` when a new page (or the copy of a page shared with another value) cannot be
    ///   allocated; the cache is then unchanged.
    public mutating func append(keys: Tensor, values: Tensor) throws {
        let (k, v) = try KVInput.pair(
            keys: keys, values: values, heads: kvHeads, headDim: headDim, valueDim: valueDim,
            batch: batch)
        try reserve(lengths.map { $0 + k.length }, count: k.length)
        for b in 0..<batch { store(k, v, batchEntry: b, sequence: b) }
    }

    /// Appends `S` positions to sequence `b` alone (continuous batching: sequences of
    /// different lengths).
    /// - Parameters:
    ///   - keys: `[Hkv, S, D]` or `[1, Hkv, S, D]`.
    ///   - values: `[Hkv, S, Dv]` or `[1, Hkv, S, Dv]`.
    ///   - sequence: `b` in `0..<B`.
    /// - Throws: ``AttentionError`` naming `sequence`, `keys` or `values` (as above).
    public mutating func append(keys: Tensor, values: Tensor, sequence b: Int) throws {
        try checkSequence(b)
        let (k, v) = try KVInput.pair(
            keys: keys, values: values, heads: kvHeads, headDim: headDim, valueDim: valueDim,
            batch: nil)
        var target = lengths
        target[b] += k.length
        try reserve(target, count: k.length)
        store(k, v, batchEntry: 0, sequence: b)
    }

    /// Checks the new lengths and adds the pages they need (no page is ever moved).
    private mutating func reserve(_ target: [Int], count: Int) throws {
        guard count <= Int.max / 2 - (lengths.max() ?? 0) else {
            throw AttentionError.argument(
                "keys", "appending \(count) positions overflows the length")
        }
        if window == nil {
            let needed = target.max() ?? 0
            while capacity < needed { try addPage(tokens: pageTokens, argument: "keys") }
        }
        // The positions written: from the shortest growing sequence's end to the longest end.
        let growing = lengths.indices.filter { target[$0] > lengths[$0] }
        if let lo = growing.map({ lengths[$0] }).min(), let hi = growing.map({ target[$0] }).max() {
            try makePagesUnique(writing: lo..<hi)
        }
    }

    /// Writes the inputs' `S` positions of `batchEntry` after sequence `b`'s last position.
    private mutating func store(_ k: KVInput, _ v: KVInput, batchEntry e: Int, sequence b: Int) {
        let n = k.length, l = lengths[b]
        // A ring buffer keeps only the last W of what it is given.
        let skip = window.map { Swift.max(0, n - $0) } ?? 0
        let table = HalfConversion.machine
        for s in skip..<n {
            let pos = l + s
            let (page, slot) = locate(pos)
            pages[page].store(
                keys: k, values: v, batchEntry: e, position: s, unit: b, slot: slot, using: table)
        }
        lengths[b] = l + n
        if let window { starts[b] = Swift.max(starts[b], lengths[b] - window) }
    }

    /// The page and slot of absolute position `pos`.
    private func locate(_ pos: Int) -> (page: Int, slot: Int) {
        if let window { return (0, pos % window) }
        let first = pages[0].tokens
        if pos < first { return (0, pos) }
        let i = (pos - first) / pageTokens
        return (1 + i, pos - first - i * pageTokens)
    }

    private func checkSequence(_ b: Int) throws {
        guard b >= 0 && b < batch else {
            throw AttentionError.argument("sequence", "expected 0..<\(batch), got \(b)")
        }
    }

    /// Drops positions at the end: sequence `b` (every sequence when `nil`) keeps its first
    /// `length` positions. Pages stay allocated for reuse.
    /// - Throws: ``AttentionError`` naming `length` (negative or beyond the sequence) or
    ///   `sequence`.
    public mutating func trim(to length: Int, sequence: Int? = nil) throws {
        if let sequence { try checkSequence(sequence) }
        for b in sequence.map({ [$0] }) ?? Array(0..<batch) {
            guard length >= 0 && length <= lengths[b] else {
                throw AttentionError.argument(
                    "length", "expected 0...\(lengths[b]) for sequence \(b), got \(length)")
            }
        }
        for b in sequence.map({ [$0] }) ?? Array(0..<batch) {
            lengths[b] = length
            starts[b] = Swift.min(starts[b], length)
        }
    }

    /// Empties every sequence (pages stay allocated for reuse).
    public mutating func reset() {
        lengths = Array(repeating: 0, count: batch)
        starts = lengths
    }

    /// The stored keys and values of sequence `b` as `Float` tensors, `[Hkv, n, D]` and
    /// `[Hkv, n, Dv]` with `n = storedRange(sequence: b).count` (a copy; for inspection and
    /// tests).
    /// - Throws: ``AttentionError`` naming `sequence` when out of range.
    public func stored(sequence b: Int) throws -> (keys: Tensor, values: Tensor) {
        try checkSequence(b)
        return view.materialize(sequence: b)
    }

    /// The addresses of the pages, in position order (tests: appending never moves a page).
    package var pageAddresses: [UInt] { pages.map(\.address) }

    /// What the decode kernel reads.
    var view: KVCacheView {
        var segments: [[KVSegment]] = []
        for b in 0..<batch {
            var list: [KVSegment] = []
            let (start, end) = (starts[b], lengths[b])
            if let window {
                // At most two runs: from `start`'s slot to the ring's end, then from slot 0.
                var pos = start
                while pos < end {
                    let slot = pos % window, n = Swift.min(end - pos, window - slot)
                    list.append(pages[0].segment(unit: b, slot: slot, first: pos, count: n))
                    pos += n
                }
            } else {
                for (page, first) in zip(pages, firsts) where first < end {
                    let n = Swift.min(page.tokens, end - first)
                    list.append(page.segment(unit: b, slot: 0, first: first, count: n))
                }
            }
            segments.append(list)
        }
        return KVCacheView(
            dtype: dtype, kvHeads: kvHeads, headDim: headDim, valueDim: valueDim,
            lengths: lengths, starts: starts, segments: segments, window: window)
    }
}
