/// The gradient of the additive mask, `∂L/∂M = dS = P ∘ (dP − D)` (the scores' gradient
/// before the scale), summed over the axes the mask broadcasts along.
///
/// Work is split by the mask gradient's own rows — per (mask batch, mask head, block of 32
/// query rows, or all rows when the mask broadcasts over queries) — so each task owns what it
/// writes and the sums run in a fixed order. A task recomputes the score rows it needs
/// (`rows × Sk` at a time, like the reference backward, whose tile steps it shares): scratch
/// is three `32 × Sk` buffers per thread, never `Sq × Sk`.
enum MaskGradient {
    static let rowBlock = 32

    static func gradient(
        of mask: Tensor, _ p: AttentionProblem, _ options: AttentionOptions,
        _ inputs: BackwardInputs
    ) -> Tensor {
        let (sq, sk, d, dv) = (p.queries, p.keys, p.headDim, p.valueDim)
        // The mask's shape right-aligned to [B, H, Sq, Sk].
        let ms = [Int](repeating: 1, count: 4 - mask.rank) + mask.shape
        let rowBlocks = ms[2] == 1 ? 1 : (sq + rowBlock - 1) / rowBlock
        let items = ms[0] * ms[1] * rowBlocks
        let workers = Swift.max(1, Swift.min(p.execution.threads, items))
        let rowsMax = ms[2] == 1 ? Swift.min(sq, rowBlock) : rowBlock
        let perWorker = 3 * rowsMax * sk
        var grad = Tensor.zeros(ms)
        guard sq > 0, sk > 0 else { return try! grad.reshaped(mask.shape) }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }
        let arena = SendablePointer(scratch)
        let tile = ScoreTile(p, options)
        let kernels = p.execution.kernels.c
        let (qs, ks, vs, gs) = (
            p.query.strides, p.key.strides, p.value.strides, inputs.gradOutput.strides
        )
        let scale = p.scale
        var dQ = Tensor.zeros([0]), dK = Tensor.zeros([0]), dV = Tensor.zeros([0])
        grad.withUnsafeMutableElements { out in
            let out = SendablePointer(out)
            withPointers(p, inputs, &dQ, &dK, &dV) { q, k, v, g, rowDot, _, _, _, _, _ in
                inputs.logSumExp.withUnsafeElements { lse in
                    parallelFor(count: items, threads: workers) { item, worker in
                        let block = item % rowBlocks, mh = (item / rowBlocks) % ms[1]
                        let mb = item / (rowBlocks * ms[1])
                        let s = arena.base + worker * perWorker
                        let ds = s + rowsMax * sk, w = ds + rowsMax * sk
                        let firstRow = ms[2] == 1 ? 0 : block * rowBlock
                        let lastRow = ms[2] == 1 ? sq : Swift.min(sq, firstRow + rowBlock)
                        for b in ms[0] == 1 ? 0..<p.batch : mb..<mb + 1 {
                            for h in ms[1] == 1 ? 0..<p.heads : mh..<mh + 1 {
                                let hk = h / p.group, slice = b * p.heads + h
                                let kp = k + b * ks[0] + hk * ks[1], vp = v + b * vs[0] + hk * vs[1]
                                var q0 = firstRow
                                while q0 < lastRow {
                                    let rows = Swift.min(rowsMax, lastRow - q0)
                                    let qp = q + b * qs[0] + h * qs[1] + q0 * qs[2]
                                    // P = softmax(scale·Q·Kᵀ + mask + ALiBi) for these rows.
                                    kernels.sgemm(
                                        0, 1, rows, sk, d, scale, qp, qs[2], kp, ks[2], 0, s, sk)
                                    tile.applyMask(
                                        b: b, h: h, q0: q0, rows: rows, k0: 0, cols: sk, scores: s,
                                        ld: sk)
                                    tile.applyALiBi(
                                        h: h, q0: q0, rows: rows, k0: 0, cols: sk, scores: s, ld: sk
                                    )
                                    tile.backwardProbabilities(
                                        rows: rows, cols: sk, scores: s, ld: sk,
                                        logSumExp: lse + slice * sq + q0)
                                    _ = tile.scoreGradient(
                                        b: b, h: h, q0: q0, rows: rows, k0: 0, cols: sk,
                                        probabilities: s, weights: w, gradient: ds, ld: sk,
                                        gradOutput: g + b * gs[0] + h * gs[1] + q0 * gs[2],
                                        ldo: gs[2], value: vp, ldv: vs[2], valueDim: dv,
                                        rowDot: rowDot + slice * sq + q0)
                                    // Sum into the mask's entries (axes of extent 1 collect).
                                    let base = ((mb * ms[1] + mh) * ms[2]) * ms[3]
                                    for r in 0..<rows {
                                        let row =
                                            out.base + base + (ms[2] == 1 ? 0 : (q0 + r) * ms[3])
                                        let src = ds + r * sk
                                        if ms[3] == 1 {
                                            var sum: Float = 0
                                            for j in 0..<sk { sum += src[j] }
                                            row[0] += sum
                                        } else {
                                            for j in 0..<sk { row[j] += src[j] }
                                        }
                                    }
                                    q0 += rows
                                }
                            }
                        }
                    }
                }
            }
        }
        return try! grad.reshaped(mask.shape)
    }
}

extension AttentionMask {
    /// The additive tensors inside the mask (only `.and` may combine them).
    var additiveTensors: [Tensor] {
        switch self {
        case .additive(let t): return [t]
        case .and(let a, let b): return a.additiveTensors + b.additiveTensors
        default: return []
        }
    }
}
