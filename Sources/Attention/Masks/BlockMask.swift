/// A mask classified at tile granularity: for each query block, the key blocks that have
/// anything visible, each marked ``BlockKind/full`` (no per-element work) or
/// ``BlockKind/partial`` (elements tested). The fused kernel visits only these blocks
/// (FlexAttention's BlockMask). Build it once and reuse it for a mask that does not change.
public struct BlockMask: Sendable {
    public let queries: Int
    public let keys: Int
    public let queryBlockSize: Int
    public let keyBlockSize: Int
    /// `starts[qb]..<starts[qb + 1]` indexes `keyBlocks`/`kinds` for query block `qb`.
    let starts: [Int]
    let keyBlocks: [Int32]
    let kinds: [BlockKind]

    /// Classifies every tile of `mask` for one (batch, head).
    ///
    /// Each query block is prepared once (see `QueryBlockClassifier`) and only the key blocks
    /// meeting its visible key spans are classified, each in O(1) for structured masks; tiles
    /// of tensor masks are scanned.
    public init(
        mask: AttentionMask, queries: Int, keys: Int, queryBlockSize: Int, keyBlockSize: Int,
        batch: Int = 0, head: Int = 0
    ) {
        precondition(queryBlockSize > 0 && keyBlockSize > 0)
        self.queries = queries
        self.keys = keys
        self.queryBlockSize = queryBlockSize
        self.keyBlockSize = keyBlockSize
        let qBlocks = (queries + queryBlockSize - 1) / queryBlockSize
        var starts = [0], blocks: [Int32] = [], kinds: [BlockKind] = []
        var full: [Int32] = []
        for qb in 0..<qBlocks {
            let qRange = qb * queryBlockSize..<Swift.min(queries, (qb + 1) * queryBlockSize)
            let row = QueryBlockClassifier(
                mask: mask, queryRange: qRange, queries: queries, keys: keys,
                batch: batch, head: head)
            // Only key blocks meeting the row's visible key spans can hold anything visible.
            let classify = row.classify
            full.removeAll(keepingCapacity: true)
            row.keySpans.forEachBlock(size: keyBlockSize) { kb in
                let kRange = kb * keyBlockSize..<Swift.min(keys, (kb + 1) * keyBlockSize)
                switch classify(kRange) {
                case .empty: break
                case .partial: blocks.append(Int32(kb)); kinds.append(.partial)
                case .full: full.append(Int32(kb))
                }
            }
            // Partial blocks first, then the unmasked run (FlashAttention-2's order).
            blocks += full
            kinds += repeatElement(.full, count: full.count)
            starts.append(blocks.count)
        }
        self.starts = starts
        self.keyBlocks = blocks
        self.kinds = kinds
    }

    /// Number of query blocks.
    public var queryBlockCount: Int { starts.count - 1 }

    /// The visited key blocks of query block `qb`, partial ones first.
    public func visits(forQueryBlock qb: Int) -> [(keyBlock: Int, kind: BlockKind)] {
        (starts[qb]..<starts[qb + 1]).map { (Int(keyBlocks[$0]), kinds[$0]) }
    }

    /// Total number of tiles the kernel visits.
    public var visitedBlockCount: Int { keyBlocks.count }

    /// Number of partial tiles.
    public var partialBlockCount: Int { kinds.reduce(0) { $0 + ($1 == .partial ? 1 : 0) } }
}

extension BlockMask {
    /// The classification the fused kernel would build for `mask` with its default tile
    /// sizes, to pass as ``AttentionOptions/blockMask`` and reuse across calls.
    public static func forFusedKernel(mask: AttentionMask, queries: Int, keys: Int) -> BlockMask {
        let (bq, bk) = ResolvedExecution.tileSize(for: mask, queryBlock: nil, keyBlock: nil)
        return BlockMask(
            mask: mask, queries: queries, keys: keys, queryBlockSize: bq, keyBlockSize: bk)
    }

    /// The classification the fused kernel would build for `mask` under `execution`'s tile
    /// sizes (``ExecutionOptions/queryBlock``, ``ExecutionOptions/keyBlock``).
    /// - Throws: ``AttentionError`` naming an invalid tile size.
    public static func forFusedKernel(
        mask: AttentionMask, queries: Int, keys: Int, execution: ExecutionOptions
    ) throws -> BlockMask {
        let (bq, bk) = try execution.resolved().tileSize(for: mask)
        return BlockMask(
            mask: mask, queries: queries, keys: keys, queryBlockSize: bq, keyBlockSize: bk)
    }
}
