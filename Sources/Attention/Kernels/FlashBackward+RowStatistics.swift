import Foundation

/// Rows whose log-sum-exp is too large to subtract exactly.
///
/// The fused backward recomputes `P = e^(S − LSE)` from the forward's float log-sum-exp.
/// For `|LSE|` of 2¹⁰ and more its float spacing (1.2e-4 there, 64 at 1e9) shifts every
/// `P` of the row by up to half of it in the exponent: P off by 6e-5 relative at 1024, by
/// `e^32` at 1e9 — gradients of NaN and infinity where the reference backward, which
/// recomputes the softmax, gives finite ones. Such rows get the backward's own statistics
/// first: `m` (the largest visible score, computed by the same tile code as the passes, so
/// `S − m` is exact at the maximum) and `l = Σ e^(S − m)`; the passes then use
/// `P = e^(S − m) / l` — when the given log-sum-exp agrees with `m + ln l` to 8 of its float
/// spacings; one that does not (a log-sum-exp over more keys than the call holds, as ring
/// attention passes for each shard) is used as given. The extra pass reads only the query
/// blocks holding such rows, so ordinary calls never run it.
extension FlashBackward {
    /// `|log-sum-exp|` from which a row's statistics are recomputed.
    static let exactStatisticsBound: Float = 1024

    /// Whether `lse` is, to 8 of its float spacings, `m + ln l` — the log-sum-exp of the
    /// scores whose maximum is `m` and whose `Σ e^(s − m)` is `l` — rather than one over more
    /// keys than those (ring attention's shards).
    static func isOwnLogSumExp(_ lse: Float, max m: Double, sum l: Double) -> Bool {
        m.isFinite && l > 0 && abs(m + log(l) - Double(lse)) <= 8 * Double(lse.ulp)
    }

    /// Whether some row's finite log-sum-exp reaches ``exactStatisticsBound``.
    static func needsRowStatistics(_ logSumExp: Tensor) -> Bool {
        logSumExp.scalars.contains { $0.isFinite && abs($0) >= exactStatisticsBound }
    }

    /// Writes, per row of `plan`'s problem, the shift `P` subtracts (`statistics[0 ..< n]`)
    /// and the factor it takes next (`statistics[n ..< 2n]`, `n = B·H·Sq`): the row's own
    /// `m` and `1/l` where its log-sum-exp reaches the bound, the log-sum-exp and 1
    /// elsewhere. One task per (batch, head, query block) holding such a row.
    static func exactRowStatistics(
        _ plan: FlashBackwardTiles, _ layout: FlashBackwardLayout, masks: [BlockMask],
        perSlice: Bool, workers: Int, scratch: UnsafeMutablePointer<Float>, perWorker: Int,
        into statistics: UnsafeMutablePointer<Float>
    ) {
        let p = plan.problem, sq = p.queries, n = p.batch * p.heads * sq
        let lse = plan.logSumExp, br = layout.queryBlock
        let qBlocks = (sq + br - 1) / br
        func exact(_ i: Int) -> Bool { lse[i].isFinite && abs(lse[i]) >= exactStatisticsBound }
        statistics.update(from: lse, count: n)
        (statistics + n).update(repeating: 1, count: n)
        let items = (0..<(p.batch * p.heads * qBlocks)).filter { item in
            let slice = item / qBlocks, q0 = item % qBlocks * br
            return (q0..<Swift.min(q0 + br, sq)).contains { exact(slice * sq + $0) }
        }
        let plan = UncheckedBox(plan), out = SendablePointer(statistics)
        parallelFor(count: items.count, threads: Swift.min(workers, items.count)) { index, worker in
            let w = FlashBackwardWorker(plan.value, layout, scratch: scratch + worker * perWorker)
            let item = items[index], slice = item / qBlocks, qb = item % qBlocks
            let b = slice / p.heads, h = slice % p.heads
            var m = [Double](repeating: -.infinity, count: br),
                l = [Double](repeating: 0, count: br)
            var rows = 0
            for (kb, kind) in masks[perSlice ? slice : 0].visits(forQueryBlock: qb) {
                w.packKeyBlock(b: b, hk: h / p.group, kb: kb)
                let tile = w.scores(
                    b: b, h: h, queryBlock: qb, keyBlock: kb, partial: kind == .partial)
                rows = tile.rows
                for r in 0..<tile.rows {
                    let row = w.s + r * layout.ld
                    for c in 0..<tile.cols where row[c] > -.infinity {
                        let x = Double(row[c])
                        if x > m[r] {
                            l[r] = l[r] * exp(m[r] - x) + 1
                            m[r] = x
                        } else {
                            l[r] += exp(x - m[r])
                        }
                    }
                }
            }
            for r in 0..<rows {
                let i = slice * sq + qb * br + r
                // Only rows that need it, and only when the given log-sum-exp is, to its own
                // precision, that of these scores: a caller may pass one over more keys than
                // this call holds (ring attention's shards), and then P = e^(S − LSE) is
                // what it asks for.
                guard exact(i), isOwnLogSumExp(lse[i], max: m[r], sum: l[r]) else { continue }
                out.base[i] = Float(m[r])
                out.base[n + i] = Float(1 / l[r])
            }
        }
    }
}
