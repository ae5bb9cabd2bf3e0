/// A key/value cache for many sequences sharing one pool of fixed-size blocks, with a
/// block table per sequence (vLLM's PagedAttention): sequences of very different lengths
/// share memory without padding, and freeing a sequence returns its blocks to the pool.
///
/// Each block holds `blockSize` positions of every key/value head. The pool is allocated
/// once, as keys `[Hkv, blockCount·blockSize, D]` and values `[Hkv, blockCount·blockSize, Dv]`
/// (block `j` is positions `j·blockSize ..< (j+1)·blockSize` of each head), so the blocks a
/// sequence took in order read as one stream per head.
///
/// A value type: a copy shares the pool until one of them writes (then the pool is copied).
///
/// Sequences can share blocks: ``fork(sequence:)`` starts a sequence with another's
/// positions without copying them (beam search, parallel sampling from one prompt). A shared
/// partly filled last block is copied only when one of them appends into it; whole blocks
/// stay shared until every sequence holding them drops them.
///
/// ```swift
/// var cache = try PagedKVCache(kvHeads: 8, headDim: 128, blockSize: 16, blockCount: 4096)
/// let s = cache.addSequence()
/// try cache.append(keys: k, values: v, sequence: s)   // [8, S, 128]
/// let out = try decodeAttention(query: q, cache: cache, sequences: [s])
/// ```
public struct PagedKVCache: Sendable {
    /// Key/value heads `Hkv`, key and value features `D`, `Dv`.
    public let kvHeads: Int, headDim: Int, valueDim: Int
    /// Positions per block and blocks in the pool.
    public let blockSize: Int, blockCount: Int
    /// The element type stored.
    public let dtype: DType
    private var pool: KVPage
    /// Free blocks, the next one to hand out last.
    private var freeList: [Int]
    /// Per block, the live sequences whose tables hold it (0 for a free block).
    private var references: [Int]
    private var tables: [Int: (blocks: [Int], length: Int)] = [:]
    private var nextID = 0

    /// An empty cache with a pool of `blockCount` blocks of `blockSize` positions.
    /// - Throws: ``AttentionError`` naming the argument that is out of range, or `blockCount`
    ///   when the pool's size overflows or cannot be allocated (larger than physical memory,
    ///   or refused by the system).
    public init(
        kvHeads: Int, headDim: Int, valueDim: Int? = nil, blockSize: Int, blockCount: Int,
        dtype: DType = .f32
    ) throws {
        let valueDim = valueDim ?? headDim
        for (name, value) in [
            ("kvHeads", kvHeads), ("headDim", headDim), ("valueDim", valueDim),
            ("blockSize", blockSize),
        ] where value < 1 {
            throw AttentionError.argument(name, "expected ≥ 1, got \(value)")
        }
        guard blockCount >= 0 else {
            throw AttentionError.argument("blockCount", "expected ≥ 0, got \(blockCount)")
        }
        guard blockCount <= Int.max / blockSize,
            KVPage.byteCount(
                units: 1, heads: kvHeads, tokens: blockCount * blockSize, headDim: headDim,
                valueDim: valueDim, dtype: dtype) != nil
        else {
            throw AttentionError.argument("blockCount", "the pool's byte count overflows Int")
        }
        (self.kvHeads, self.headDim, self.valueDim, self.dtype) = (
            kvHeads, headDim, valueDim, dtype
        )
        (self.blockSize, self.blockCount) = (blockSize, blockCount)
        // Laid out [Hkv, blocks·blockSize, D]: block j is slots j·blockSize ..< (j+1)·blockSize
        // of every head, so a head's blocks handed out in order are one contiguous stream.
        pool = try KVPage(
            units: 1, heads: kvHeads, tokens: blockCount * blockSize, headDim: headDim,
            valueDim: valueDim, dtype: dtype, panelUnit: blockSize, argument: "blockCount")
        freeList = Array((0..<blockCount).reversed())
        references = Array(repeating: 0, count: blockCount)
    }

