import Foundation

@testable import Attention

/// Plain attention for a few query rows, written twice from the same loops: in Double (the
/// oracle) and in Float with sequential sums (a same-precision naive implementation that
/// shares nothing with the library's kernels, tiles or `ScoreTile`). Large cases check the
/// library against these on sampled rows, FlashAttention-2's rule: the library's error
/// against the Double oracle is at most 2× the naive Float's error, plus a floor.
///
/// Structured masks only (visibility by `AttentionMask.isVisible`); no ALiBi or dropout.
struct SampledOracle {
    /// The sampled query rows.
    let rows: [Int]
    /// Oracle outputs `[B, H, rows.count, Dv]`.
    var double: [Double] = []
    /// Naive Float outputs, same layout, widened to Double.
    var single: [Double] = []

    /// `count` rows spread evenly over `0..<queries`, always including the first and last.
    static func spread(_ count: Int, over queries: Int) -> [Int] {
        guard queries > 1, count > 1 else { return [0] }
        return Array(Set((0..<count).map { $0 * (queries - 1) / (count - 1) })).sorted()
    }

    init(query q: Tensor, key k: Tensor, value v: Tensor, mask: AttentionMask, rows: [Int]) {
        self.rows = rows
        let (b, h, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, sk, dv) = (k.shape[1], k.shape[2], v.shape[3])
        let qs = q.scalars, ks = k.scalars, vs = v.scalars
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in rows {
                    let visible = (0..<sk).filter {
                        mask.isVisible(
                            query: i, key: $0, queries: sq, keys: sk, batch: bi, head: hi)
                    }
                    let qRow = ((bi * h + hi) * sq + i) * d
                    let key = { (j: Int, x: Int) in ((bi * hkv + kh) * sk + j) * d + x }
                    let value = { (j: Int, x: Int) in ((bi * hkv + kh) * sk + j) * dv + x }
                    double += Self.row(
                        visible: visible, d: d, dv: dv, scale: 1 / Double(d).squareRoot(),
                        exp: Foundation.exp,
                        q: { Double(qs[qRow + $0]) }, k: { Double(ks[key($0, $1)]) },
                        v: { Double(vs[value($0, $1)]) })
                    single += Self.row(
                        visible: visible, d: d, dv: dv, scale: 1 / Float(d).squareRoot(),
                        exp: Foundation.expf,
                        q: { qs[qRow + $0] }, k: { ks[key($0, $1)] }, v: { vs[value($0, $1)] }
                    ).map(Double.init)
                }
            }
        }
    }

    /// One output row: softmax over the visible keys, then the weighted sum of values; a row
    /// that sees nothing is zero.
    static func row<T: BinaryFloatingPoint>(
        visible: [Int], d: Int, dv: Int, scale: T, exp: (T) -> T, q: (Int) -> T,
        k: (Int, Int) -> T, v: (Int, Int) -> T
    ) -> [T] {
        var out = [T](repeating: 0, count: dv)
        guard !visible.isEmpty else { return out }
        let scores = visible.map { j -> T in
            var dot: T = 0
            for x in 0..<d { dot += q(x) * k(j, x) }
            return dot * scale
        }
        let m = scores.max()!
        let e = scores.map { exp($0 - m) }
        var total: T = 0
        for x in e { total += x }
        for (n, j) in visible.enumerated() {
            let w = e[n] / total
            for x in 0..<dv { out[x] += w * v(j, x) }
        }
        return out
    }

    /// Max |t[b, h, row, :] − expected| over the sampled rows, `t` `[B, H, Sq, Dv]`.
    func maxError(_ t: Tensor, _ expected: [Double]) -> Double {
        let (b, h, dv) = (t.shape[0], t.shape[1], t.shape[3])
        var worst = 0.0, n = 0
        for bi in 0..<b {
            for hi in 0..<h {
                for i in rows {
                    for x in 0..<dv {
                        let diff = abs(Double(t[bi, hi, i, x]) - expected[n])
                        worst = diff.isNaN ? .infinity : Swift.max(worst, diff)
                        n += 1
                    }
                }
            }
        }
        return worst
    }

    /// The naive Float implementation's error against the oracle.
    var singleError: Double {
        zip(single, double).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }
}
