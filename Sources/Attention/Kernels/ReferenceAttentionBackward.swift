/// The materialized backward pass (the `.reference` backend): per (batch, key/value head)
/// and each of its query heads, the whole `Sq × Sk` scores are recomputed and turned into
/// probabilities (`ScoreTile.backwardProbabilities`: the softmax where the given
/// log-sum-exp is the row's own, `e^(S − LSE)` where it covers more keys), then
/// `dV += Wᵀ·dO`, `dS = P ∘ (dropout(dO·Vᵀ) − D)`, `dQ = scale·dS·K`, `dK += scale·dSᵀ·Q`.
/// One task per (batch, key/value head) owns its `dK`/`dV`, so the group sum is
/// deterministic. Scratch: two or three `Sq × Sk` buffers per thread.
enum ReferenceAttentionBackward {
    static func gradients(
        _ p: AttentionProblem, _ options: AttentionOptions, _ inputs: BackwardInputs
    ) throws -> AttentionGradients {
        let (sq, sk, d, dv) = (p.queries, p.keys, p.headDim, p.valueDim)
        let items = p.batch * p.kvHeads
        let workers = Swift.max(1, Swift.min(p.execution.threads, items))
        let buffers = options.dropout > 0 ? 3 : 2
        let perWorker = buffers * sq * sk
        let bytes = Double(workers) * Double(perWorker) * 4
        let limit = p.execution.memoryLimit
        guard bytes <= Double(limit) else {
            throw AttentionError(
                .outOfMemoryBudget, argument: "backend",
                "the reference backward would allocate \(formatBytes(bytes)) of [\(sq), \(sk)] scores for \(workers) threads, over the limit of \(formatBytes(Double(limit))); use the fused backend"
            )
        }
        let tile = ScoreTile(p, options)
        let sgemm = p.execution.kernels.c.sgemm
        var dQ = Tensor.zeros([p.batch, p.heads, sq, d])
        var dK = Tensor.zeros([p.batch, p.kvHeads, sk, d])
        var dV = Tensor.zeros([p.batch, p.kvHeads, sk, dv])
        let scratch = UnsafeMutablePointer<Float>.allocate(
            capacity: Swift.max(1, workers * perWorker))
        defer { scratch.deallocate() }
        let arena = SendablePointer(scratch)
        let (qs, ks, vs) = (p.query.strides, p.key.strides, p.value.strides)
        let (gs, scale) = (inputs.gradOutput.strides, p.scale)
        withPointers(p, inputs, &dQ, &dK, &dV) { q, k, v, g, rowDot, gq, gk, gv, pq, pk in
            inputs.logSumExp.withUnsafeElements { lse in
                parallelFor(count: items, threads: workers) { item, worker in
                    let b = item / p.kvHeads, hk = item % p.kvHeads
                    let s = arena.base + worker * perWorker, ds = s + sq * sk, w = ds + sq * sk
                    let kp = k + b * ks[0] + hk * ks[1], vp = v + b * vs[0] + hk * vs[1]
                    let pkp = pk + b * ks[0] + hk * ks[1]
                    let gkp = gk + item * sk * d, gvp = gv + item * sk * dv
                    for h in hk * p.group..<(hk + 1) * p.group {
                        let slice = b * p.heads + h
                        let qp = q + b * qs[0] + h * qs[1], gp = g + b * gs[0] + h * gs[1]
                        let pqp = pq + b * qs[0] + h * qs[1]
                        // P = softmax(scale·Q·Kᵀ + mask + ALiBi)
                        sgemm(0, 1, sq, sk, d, scale, qp, qs[2], kp, ks[2], 0, s, sk)
                        tile.applyMask(
                            b: b, h: h, q0: 0, rows: sq, k0: 0, cols: sk, scores: s, ld: sk)
                        tile.applyALiBi(h: h, q0: 0, rows: sq, k0: 0, cols: sk, scores: s, ld: sk)
                        tile.backwardProbabilities(
                            rows: sq, cols: sk, scores: s, ld: sk, logSumExp: lse + slice * sq)
                        let weights = tile.scoreGradient(
                            b: b, h: h, q0: 0, rows: sq, k0: 0, cols: sk, probabilities: s,
                            weights: w, gradient: ds, ld: sk, gradOutput: gp, ldo: gs[2], value: vp,
                            ldv: vs[2], valueDim: dv, rowDot: rowDot + slice * sq)
                        sgemm(1, 0, sk, dv, sq, 1, weights, sk, gp, gs[2], 1, gvp, dv)  // dV += Wᵀ·dO
                        sgemm(0, 0, sq, d, sk, scale, ds, sk, pkp, ks[2], 0, gq + slice * sq * d, d)
                        sgemm(1, 0, sk, d, sq, scale, ds, sk, pqp, qs[2], 1, gkp, d)  // dK += s·dSᵀ·Q
                    }
                }
            }
        }
        return AttentionGradients(gradQuery: dQ, gradKey: dK, gradValue: dV, backend: .reference)
    }
}

/// Calls `body` with the inputs' and the gradients' element pointers (sendable into the
/// parallel tasks; every task writes only the rows it owns).
func withPointers(
    _ p: AttentionProblem, _ inputs: BackwardInputs, _ dQ: inout Tensor, _ dK: inout Tensor,
    _ dV: inout Tensor,
    _ body: (
        _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
        _ gradOutput: UnsafePointer<Float>, _ rowDot: UnsafePointer<Float>,
        _ gradQuery: UnsafeMutablePointer<Float>, _ gradKey: UnsafeMutablePointer<Float>,
        _ gradValue: UnsafeMutablePointer<Float>, _ productQuery: UnsafePointer<Float>,
        _ productKey: UnsafePointer<Float>
    ) -> Void
) {
    p.query.withUnsafeElements { q in
        p.key.withUnsafeElements { k in
            p.value.withUnsafeElements { v in
                inputs.gradOutput.withUnsafeElements { g in
                    inputs.rowDot.withUnsafeBufferPointer { dots in
                        dQ.withUnsafeMutableElements { gq in
                            dK.withUnsafeMutableElements { gk in
                                dV.withUnsafeMutableElements { gv in
                                    inputs.productQuery.withUnsafeElements { pq in
                                        inputs.productKey.withUnsafeElements { pk in
                                            body(q, k, v, g, dots.baseAddress!, gq, gk, gv, pq, pk)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