    /// Blocks not used by any sequence (a shared block stays in use until no sequence holds
    /// it).
    public var freeBlockCount: Int { freeList.count }

    /// The live sequences' identifiers, ascending.
    public var sequences: [Int] { tables.keys.sorted() }

    /// Starts an empty sequence and returns its identifier (never reused).
    public mutating func addSequence() -> Int {
        defer { nextID += 1 }
        tables[nextID] = ([], 0)
        return nextID
    }

    /// Starts a sequence holding the same positions as sequence `id` and returns its
    /// identifier. The two share `id`'s blocks: nothing is copied and no block is taken now.
    /// The first append to either of them into a shared, partly filled last block copies
    /// that block to a free one first.
    /// - Throws: ``AttentionError`` naming `sequence` when `id` is not live.
    public mutating func fork(sequence id: Int) throws -> Int {
        let t = try table(id)
        for block in t.blocks { references[block] += 1 }
        let child = addSequence()
        tables[child] = t
        return child
    }

    private func table(_ id: Int) throws -> (blocks: [Int], length: Int) {
        guard let t = tables[id] else {
            throw AttentionError.argument("sequence", "no live sequence \(id) in this cache")
        }
        return t
    }

    /// Sequence `id`'s block table and length, to hand back to ``restore(sequence:to:)``.
    func savedTable(sequence id: Int) throws -> (blocks: [Int], length: Int) { try table(id) }

    /// Undoes the appends to sequence `id` since `saved` (``savedTable(sequence:)``) was
    /// taken. Appends to several sequences are undone last first, with nothing else changed
    /// in between: the blocks taken since go back onto the free list in reverse, so it ends
    /// as it was, and a shared block that an append copied is held again (its copy freed).
    /// Block tables, references and the free list are then exactly as before. (`trim` would
    /// keep the copy.)
    mutating func restore(sequence id: Int, to saved: (blocks: [Int], length: Int)) {
        guard let current = tables[id] else { return }
        let (now, before) = (Set(current.blocks), Set(saved.blocks))
        for block in saved.blocks where !now.contains(block) { references[block] += 1 }
        for block in current.blocks.reversed() where !before.contains(block) {
            references[block] -= 1
            if references[block] == 0 { freeList.append(block) }
        }
        tables[id] = saved
    }

    /// Positions stored for sequence `id`.
    /// - Throws: ``AttentionError`` naming `sequence` when `id` is not live.
    public func length(sequence id: Int) throws -> Int { try table(id).length }

    /// The blocks of sequence `id` in position order (block `i` holds positions
    /// `i·blockSize ..< (i+1)·blockSize`).
    /// - Throws: ``AttentionError`` naming `sequence` when `id` is not live.
    public func blockTable(sequence id: Int) throws -> [Int] { try table(id).blocks }

