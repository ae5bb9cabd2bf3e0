/// What the backward pass needs besides the forward's inputs: `dO` and `O` (unit stride
/// along the feature axis, in the inputs' dtype), the log-sum-exp, and `D = rowsum(dO ∘ O)`
/// per row.
struct BackwardInputs {
    let gradOutput: Tensor, output: Tensor
    /// `[B, H, Sq]`, row-major.
    let logSumExp: Tensor
    /// `D_i = Σ_c dO[i, c]·O[i, c]` per (batch, head, query), row-major `[B, H, Sq]`,
    /// accumulated in Double. (With dropout it still equals `rowsum(P ∘ dP)`: `O = W·V`.)
    let rowDot: [Float]
    /// The query and key the gradient products (`dQ = dS·K`, `dK = dSᵀ·Q`) read: the
    /// problem's, or — when the non-finite screen left NaN rows in them — copies with those
    /// rows zeroed, so that `0 · NaN` cannot carry a poisoned key into a row that does not
    /// see it (or a poisoned query into a key it does not see). Same strides as the problem's.
    let productQuery: Tensor, productKey: Tensor

    init(_ p: AttentionProblem, gradOutput: Tensor, output: Tensor, logSumExp: Tensor) {
        func zeroingNaN(_ t: Tensor) -> Tensor {
            guard p.checksScores, t.isContiguous, t.scalars.contains(where: { $0.isNaN }) else {
                return t
            }
            return t.map { $0.isNaN ? 0 : $0 }
        }
        (productQuery, productKey) = (zeroingNaN(p.query), zeroingNaN(p.key))
        let gradOutput = gradOutput.strides[3] == 1 ? gradOutput : gradOutput.contiguous()
        let output = output.strides[3] == 1 ? output : output.contiguous()
        (self.gradOutput, self.output) = (gradOutput, output)
        self.logSumExp = logSumExp.contiguous()
        let (sq, dv) = (p.queries, p.valueDim)
        let half = p.execution.half.c, format = HalfKernelTable.format(gradOutput.dtype)
        rowDot = [Float](unsafeUninitializedCapacity: Swift.max(1, p.batch * p.heads * sq)) {
            dots, count in
            let dots = SendablePointer(dots.baseAddress!)
            gradOutput.withUnsafeRawElements { g in
                output.withUnsafeRawElements { o in
                    let g = UncheckedBox(g), o = UncheckedBox(o)
                    parallelFor(count: p.batch * p.heads, threads: p.execution.threads) { item, _ in
                        let b = item / p.heads, h = item % p.heads
                        let gs = gradOutput.strides, os = output.strides
                        // bf16/f16 rows are widened into a row pair of scratch first.
                        let wide = UnsafeMutablePointer<Float>.allocate(capacity: 2 * dv)
                        defer { wide.deallocate() }
                        for i in 0..<sq {
                            let gi = b * gs[0] + h * gs[1] + i * gs[2]
                            let oi = b * os[0] + h * os[1] + i * os[2]
                            let (x, y): (UnsafePointer<Float>, UnsafePointer<Float>)
                            if gradOutput.dtype == .f32 {
                                x = g.value.assumingMemoryBound(to: Float.self) + gi
                                y = o.value.assumingMemoryBound(to: Float.self) + oi
                            } else {
                                let gh = g.value.assumingMemoryBound(to: UInt16.self)
                                let oh = o.value.assumingMemoryBound(to: UInt16.self)
                                half.to_f32(format, dv, gh + gi, wide)
                                half.to_f32(format, dv, oh + oi, wide + dv)
                                (x, y) = (UnsafePointer(wide), UnsafePointer(wide + dv))
                            }
                            var sum = 0.0
                            for c in 0..<dv { sum += Double(x[c]) * Double(y[c]) }
                            dots.base[item * sq + i] = Float(sum)
                        }
                    }
                }
            }
            count = p.batch * p.heads * sq
        }
    }
}
