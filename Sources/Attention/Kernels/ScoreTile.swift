import Foundation
import _AttentionKernels

/// Applies the mask, ALiBi and dropout of one attention call to tiles of scores or weights.
/// Shared by the reference path (one tile = the whole `Sq × Sk` matrix of a head) and the
/// fused kernel (one tile = one query block × key block), so both compute the same thing.
struct ScoreTile {
    let mask: AttentionMask
    let alibi: ALiBi?
    let queries: Int
    let keys: Int
    let dropout: Float, keptWeightScale: Float
    let dropoutRNG: CounterRNG
    let problemHeads: Int
    /// Visible keys of every row form one interval (``AttentionMask/visibleInterval``).
    let intervalMask: Bool

    /// Multiplies every bias added to the scores: 1 for natural-log scores (reference),
    /// log2 e for the fused kernel's base-2 scores.
    let scoreScale: Float
    /// The call's kernel variant (ALiBi).
    let kernels: KernelTable

    init(_ p: AttentionProblem, _ options: AttentionOptions, base2: Bool = false) {
        scoreScale = base2 ? Float(M_LOG2E) : 1
        kernels = p.execution.kernels
        mask = options.mask
        alibi = options.alibi
        queries = p.queries
        keys = p.keys
        (dropout, keptWeightScale) = (options.dropout, options.keptWeightScale)
        dropoutRNG = CounterRNG(seed: options.dropoutSeed)
        problemHeads = p.heads
        intervalMask = options.mask.isIntervalMask
    }

    /// Hides masked entries (−inf) and adds additive masks in a partial tile.
    func applyMask(
        b: Int, h: Int, q0: Int, rows: Int, k0: Int, cols: Int,
        scores s: UnsafeMutablePointer<Float>, ld: Int
    ) {
        switch mask {
        case .none:
            return
        case .causal:
            ak_mask_causal(rows, cols, s, ld, q0, k0, 0)
        case .causalFromBottomRight:
            ak_mask_causal(rows, cols, s, ld, q0, k0, keys - queries)
        case _ where intervalMask:
            for r in 0..<rows {
                let v = mask.visibleInterval(query: q0 + r, queries: queries, keys: keys)!
                let lo = Swift.min(Swift.max(v.lowerBound - k0, 0), cols)
                let hi = Swift.min(Swift.max(v.upperBound - k0, lo), cols)
                let row = s + r * ld
                if lo > 0 { row.update(repeating: -.infinity, count: lo) }
                if hi < cols { (row + hi).update(repeating: -.infinity, count: cols - hi) }
            }
        default:
            let additive = mask.hasAdditive
            for r in 0..<rows {
                let row = s + r * ld
                for c in 0..<cols {
                    let i = q0 + r, j = k0 + c
                    if !mask.isVisible(
                        query: i, key: j, queries: queries, keys: keys, batch: b, head: h)
                    {
                        row[c] = -.infinity
                    } else if additive {
                        row[c] += mask.bias(query: i, key: j, batch: b, head: h) * scoreScale
                    }
                }
            }
        }
    }

    /// Adds the ALiBi bias of head `h` to a tile (every visited tile, full or partial).
    func applyALiBi(
        h: Int, q0: Int, rows: Int, k0: Int, cols: Int, scores s: UnsafeMutablePointer<Float>,
        ld: Int
    ) {
        guard let alibi else { return }
        kernels.c.add_alibi(
            rows, cols, s, ld, alibi.slopes[h] * scoreScale, q0, k0,
            alibi.alignment.queryShift(queries: queries, keys: keys),
            alibi.form == .symmetric ? 1 : 0)
    }

    /// Calls `body(r)` for every row of a masked, biased tile whose first `cols` scores hold
    /// a NaN or +inf: the rows that output NaN (hidden entries are −inf by now). Checked mode
    /// only (``AttentionProblem/checksScores``); both backends call it on identical scores.
    func forEachNonFiniteRow(
        rows: Int, cols: Int, scores s: UnsafeMutablePointer<Float>, ld: Int,
        _ body: (Int) -> Void
    ) {
        for r in 0..<rows {
            let row = s + r * ld
            if (0..<cols).contains(where: { !(row[$0] < .infinity) }) { body(r) }
        }
    }

    /// Zeroes dropped weights and scales kept ones by 1/(1−p). The decision for entry
    /// (b, h, i, j) depends only on the seed and those indices.
    func applyDropout(
        b: Int, h: Int, q0: Int, rows: Int, k0: Int, cols: Int,
        weights w: UnsafeMutablePointer<Float>, ld: Int
    ) {
        guard dropout > 0 else { return }
        let keep = keptWeightScale
        for r in 0..<rows {
            let row = w + r * ld
            let base = UInt64(((b * problemHeads + h) * queries + q0 + r) * keys + k0)
            for c in 0..<cols {
                row[c] = dropoutRNG.uniform(at: base + UInt64(c)) < dropout ? 0 : row[c] * keep
            }
        }
    }
}
