import Attention
import Foundation

/// Context-parallel (ring) attention: each of `P` ranks holds `S/P` positions of the query,
/// key and value; key/value shards travel around the ring while every rank attends its
/// queries to the shard it holds, and the partial results merge exactly through their
/// log-sum-exps (Liu et al. 2023, "Ring Attention"; "context parallel" in Megatron-LM).
///
/// Shapes on each rank (`B` batch, `H` query heads, `Hkv` key/value heads, `S_r` the
/// rank's ``RingLayout/length(rank:)``): query `[B, H, S_r, D]`, key `[B, Hkv, S_r, D]`,
/// value `[B, Hkv, S_r, Dv]`; output `[B, H, S_r, Dv]`, log-sum-exp `[B, H, S_r]`. The rows
/// are the rank's positions in ``RingLayout/chunks(rank:)`` order (``RingLayout/shard(_:rank:axis:)``).
///
/// Each ring step posts the transfer of the next key/value shard (non-blocking) and then
/// runs the fused kernel on the current one, so communication hides behind compute.
/// Memory per rank: its inputs, two key/value shards (current and incoming) and
/// O(S/P · D) for the running output and the kernel's per-block result.
///
/// Masks: `.none`, `.causal` and `.slidingWindow` in global positions (and their bottom-right
/// forms, which equal them here: queries and keys are the same `S` positions). A causal mask uses
/// the zig-zag layout by default, so every rank does the same work, and skips blocks that
/// are hidden entirely; a sliding window visits only the shards it reaches (with contiguous
/// shards, the neighbours). GQA, ALiBi (the symmetric form not with a window open on both
/// sides) and every ``ExecutionOptions`` setting work as in
/// ``scaledDotProductAttention(query:key:value:options:)``; dropout and returned weights do not.
///
/// Precision: query, key and value share one ``DType``. bf16/f16 shards travel in their
/// 2 bytes per element (half the bytes of f32) and the kernel reads them directly; each
/// block's output (rounded to the dtype by the kernel) merges in fp32 through the fp32
/// log-sum-exp, and the merged output rounds to the dtype once at the end. The output has
/// the inputs' dtype, the log-sum-exp is fp32.
///
/// ```swift
/// let ring = try RingAttention(sequenceLength: s, ranks: comm.size,
///                              options: AttentionOptions(mask: .causal))
/// let q = try ring.layout.shard(fullQuery, rank: comm.rank)   // or your own shard
/// let result = try ring.forward(query: q, key: k, value: v, communicator: comm)
/// ```
public struct RingAttention: Sendable {
    /// Which positions each rank holds.
    public let layout: RingLayout
    /// The attention's options (mask in global positions).
    public let options: AttentionOptions
    let band: RingBand

    /// - Parameters:
    ///   - sequenceLength: `S`, the full sequence length.
    ///   - ranks: `P`, the ring's size.
    ///   - options: mask, scale, ALiBi, execution settings of each rank's kernel calls.
    ///   - sharding: default zig-zag for a causal mask, contiguous otherwise.
    /// - Throws: ``AttentionError`` naming `mask` (not none, causal or slidingWindow, top-left or
    ///   bottom-right), `dropout`,
    ///   `returnWeights`, `backend` (`.reference`), or the layout's arguments.
    public init(
        sequenceLength: Int, ranks: Int, options given: AttentionOptions = AttentionOptions(),
        sharding: RingSharding? = nil
    ) throws {
        var options = given
        // Self-attention: Sq = Sk = S, where the bottom-right alignment is the top-left one.
        switch options.mask {
        case .causalFromBottomRight: options.mask = .causal
        case .slidingWindowFromBottomRight(let left, let right):
            options.mask = .slidingWindow(left: left, right: right)
        default: break
        }
        band = try RingBand(options.mask)
        guard options.dropout == 0 else {
            throw AttentionError.argument("dropout", "ring attention does not support dropout")
        }
        guard !options.returnWeights else {
            throw AttentionError.argument(
                "returnWeights", "ring attention never materializes the weights")
        }
        if options.alibi?.form == .symmetric, let lower = band.lower, let upper = band.upper,
            lower < 0 && upper > 0
        {
            // A block off the diagonal would see keys on both sides of it: no longer one
            // linear bias per block (see RingBlock.plan).
            throw AttentionError.argument(
                "alibi",
                "symmetric ALiBi with a window open on both sides is not supported by ring attention; use the causal form or a one-sided window"
            )
        }
        guard options.backend != .reference else {
            throw AttentionError.argument("backend", "ring attention runs the fused kernel")
        }
        if case .causal = options.mask {
            layout = try RingLayout(
                sequenceLength: sequenceLength, ranks: ranks, sharding: sharding ?? .zigzag)
        } else {
            layout = try RingLayout(
                sequenceLength: sequenceLength, ranks: ranks, sharding: sharding ?? .contiguous)
        }
        options.blockMask = nil
        options.returnLogSumExp = true
        options.backend = .fused
        self.options = options
    }

