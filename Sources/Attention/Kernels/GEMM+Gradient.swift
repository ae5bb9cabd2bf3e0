/// The products a layer's backward pass needs besides `GEMM.multiply`: a weight gradient
/// `dYᵀ·X` summed over every row, and a bias gradient (column sums).
extension GEMM {
    /// `aᵀ·b` with every leading axis folded into the summed rows: `a` `[..., M]`,
    /// `b` `[..., N]` with the same leading axes (`R` rows in all), result `[M, N]`.
    ///
    /// The `M` output rows are split across the call's threads; each task reads all `R` rows
    /// of both operands (`sgemm` with `op(A) = Aᵀ`). Strided operands are copied first.
    static func multiplyTransposingLeft(_ a: Tensor, _ b: Tensor, execution: ResolvedExecution)
        -> Tensor
    {
        precondition(
            a.rank >= 1 && a.shape.dropLast() == b.shape.dropLast(),
            "GEMM operands: \(a.shape)ᵀ × \(b.shape)")
        let (m, n) = (a.shape[a.rank - 1], b.shape[b.rank - 1])
        let rows = a.count / Swift.max(1, m)
        guard rows > 0, m > 0, n > 0 else { return Tensor.zeros([m, n]) }
        let a = a.contiguous(), b = b.contiguous()
        let sgemm = execution.kernels.c.sgemm
        let chunk = rowChunk(rows: m, batches: 1, threads: execution.threads)
        return Tensor(uninitializedShape: [m, n]) { pc in
            a.withUnsafeElements { pa in
                b.withUnsafeElements { pb in
                    let pa = SendableConstPointer(pa), pb = SendableConstPointer(pb),
                        pc = SendablePointer(pc)
                    parallelFor(count: (m + chunk - 1) / chunk, threads: execution.threads) {
                        item, _ in
                        let row = item * chunk, count = Swift.min(chunk, m - row)
                        sgemm(
                            1, 0, count, n, rows, 1, pa.base + row, m, pb.base, n, 0,
                            pc.base + row * n, n)
                    }
                }
            }
        }
    }

    /// The sum of `x` `[..., N]` over every leading axis, `[N]` (accumulated in Double).
    static func columnSums(_ x: Tensor) -> Tensor {
        let n = x.shape.last ?? 1
        let values = x.scalars
        var sums = [Double](repeating: 0, count: n)
        var i = 0
        while i < values.count {
            for c in 0..<n { sums[c] += Double(values[i + c]) }
            i += n
        }
        return Tensor(unchecked: [n], storage: sums.map { Float($0) })
    }
}
