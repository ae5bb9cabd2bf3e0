import Foundation
@testable import Attention

/// An independent Double-precision attention, written as plainly as possible: the oracle
/// every backend is compared against. Shares nothing with the library but `Tensor` element
/// access, `AttentionMask.isVisible/bias` and the dropout generator's counter formula.
struct NaiveAttention {
    var output: [Double]  // [B, H, Sq, Dv]
    var weights: [Double]  // [B, H, Sq, Sk]
    var lse: [Double]  // [B, H, Sq]

    init(
        query q: Tensor, key k: Tensor, value v: Tensor, mask: AttentionMask = .none,
        scale: Double? = nil,
        alibi: ALiBi? = nil, dropout: Double = 0, seed: UInt64 = 0
    ) {
        let (b, h, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, sk, dv) = (k.shape[1], k.shape[2], v.shape[3])
        let scale = scale ?? 1 / Double(d).squareRoot()
        output = Array(repeating: 0, count: b * h * sq * dv)
        weights = Array(repeating: 0, count: b * h * sq * sk)
        lse = Array(repeating: 0, count: b * h * sq)
        let rng = CounterRNG(seed: seed)
        let qs = q.scalars, ks = k.scalars, vs = v.scalars
        let structured = mask.tensors.isEmpty
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in 0..<sq {
                    var scores = [Double](repeating: -.infinity, count: sk)
                    for j in 0..<sk {
                        guard
                            mask.isVisible(
                                query: i, key: j, queries: sq, keys: sk, batch: bi, head: hi)
                        else { continue }
                        var dot = 0.0
                        let qo = ((bi * h + hi) * sq + i) * d, ko = ((bi * hkv + kh) * sk + j) * d
                        for x in 0..<d { dot += Double(qs[qo + x]) * Double(ks[ko + x]) }
                        var s = dot * scale
                        if !structured {
                            s += Double(mask.bias(query: i, key: j, batch: bi, head: hi))
                        }
                        if let alibi {
                            let dist = Double(
                                i + (alibi.alignment == .bottomRight ? sk - sq : 0) - j)
                            s -=
                                Double(alibi.slopes[hi])
                                * (alibi.form == .symmetric ? abs(dist) : dist)
                        }
                        scores[j] = s
                    }
                    let m = scores.max() ?? -.infinity
                    let row = ((bi * h + hi) * sq + i)
                    guard m > -.infinity else { lse[row] = -.infinity; continue }
                    let e = scores.map { exp($0 - m) }
                    let total = e.reduce(0, +)
                    lse[row] = m + log(total)
                    for j in 0..<sk {
                        var w = e[j] / total
                        if dropout > 0 {
                            let counter = UInt64(row * sk + j)
                            w = Double(rng.uniform(at: counter)) < dropout ? 0 : w / (1 - dropout)
                        }
                        weights[row * sk + j] = w
                        let vo = ((bi * hkv + kh) * sk + j) * dv
                        if w != 0 {
                            for x in 0..<dv { output[row * dv + x] += w * Double(vs[vo + x]) }
                        }
                    }
                }
            }
        }
    }
}

/// Max |a − b| over all elements.
func maxError(_ a: Tensor, _ b: [Double]) -> Double {
    let s = a.scalars
    precondition(s.count == b.count, "sizes differ: \(s.count) vs \(b.count)")
    var worst = 0.0
    for i in s.indices {
        if s[i].isNaN != b[i].isNaN { return .infinity }
        if !b[i].isNaN { worst = max(worst, abs(Double(s[i]) - b[i])) }
    }
    return worst
}

/// Normwise relative error: max |a − b| / max |b| (the ∞-norm of the error over the ∞-norm
/// of the expected values), so entries near zero do not dominate.
func maxRelativeError(_ a: Tensor, _ b: [Double]) -> Double {
    let scaleOf = b.reduce(0.0) { max($0, abs($1)) }
    return maxError(a, b) / max(scaleOf, 1e-30)
}

func randomQKV(
    b: Int, h: Int, hkv: Int? = nil, sq: Int, sk: Int, d: Int, dv: Int? = nil, seed: UInt64
) -> (Tensor, Tensor, Tensor) {
    let hkv = hkv ?? h, dv = dv ?? d
    return (
        Tensor.randomNormal([b, h, sq, d], seed: seed),
        Tensor.randomNormal([b, hkv, sk, d], seed: seed &+ 1),
        Tensor.randomNormal([b, hkv, sk, dv], seed: seed &+ 2)
    )
}
