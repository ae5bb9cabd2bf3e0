import Foundation
import _AttentionKernels

/// The standard ("math") attention path: materializes the `[B, H, Sq, Sk]` scores, applies
/// the mask, softmax and dropout, then multiplies by V. It can return the weights. Used as
/// the baseline in benchmarks and as the path that returns attention maps.
enum ReferenceAttention {
    static func forward(_ p: AttentionProblem, options: AttentionOptions)
        throws -> (output: Tensor, weights: Tensor?, logSumExp: Tensor?)
    {
        let bytes = Double(p.batch) * Double(p.heads) * Double(p.queries) * Double(p.keys) * 4
        let limit = options.memoryLimit ?? AttentionConfiguration.referenceMemoryLimit
        guard bytes <= Double(limit) else {
            throw AttentionError(
                .outOfMemoryBudget, argument: "backend",
                "the reference path would allocate \(formatBytes(bytes)) for [\(p.batch), \(p.heads), \(p.queries), \(p.keys)] scores, over the limit of \(formatBytes(Double(limit))); use the fused backend"
            )
        }
        let tile = ScoreTile(p, options)
        var weights = Tensor.zeros([p.batch, p.heads, p.queries, p.keys])
        var output = Tensor.zeros([p.batch, p.heads, p.queries, p.valueDim])
        var lse = Tensor.zeros(options.returnLogSumExp ? [p.batch, p.heads, p.queries] : [0])
        let (sq, sk, d, dv) = (p.queries, p.keys, p.headDim, p.valueDim)
        let wantLSE = options.returnLogSumExp
        p.query.withUnsafeElements { q in
            p.key.withUnsafeElements { k in
                p.value.withUnsafeElements { v in
                    weights.withUnsafeMutableElements { w in
                        output.withUnsafeMutableElements { o in
                            lse.withUnsafeMutableElements { l in
                                let q = SendableConstPointer(q), k = SendableConstPointer(k),
                                    v = SendableConstPointer(v)
                                let w = SendablePointer(w), o = SendablePointer(o),
                                    l = SendablePointer(l)
                                parallelFor(count: p.batch * p.heads) { item, _ in
                                    let b = item / p.heads, h = item % p.heads, hk = h / p.group
                                    let qp =
                                        q.base + b * p.query.strides[0] + h * p.query.strides[1]
                                    let kp = k.base + b * p.key.strides[0] + hk * p.key.strides[1]
                                    let vp =
                                        v.base + b * p.value.strides[0] + hk * p.value.strides[1]
                                    let wp = w.base + item * sq * sk
                                    // S = scale · Q·Kᵀ
                                    ak_sgemm(
                                        0, 1, sq, sk, d, p.scale, qp, p.query.strides[2], kp,
                                        p.key.strides[2], 0, wp, sk)
                                    tile.applyMask(
                                        b: b, h: h, q0: 0, rows: sq, k0: 0, cols: sk, scores: wp,
                                        ld: sk)
                                    tile.applyALiBi(
                                        h: h, q0: 0, rows: sq, k0: 0, cols: sk, scores: wp, ld: sk)
                                    // Rows with a visible NaN or +inf score output NaN.
                                    var nonFinite: [Int] = []
                                    if p.checksScores {
                                        tile.forEachNonFiniteRow(
                                            rows: sq, cols: sk, scores: wp, ld: sk
                                        ) { nonFinite.append($0) }
                                    }
                                    if wantLSE {
                                        for i in 0..<sq {
                                            l.base[item * sq + i] = logSumExp(wp + i * sk, sk)
                                        }
                                        for i in nonFinite { l.base[item * sq + i] = .nan }
                                    }
                                    ak_softmax_rows(sq, sk, wp, sk)
                                    tile.applyDropout(
                                        b: b, h: h, q0: 0, rows: sq, k0: 0, cols: sk, weights: wp,
                                        ld: sk)
                                    // NaN weights make the whole output row NaN (V is finite).
                                    for i in nonFinite {
                                        (wp + i * sk).update(repeating: .nan, count: sk)
                                    }
                                    // O = W·V
                                    ak_sgemm(
                                        0, 0, sq, dv, sk, 1, wp, sk, vp, p.value.strides[2], 0,
                                        o.base + item * sq * dv, dv)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, options.returnWeights ? weights : nil, wantLSE ? lse : nil)
    }

    /// log Σ exp(x) over one row, in Double; −inf for a row with no finite entry.
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Double.infinity
        for j in 0..<n { m = Swift.max(m, Double(x[j])) }
        if m == -.infinity { return -.infinity }
        var s = 0.0
        for j in 0..<n { s += Foundation.exp(Double(x[j]) - m) }
        return Float(m + Foundation.log(s))
    }
}

/// "1.5 GiB"-style byte counts.
public func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes, unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f ", value) + units[unit]
}
