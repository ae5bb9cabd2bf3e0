import Attention
import Foundation

extension RingAttention {
    /// The sharded backward pass on this rank: `∂L/∂query`, `∂L/∂key`, `∂L/∂value` of its
    /// shard, given its shard of `gradOutput` and the ``forward(query:key:value:communicator:)``
    /// result (`output`, `logSumExp`).
    ///
    /// Key/value shards travel around the ring as in the forward; at each step the fused
    /// backward (``scaledDotProductAttentionBackward(gradOutput:query:key:value:output:logSumExp:options:)``)
    /// runs on the held shard with the rank's global output and log-sum-exp, which makes its
    /// probabilities the global ones: `dQ` sums over the steps locally, and each shard's
    /// `dK`/`dV` partial sums travel behind it, one step later, adding every rank's share,
    /// then return to the shard's owner.
    ///
    /// bf16/f16 shards: the backward runs in fp32 on the widened (exact) values of every
    /// argument — its key/value shards and dK/dV sums travel as fp32 — and the gradients are
    /// rounded to the query's dtype once at the end.
    /// - Throws: ``AttentionError`` naming the argument whose shape does not fit, or `key`/
    ///   `value` when its dtype differs from the query's.
    public func backward(
        gradOutput: Tensor, query: Tensor, key: Tensor, value: Tensor, output: Tensor,
        logSumExp: Tensor, communicator: RingCommunicator
    ) throws -> (gradients: AttentionGradients, statistics: RingStatistics) {
        let shapes = try ShardShapes(self, communicator, query: query, key: key, value: value)
        if query.dtype != .f32 {
            let wide = { (t: Tensor) in t.converted(to: .f32) }
            let (g, stats) = try backward(
                gradOutput: wide(gradOutput), query: wide(query), key: wide(key),
                value: wide(value), output: wide(output), logSumExp: wide(logSumExp),
                communicator: communicator)
            return (
                AttentionGradients.assembled(
                    query: g.gradQuery.converted(to: query.dtype),
                    key: g.gradKey.converted(to: query.dtype),
                    value: g.gradValue.converted(to: query.dtype), backend: .fused),
                stats
            )
        }
        let (b, h, n, dv) = (shapes.batch, shapes.heads, shapes.rows, shapes.valueDim)
        for (name, tensor) in [("gradOutput", gradOutput), ("output", output)]
        where tensor.shape != [b, h, n, dv] {
            throw AttentionError.shape(
                name, expected: "[\(b), \(h), \(n), \(dv)]", actual: tensor.shape)
        }
        guard logSumExp.shape == [b, h, n] else {
            throw AttentionError.shape(
                "logSumExp", expected: "[\(b), \(h), \(n)]", actual: logSumExp.shape)
        }
        let rank = communicator.rank
        var gradQuery = RowAccumulator(shape: query.shape)
        var gradKey = RowAccumulator(shape: shapes.keyShape(rank))
        var gradValue = RowAccumulator(shape: shapes.valueShape(rank))
        var stats = RingStatistics()
        for pass in try passes() {
            let toNext = mod(rank + pass.direction)
            let fromPrevious = mod(rank - pass.direction)
            var (k, v) = (key.contiguous(), value.contiguous())
            // The partial dK/dV of the shard visited at the previous step (held by this rank).
            var carried: (Tensor, Tensor)? = nil
            for visit in 0..<pass.visits {
                let owner = mod(rank - pass.direction * visit)
                let next = mod(rank - pass.direction * (visit + 1))
                let more = visit + 1 < pass.visits
                var sends = [(tensor: Tensor, to: Int)]()
                var receives = [(shape: [Int], from: Int)]()
                if more {
                    sends += [(k, toNext), (v, toNext)]
                    receives += [
                        (shapes.keyShape(next), fromPrevious),
                        (shapes.valueShape(next), fromPrevious),
                    ]
                }
                if let (dk, dv) = carried {
                    sends += [(dk, toNext), (dv, toNext)]
                    receives += [
                        (shapes.keyShape(owner), fromPrevious),
                        (shapes.valueShape(owner), fromPrevious),
                    ]
                }
                let blocks =
                    visit == 0 && pass.skipsOwn ? [] : try plan(queryRank: rank, keyRank: owner)
                var stepKey = RowAccumulator(shape: shapes.keyShape(owner))
                var stepValue = RowAccumulator(shape: shapes.valueShape(owner))
                let start = DispatchTime.now()
                let (received, wait) = try communicator.exchange(
                    sending: sends, receiving: receives
                ) {
                    progress in
                    for block in blocks {
                        let rows = block.queryRows
                        var lse = try logSumExp.sliced(axis: 2, range: rows)
                        if let shift = block.logSumExpShift { lse = try shifted(lse, by: shift) }
                        let g = try scaledDotProductAttentionBackward(
                            gradOutput: gradOutput.sliced(axis: 2, range: rows),
                            query: query.sliced(axis: 2, range: rows),
                            key: k.sliced(axis: 2, range: block.keyRows),
                            value: v.sliced(axis: 2, range: block.keyRows),
                            output: output.sliced(axis: 2, range: rows), logSumExp: lse,
                            options: kernelOptions(for: block))
                        gradQuery.add(g.gradQuery, rows: rows)
                        stepKey.add(g.gradKey, rows: block.keyRows)
                        stepValue.add(g.gradValue, rows: block.keyRows)
                        progress()
                    }
                }
                if blocks.isEmpty && !(visit == 0 && pass.skipsOwn) { stats.skippedShards += 1 }
                stats.record(
                    start: start, wait: wait, sent: sends.map(\.tensor), blocks: blocks.count)
                var tail = received[...]
                if more {
                    (k, v) = (tail[tail.startIndex], tail[tail.startIndex + 1])
                    tail = tail.dropFirst(2)
                }
                if carried != nil {
                    stepKey.add(tail[tail.startIndex])
                    stepValue.add(tail[tail.startIndex + 1])
                }
                carried = (try stepKey.tensor(), try stepValue.tensor())
            }
            // The last holder of each shard's sums returns them to its owner.
            guard let (dk, dv) = carried else { continue }
            if pass.visits == 1 {
                gradKey.add(dk)
                gradValue.add(dv)
                continue
            }
            let start = DispatchTime.now()
            let holder = mod(rank + pass.direction * (pass.visits - 1))
            let (received, wait) = try communicator.exchange(
                sending: [
                    (dk, mod(rank - pass.direction * (pass.visits - 1))),
                    (dv, mod(rank - pass.direction * (pass.visits - 1))),
                ],
                receiving: [(shapes.keyShape(rank), holder), (shapes.valueShape(rank), holder)]
            ) { _ in }
            stats.record(start: start, wait: wait, sent: [dk, dv], blocks: 0)
            gradKey.add(received[0])
            gradValue.add(received[1])
        }
        return (
            AttentionGradients.assembled(
                query: try gradQuery.tensor(), key: try gradKey.tensor(),
                value: try gradValue.tensor(), backend: .fused),
            stats
        )
    }
}

/// `lse[b, h, i] − shift[h]`: the global log-sum-exp in a block's local ALiBi coordinates.
private func shifted(_ lse: Tensor, by shift: [Float]) throws -> Tensor {
    let (b, h, n) = (lse.shape[0], lse.shape[1], lse.shape[2])
    var values = lse.scalars
    for x in 0..<b * h {
        let c = shift[x % h]
        for i in 0..<n { values[x * n + i] -= c }
    }
    return try Tensor(shape: lse.shape, scalars: values)
}