    /// The sharded forward pass on this rank.
    /// - Throws: ``AttentionError`` naming `communicator` (its size is not ``RingLayout/ranks``),
    ///   `query`, `key` or `value` (shapes; key/value dtype differing from the query's), or the
    ///   kernel's errors.
    public func forward(
        query: Tensor, key: Tensor, value: Tensor, communicator: RingCommunicator
    ) throws -> (output: Tensor, logSumExp: Tensor, statistics: RingStatistics) {
        let shapes = try ShardShapes(self, communicator, query: query, key: key, value: value)
        let rank = communicator.rank
        var partial = PartialAttention(
            batch: shapes.batch, heads: shapes.heads, rows: shapes.rows, valueDim: shapes.valueDim)
        var stats = RingStatistics()
        let wire = WireFormat(dtype: query.dtype)
        for pass in try passes() {
            var (k, v) = (key.contiguous(), value.contiguous())
            for visit in 0..<pass.visits {
                let owner = mod(rank - pass.direction * visit)
                let next = mod(rank - pass.direction * (visit + 1))
                let more = visit + 1 < pass.visits
                let sends =
                    more
                    ? [
                        (try wire.encode(k), mod(rank + pass.direction)),
                        (try wire.encode(v), mod(rank + pass.direction)),
                    ] : []
                let receives =
                    more
                    ? [
                        (wire.wireShape(shapes.keyShape(next)), mod(rank - pass.direction)),
                        (wire.wireShape(shapes.valueShape(next)), mod(rank - pass.direction)),
                    ] : []
                let blocks =
                    visit == 0 && pass.skipsOwn ? [] : try plan(queryRank: rank, keyRank: owner)
                if blocks.isEmpty && !(visit == 0 && pass.skipsOwn) { stats.skippedShards += 1 }
                let start = DispatchTime.now()
                let (received, wait) = try communicator.exchange(
                    sending: sends, receiving: receives
                ) {
                    progress in
                    for block in blocks {
                        let result = try scaledDotProductAttention(
                            query: query.sliced(axis: 2, range: block.queryRows),
                            key: k.sliced(axis: 2, range: block.keyRows),
                            value: v.sliced(axis: 2, range: block.keyRows),
                            options: kernelOptions(for: block))
                        partial.merge(
                            output: result.output, logSumExp: result.logSumExp!,
                            rows: block.queryRows, shift: block.logSumExpShift)
                        progress()
                    }
                }
                stats.record(start: start, wait: wait, sent: sends.map(\.0), blocks: blocks.count)
                if more {
                    (k, v) = (
                        try wire.decode(received[0], shape: shapes.keyShape(next)),
                        try wire.decode(received[1], shape: shapes.valueShape(next))
                    )
                }
            }
        }
        let (output, lse) = try partial.tensors()
        // The blocks merged in fp32; the output rounds to the inputs' dtype once, here.
        return (output.converted(to: query.dtype), lse, stats)
    }

    /// The ring's passes: a full ring in one direction, or, for a window that reaches only
    /// some neighbours of contiguous shards, a pass to the left (own shard first) and one to
    /// the right.
    func passes() throws -> [RingPass] {
        let p = layout.ranks
        guard layout.sharding == .contiguous, band.lower != nil || band.upper != nil, p > 2 else {
            return [RingPass(direction: 1, visits: p, skipsOwn: false)]
        }
        func reach(_ direction: Int) throws -> Int {
            var farthest = 0
            for r in 0..<p {
                for t in 1..<p {
                    let s = r - direction * t
                    guard s >= 0 && s < p else { break }
                    if try !plan(queryRank: r, keyRank: s).isEmpty {
                        farthest = Swift.max(farthest, t)
                    }
                }
            }
            return farthest
        }
        let (left, right) = (try reach(1), try reach(-1))
        if left + right >= p - 1 { return [RingPass(direction: 1, visits: p, skipsOwn: false)] }
        // The right pass starts from the own shard again without recomputing it.
        return [RingPass(direction: 1, visits: left + 1, skipsOwn: false)]
            + (right > 0 ? [RingPass(direction: -1, visits: right + 1, skipsOwn: true)] : [])
    }

