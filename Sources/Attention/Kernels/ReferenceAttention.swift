import Foundation

/// The standard ("math") attention path: materializes the `[B, H, Sq, Sk]` scores, applies
/// the mask, softmax and dropout, then multiplies by V. It can return the weights. Used as
/// the baseline in benchmarks and as the path that returns attention maps.
enum ReferenceAttention {
    static func forward(_ p: AttentionProblem, options: AttentionOptions)
        throws -> (output: Tensor, weights: Tensor?, logSumExp: Tensor?)
    {
        let bytes = Double(p.batch) * Double(p.heads) * Double(p.queries) * Double(p.keys) * 4
        let limit = p.execution.memoryLimit, kernels = p.execution.kernels
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
                                parallelFor(count: p.batch * p.heads, threads: p.execution.threads)
                                {
                                    item, _ in
                                    let b = item / p.heads, h = item % p.heads, hk = h / p.group
                                    let qp =
                                        q.base + b * p.query.strides[0] + h * p.query.strides[1]
                                    let kp = k.base + b * p.key.strides[0] + hk * p.key.strides[1]
                                    let vp =
                                        v.base + b * p.value.strides[0] + hk * p.value.strides[1]
                                    let wp = w.base + item * sq * sk
                                    // S = scale · Q·Kᵀ
                                    GEMM.multiply(
                                        rows: sq, columns: sk, depth: d, alpha: p.scale, a: qp,
                                        lda: p.query.strides[2], b: kp, ldb: p.key.strides[2],
                                        transposeB: true, into: wp, ldc: sk, kernels: kernels)
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
                                    kernels.c.softmax_rows(sq, sk, wp, sk)
                                    tile.applyDropout(
                                        b: b, h: h, q0: 0, rows: sq, k0: 0, cols: sk, weights: wp,
                                        ld: sk)
                                    // NaN weights make the whole output row NaN (V is finite).
                                    for i in nonFinite {
                                        (wp + i * sk).update(repeating: .nan, count: sk)
                                    }
                                    // O = W·V
                                    GEMM.multiply(
                                        rows: sq, columns: dv, depth: sk, a: wp, lda: sk, b: vp,
                                        ldb: p.value.strides[2], transposeB: false,
                                        into: o.base + item * sq * dv, ldc: dv, kernels: kernels)
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
