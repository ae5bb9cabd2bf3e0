import Attention

/// How a sequence of `S` positions is split among the `P` ranks of a ring.
public enum RingSharding: String, Sendable, CaseIterable {
    /// Rank `r` holds positions `⌊r·S/P⌋ ..< ⌊(r+1)·S/P⌋`: one contiguous shard. Right for
    /// attention without a mask and for sliding windows (a rank needs only its neighbours).
    case contiguous
    /// The sequence is cut into `2P` chunks and rank `r` holds chunks `r` and `2P−1−r`
    /// (in that order). Under a causal mask every rank then does the same work (Megatron-LM's
    /// and PyTorch's load-balanced "zig-zag" context parallelism).
    case zigzag
}

/// Which positions of the sequence each rank of a ring holds.
///
/// Lengths not divisible by `P` (or `2P`) are fine: chunk `c` of `n` is
/// `⌊c·S/n⌋ ..< ⌊(c+1)·S/n⌋`, so chunk lengths differ by at most one.
///
/// ```swift
/// let layout = try RingLayout(sequenceLength: 1000, ranks: 4, sharding: .zigzag)
/// layout.chunks(rank: 1)      // [125..<250, 750..<875]
/// let myQuery = try layout.shard(fullQuery, rank: 1)   // [B, H, 250, D]
/// ```
public struct RingLayout: Sendable, Hashable {
    /// `S`, the full sequence length.
    public let sequenceLength: Int
    /// `P`, the number of ranks.
    public let ranks: Int
    /// How positions are split.
    public let sharding: RingSharding

    /// - Throws: ``AttentionError`` naming `sequenceLength` (negative) or `ranks` (< 1).
    public init(sequenceLength: Int, ranks: Int, sharding: RingSharding) throws {
        guard sequenceLength >= 0 else {
            throw AttentionError.argument(
                "sequenceLength", "expected ≥ 0, got \(sequenceLength)")
        }
        guard ranks >= 1 && ranks <= 1 << 20 else {
            throw AttentionError.argument("ranks", "expected 1...\(1 << 20), got \(ranks)")
        }
        self.sequenceLength = sequenceLength
        self.ranks = ranks
        self.sharding = sharding
    }

    /// The global position ranges `rank` holds, in the order they are stored locally.
    public func chunks(rank: Int) -> [Range<Int>] {
        precondition(rank >= 0 && rank < ranks, "rank \(rank) outside 0..<\(ranks)")
        switch sharding {
        case .contiguous: return [chunk(rank, of: ranks)]
        case .zigzag:
            return [chunk(rank, of: 2 * ranks), chunk(2 * ranks - 1 - rank, of: 2 * ranks)]
        }
    }

    /// How many positions `rank` holds.
    public func length(rank: Int) -> Int { chunks(rank: rank).reduce(0) { $0 + $1.count } }

    /// The rows of `tensor` (positions along `axis`, default 2 of `[B, H, S, D]`) that
    /// `rank` holds, in local order; contiguous.
    /// - Throws: ``AttentionError`` naming `tensor` when its axis is not `S` long.
    public func shard(_ tensor: Tensor, rank: Int, axis: Int = 2) throws -> Tensor {
        guard axis >= 0 && axis < tensor.rank && tensor.shape[axis] == sequenceLength else {
            throw AttentionError.shape(
                "tensor", expected: "\(sequenceLength) positions on axis \(axis)",
                actual: tensor.shape)
        }
        let pieces = try chunks(rank: rank).map { try tensor.sliced(axis: axis, range: $0) }
        return try Tensor.concatenating(pieces, axis: axis)
    }

    /// The inverse of ``shard(_:rank:axis:)``: the full tensor from every rank's shard.
    /// - Throws: ``AttentionError`` naming `shards` when their count or lengths do not fit.
    public func unshard(_ shards: [Tensor], axis: Int = 2) throws -> Tensor {
        guard shards.count == ranks else {
            throw AttentionError.argument(
                "shards", "expected \(ranks) shards (one per rank), got \(shards.count)")
        }
        var pieces = [(Range<Int>, Tensor)]()
        for (rank, shard) in shards.enumerated() {
            guard axis >= 0 && axis < shard.rank && shard.shape[axis] == length(rank: rank) else {
                throw AttentionError.shape(
                    "shards",
                    expected: "\(length(rank: rank)) positions on axis \(axis) for rank \(rank)",
                    actual: shard.shape)
            }
            var start = 0
            for range in chunks(rank: rank) {
                pieces.append(
                    (range, try shard.sliced(axis: axis, range: start..<start + range.count)))
                start += range.count
            }
        }
        pieces.sort { $0.0.lowerBound < $1.0.lowerBound }
        return try Tensor.concatenating(pieces.map(\.1), axis: axis)
    }

    private func chunk(_ index: Int, of count: Int) -> Range<Int> {
        // Multiply in wider arithmetic: index · S may exceed Int for huge S only in theory,
        // but the layout is built from user sizes.
        let s = sequenceLength.multipliedFullWidth(by: index)
        let t = sequenceLength.multipliedFullWidth(by: index + 1)
        let lower = Int(truncatingIfNeeded: count.dividingFullWidth(s).quotient)
        let upper = Int(truncatingIfNeeded: count.dividingFullWidth(t).quotient)
        return lower..<upper
    }
}