    /// The kernel calls of one shard pair; query chunks are cut into pieces of at least
    /// 512 rows (at most 4 per chunk) so the transport can progress between them.
    func plan(queryRank: Int, keyRank: Int) throws -> [RingBlock] {
        var blocks = [RingBlock]()
        var queryRow = 0
        for queries in layout.chunks(rank: queryRank) {
            let pieces = Swift.max(1, Swift.min(4, queries.count / 512))
            for piece in 0..<pieces {
                let lower = queries.lowerBound + queries.count * piece / pieces
                let upper = queries.lowerBound + queries.count * (piece + 1) / pieces
                var keyRow = 0
                for keys in layout.chunks(rank: keyRank) {
                    if let block = try RingBlock.plan(
                        queries: lower..<upper, queryRow: queryRow + lower - queries.lowerBound,
                        keys: keys, keyRow: keyRow, band: band, alibi: options.alibi)
                    {
                        blocks.append(block)
                    }
                    keyRow += keys.count
                }
            }
            queryRow += queries.count
        }
        return blocks
    }

    func kernelOptions(for block: RingBlock) -> AttentionOptions {
        var local = options
        local.mask = block.mask
        local.alibi = block.alibi
        return local
    }

    func mod(_ r: Int) -> Int { ((r % layout.ranks) + layout.ranks) % layout.ranks }
}

/// One trip of the key/value shards around (part of) the ring: at visit `t` rank `r`
/// holds the shard of rank `r − direction·t`.
struct RingPass {
    var direction: Int
    var visits: Int
    /// Visit 0 (the own shard) was already computed by an earlier pass.
    var skipsOwn: Bool
}

extension RingStatistics {
    mutating func record(start: DispatchTime, wait: Double, sent: [Tensor], blocks: Int) {
        let total = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        computeSeconds += total - wait
        waitSeconds += wait
        exchanges += sent.isEmpty ? 0 : 1
        bytesSent += sent.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        self.blocks += blocks
    }
}

/// The shapes of every rank's shards, checked against this rank's tensors.
struct ShardShapes {
    let batch: Int, heads: Int, kvHeads: Int, headDim: Int, valueDim: Int, rows: Int
    let layout: RingLayout

    init(
        _ ring: RingAttention, _ communicator: RingCommunicator, query: Tensor, key: Tensor,
        value: Tensor
    ) throws {
        layout = ring.layout
        guard communicator.size == layout.ranks, communicator.rank >= 0,
            communicator.rank < layout.ranks
        else {
            throw AttentionError.argument(
                "communicator",
                "has \(communicator.size) ranks (this is rank \(communicator.rank)); the layout needs \(layout.ranks)"
            )
        }
        rows = layout.length(rank: communicator.rank)
        guard query.rank == 4, query.shape[2] == rows else {
            throw AttentionError.shape(
                "query", expected: "[B, H, \(rows), D] (rank \(communicator.rank)'s shard)",
                actual: query.shape)
        }
        (batch, heads, headDim) = (query.shape[0], query.shape[1], query.shape[3])
        guard key.rank == 4, key.shape[0] == batch, key.shape[2] == rows, key.shape[3] == headDim,
            key.shape[1] > 0, heads % key.shape[1] == 0
        else {
            throw AttentionError.shape(
                "key", expected: "[\(batch), Hkv, \(rows), \(headDim)] with Hkv dividing \(heads)",
                actual: key.shape)
        }
        kvHeads = key.shape[1]
        guard value.rank == 4, value.shape[0] == batch, value.shape[1] == kvHeads,
            value.shape[2] == rows, value.shape[3] > 0
        else {
            throw AttentionError.shape(
                "value", expected: "[\(batch), \(kvHeads), \(rows), Dv]", actual: value.shape)
        }
        valueDim = value.shape[3]
        for (name, tensor) in [("key", key), ("value", value)] where tensor.dtype != query.dtype {
            throw AttentionError.argument(
                name, "is \(tensor.dtype) but query is \(query.dtype); the three share one dtype")
        }
        // One MPI message carries at most Int32.max elements.
        let largest = (0..<layout.ranks).map(layout.length(rank:)).max() ?? 0
        let elements = batch.multipliedReportingOverflow(by: kvHeads * Swift.max(headDim, valueDim))
        let total = elements.partialValue.multipliedReportingOverflow(by: largest)
        guard !elements.overflow, !total.overflow, total.partialValue <= Int(Int32.max) else {
            throw AttentionError.argument(
                "key", "a key/value shard must have at most \(Int32.max) elements")
        }
    }

    func keyShape(_ rank: Int) -> [Int] { [batch, kvHeads, layout.length(rank: rank), headDim] }
    func valueShape(_ rank: Int) -> [Int] { [batch, kvHeads, layout.length(rank: rank), valueDim] }
}
