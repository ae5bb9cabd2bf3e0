import Foundation

extension ScoreTile {
    /// The backward step shared by the reference and fused paths, on one tile of
    /// probabilities `P` (rows × cols, row stride `ld`) whose `dO` rows start at `gradOutput`
    /// and whose `V` rows start at `value`:
    /// ```
    /// dP = dropout(dO·Vᵀ)          (the forward's dropped entries, kept ones ×1/(1−p))
    /// dS = P ∘ (dP − D)            written to `gradient`
    /// ```
    /// Returns the weights the forward multiplied by `V`: `P` itself, or `dropout(P)`
    /// written to `weights` when dropout is on.
    func scoreGradient(
        b: Int, h: Int, q0: Int, rows: Int, k0: Int, cols: Int,
        probabilities p: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
        gradient ds: UnsafeMutablePointer<Float>, ld: Int,
        gradOutput dO: UnsafePointer<Float>, ldo: Int, value v: UnsafePointer<Float>, ldv: Int,
        valueDim: Int, rowDot: UnsafePointer<Float>
    ) -> UnsafePointer<Float> {
        kernels.c.sgemm(0, 1, rows, cols, valueDim, 1, dO, ldo, v, ldv, 0, ds, ld)
        return gradientFromProducts(
            b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, probabilities: p, weights: w,
            gradient: ds, ld: ld, rowDot: rowDot, scale: 1)
    }

    /// ``scoreGradient(b:h:q0:rows:k0:cols:probabilities:weights:gradient:ld:gradOutput:ldo:value:ldv:valueDim:rowDot:)``
    /// once `gradient` holds `dO·Vᵀ`: applies dropout and writes `scale·P ∘ (dP − D)` over it.
    func gradientFromProducts(
        b: Int, h: Int, q0: Int, rows: Int, k0: Int, cols: Int,
        probabilities p: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
        gradient ds: UnsafeMutablePointer<Float>, ld: Int, rowDot: UnsafePointer<Float>,
        scale: Float
    ) -> UnsafePointer<Float> {
        var weights = UnsafePointer(p)
        if dropout > 0 {
            for r in 0..<rows { (w + r * ld).update(from: p + r * ld, count: cols) }
            applyDropout(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, weights: w, ld: ld)
            applyDropout(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, weights: ds, ld: ld)
            weights = UnsafePointer(w)
        }
        for r in 0..<rows {
            let pr = p + r * ld, dr = ds + r * ld, d = rowDot[r]
            if d.isNaN {
                // A row that output NaN: NaN where visible, and dS = 0 where hidden (P = 0),
                // so that its NaN D does not reach the keys it does not see.
                for c in 0..<cols { dr[c] = pr[c] == 0 ? 0 : .nan }
                continue
            }
            for c in 0..<cols { dr[c] = scale * (pr[c] * (dr[c] - d)) }
        }
        return weights
    }

    /// The backward's probabilities on masked, biased score rows (in place), for the
    /// materialized paths: a row whose forward log-sum-exp is NaN (it output NaN) gets NaN at
    /// its visible entries and 0 at hidden ones; a row whose given log-sum-exp is, to 8 of
    /// its float spacings, that of these scores (`m + ln Σ e^(s − m)`) is softmax-normalized;
    /// any other row gets `P = e^(S − LSE)` with the log-sum-exp as given — one over more keys
    /// than the call holds, as ring attention passes per shard — which is what the fused
    /// backward computes for it (`FlashBackward+RowStatistics.swift`).
    func backwardProbabilities(
        rows: Int, cols: Int, scores s: UnsafeMutablePointer<Float>, ld: Int,
        logSumExp: UnsafePointer<Float>
    ) {
        for r in 0..<rows {
            let row = s + r * ld, lse = logSumExp[r]
            if lse.isNaN {
                Self.poison(row, cols: cols)
                continue
            }
            // One vector pass: row ← e^(s − m), with the row's own max m and sum l.
            var (m, l, alpha) = (-Float.infinity, Float(0), Float(1))
            kernels.c.online_softmax(1, cols, row, ld, &m, &l, &alpha, nil, 1)
            let factor: Double
            if lse == -.infinity || l == 0 {
                factor = 0  // no key seen (here, or in the forward: P = 0, as the fused pass)
            } else if FlashBackward.isOwnLogSumExp(lse, max: Double(m), sum: Double(l)) {
                factor = 1 / Double(l)  // the softmax
            } else {
                factor = exp(Double(m) - Double(lse))  // e^(s − LSE) = e^(s − m)·e^(m − LSE)
            }
            let f = Float(factor)
            for c in 0..<cols { row[c] = factor == 0 ? 0 : row[c] * f }
        }
    }

    /// NaN at the visible (not −inf) entries of a score row, 0 at the hidden ones.
    static func poison(_ row: UnsafeMutablePointer<Float>, cols: Int) {
        for c in 0..<cols { row[c] = row[c] == -.infinity ? 0 : .nan }
    }
}