    /// Appends `S` positions to sequence `id`, taking blocks from the pool as needed (and one
    /// more when its partly filled last block is shared with a fork: that block is copied
    /// before it is written).
    /// - Parameters:
    ///   - keys: `[Hkv, S, D]` or `[1, Hkv, S, D]`.
    ///   - values: `[Hkv, S, Dv]` or `[1, Hkv, S, Dv]`.
    /// - Throws: ``AttentionError`` naming `sequence` (not live), `keys`/`values` (shapes),
    ///   `blockCount` when the pool has too few free blocks, or `keys` when the copy of a pool
    ///   shared with another value cannot be allocated (the cache is then unchanged).
    public mutating func append(keys: Tensor, values: Tensor, sequence id: Int) throws {
        var t = try table(id)
        let (k, v) = try KVInput.pair(
            keys: keys, values: values, heads: kvHeads, headDim: headDim, valueDim: valueDim,
            batch: nil)
        guard k.length <= Int.max / 2 - t.length else {
            throw AttentionError.argument(
                "keys", "appending \(k.length) positions overflows the length")
        }
        let end = t.length + k.length
        // The last block, partly filled and shared with a fork, is written only after a copy.
        let sharedTail =
            k.length > 0 && t.length % blockSize != 0 && references[t.blocks.last!] > 1
        let needed = (end + blockSize - 1) / blockSize - t.blocks.count + (sharedTail ? 1 : 0)
        guard needed <= freeList.count else {
            throw AttentionError.argument(
                "blockCount",
                "sequence \(id) needs \(needed) more blocks of \(blockSize) positions; \(freeList.count) of \(blockCount) are free"
            )
        }
        // Copy-on-write of a shared pool first: if it cannot be allocated, nothing changed.
        if k.length > 0, !isKnownUniquelyReferenced(&pool) {
            pool = try pool.copy(argument: "keys")
        }
        if sharedTail {
            let (shared, copy) = (t.blocks.removeLast(), freeList.removeLast())
            pool.copySlots(
                unit: 0, from: shared * blockSize, to: copy * blockSize, count: blockSize)
            references[shared] -= 1
            references[copy] = 1
            t.blocks.append(copy)
        }
        while t.blocks.count * blockSize < end {
            t.blocks.append(freeList.removeLast())
            references[t.blocks.last!] = 1
        }
        let table = HalfConversion.machine
        for s in 0..<k.length {
            let pos = t.length + s
            pool.store(
                keys: k, values: v, batchEntry: 0, position: s,
                unit: 0, slot: t.blocks[pos / blockSize] * blockSize + pos % blockSize, using: table
            )
        }
        t.length = end
        tables[id] = t
    }

    /// Keeps the first `length` positions of sequence `id`; blocks past them return to the
    /// pool unless a fork still holds them.
    /// - Throws: ``AttentionError`` naming `sequence` or `length`.
    public mutating func trim(sequence id: Int, to length: Int) throws {
        var t = try table(id)
        guard length >= 0 && length <= t.length else {
            throw AttentionError.argument("length", "expected 0...\(t.length), got \(length)")
        }
        let keep = (length + blockSize - 1) / blockSize
        // Blocks no other sequence holds return to the pool.
        for block in t.blocks[keep...].reversed() {
            references[block] -= 1
            if references[block] == 0 { freeList.append(block) }
        }
        t.blocks.removeSubrange(keep...)
        t.length = length
        tables[id] = t
    }

    /// Ends sequence `id` and returns its blocks to the pool (those a fork does not hold).
    /// - Throws: ``AttentionError`` naming `sequence` when `id` is not live.
    public mutating func free(sequence id: Int) throws {
        try trim(sequence: id, to: 0)
        tables[id] = nil
    }

    /// The stored keys and values of sequence `id` as `Float` tensors `[Hkv, n, D]`,
    /// `[Hkv, n, Dv]` (a copy; for inspection and tests).
    /// - Throws: ``AttentionError`` naming `sequence` when `id` is not live.
    public func stored(sequence id: Int) throws -> (keys: Tensor, values: Tensor) {
        try view(sequences: [id]).materialize(sequence: 0)
    }

    /// What the decode kernel reads for `ids` (batch entry `i` is sequence `ids[i]`).
    func view(sequences ids: [Int]) throws -> KVCacheView {
        var segments: [[KVSegment]] = [], lengths: [Int] = []
        for id in ids {
            let t = try table(id)
            segments.append(
                t.blocks.enumerated().map { i, block in
                    pool.segment(
                        unit: 0, slot: block * blockSize, first: i * blockSize,
                        count: Swift.min(blockSize, t.length - i * blockSize))
                })
            lengths.append(t.length)
        }
        return KVCacheView(
            dtype: dtype, kvHeads: kvHeads, headDim: headDim, valueDim: valueDim,
            lengths: lengths, starts: Array(repeating: 0, count: ids.count), segments: segments,
            window: nil)
    }
}
