import Attention

// The model's elementwise and per-row steps (layer normalisation, GELU, embedding gather,
// pooling) over contiguous `[rows, width]` storage. The only pointer code of
// AttentionModels; rows are split across the call's threads in chunks of ≥ 32 rows.

enum RowKernels {
    /// Rows per task: enough work per task to pay for the hand-off.
    static let rowsPerTask = 32

    /// Whether every element of contiguous `t` is finite: one pass summing `x · 0`, which is
    /// NaN exactly for a NaN or an infinity.
    static func allFinite(_ t: Tensor) -> Bool {
        t.withUnsafeElements { p in
            var sum: Float = 0
            for i in 0..<t.count { sum += p[i] * 0 }
            return !sum.isNaN
        }
    }

    /// `x ← LayerNorm(x + residual)` row by row (`residual` `nil`: plain LayerNorm):
    /// `y = (v − mean(v)) / sqrt(var(v) + ε) · γ + β` with the biased variance (PyTorch's).
    /// `x` and `residual` have the same shape; `gamma`, `beta` have the last axis' length.
    static func addLayerNorm(
        _ x: inout Tensor, residual: Tensor?, gamma: [Float], beta: [Float], epsilon: Float,
        execution: ResolvedExecution
    ) {
        let n = x.shape.last ?? 0
        precondition(
            gamma.count == n && beta.count == n && residual.map { $0.shape == x.shape } ?? true)
        let rows = n == 0 ? 0 : x.count / n
        let residual = residual?.contiguous()
        x.withUnsafeMutableElements { px in
            let px = SendablePointer(px)
            func run(_ pr: UnsafePointer<Float>?) {
                let pr = pr.map(SendableConstPointer.init)
                gamma.withUnsafeBufferPointer { g in
                    beta.withUnsafeBufferPointer { b in
                        let g = SendableConstPointer(g.baseAddress!),
                            b = SendableConstPointer(b.baseAddress!)
                        parallelFor(
                            count: (rows + rowsPerTask - 1) / rowsPerTask,
                            threads: execution.threads
                        ) { item, _ in
                            for r
                                in (item * rowsPerTask)..<Swift.min(rows, (item + 1) * rowsPerTask)
                            {
                                normalizeRow(
                                    px.base + r * n, pr.map { $0.base + r * n }, n, g.base,
                                    b.base, epsilon)
                            }
                        }
                    }
                }
            }
            if let residual { residual.withUnsafeElements { run($0) } } else { run(nil) }
        }
    }

    /// One row: optional residual add, two-pass mean and variance in 8 lanes, then the affine map.
    @inline(__always)
    private static func normalizeRow(
        _ x: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?, _ n: Int,
        _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, _ epsilon: Float
    ) {
        if let residual { for i in 0..<n { x[i] += residual[i] } }
        let mean = lanesSum(x, n) { $0 } / Float(n)
        let variance = lanesSum(x, n) { ($0 - mean) * ($0 - mean) } / Float(n)
        let inverse = 1 / (variance + epsilon).squareRoot()
        for i in 0..<n { x[i] = (x[i] - mean) * inverse * gamma[i] + beta[i] }
    }

    /// `Σ f(x[i])` with 8 interleaved partial sums (vectorizes without reassociation).
    @inline(__always)
    private static func lanesSum(
        _ x: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>
    ) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += f(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var total = acc.sum()
        while i < n {
            total += f(SIMD8(repeating: x[i]))[0]
            i += 1
        }
        return total
    }

    /// `x ← GELU(x) = x/2 · (1 + erf(x/√2))` elementwise (the exact, erf form).
    static func gelu(_ x: inout Tensor, execution: ResolvedExecution) {
        let count = x.count
        let chunk = 16384
        x.withUnsafeMutableElements { px in
            let px = SendablePointer(px)
            parallelFor(count: (count + chunk - 1) / chunk, threads: execution.threads) {
                item, _ in
                let start = item * chunk
                geluRun(px.base + start, Swift.min(chunk, count - start))
            }
        }
    }

    /// A plain loop over one scalar `erf`, which the compiler vectorizes.
    private static func geluRun(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] = x[i] * 0.5 * (1 + erf(x[i] * 0.70710678118654752)) }
    }

    /// `erf(x)` as a rational function on [−4, 4] (±1 beyond, exact in `Float` there):
    /// `x·P(x²) / Q(x²)`, P of degree 6 and Q of degree 4 (the approximation of Eigen and
    /// XLA); absolute error below 5e-7 against the Double `erf`.
    @inline(__always)
    static func erf(_ a: Float) -> Float {
        let x = Swift.min(Swift.max(a, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }

    /// `out[t] = word[ids[t]] + position[positions[t]] + type[0]` for every token `t`.
    static func gatherEmbeddings(
        ids: [Int], positions: [Int], word: Tensor, position: Tensor, tokenType: Tensor,
        width n: Int
    ) -> Tensor {
        let word = word.contiguous(), position = position.contiguous(),
            tokenType = tokenType.contiguous()
        return Tensor(uninitializedShape: [1, ids.count, n]) { out in
            word.withUnsafeElements { pw in
                position.withUnsafeElements { pp in
                    tokenType.withUnsafeElements { pt in
                        for (t, (id, p)) in zip(ids, positions).enumerated() {
                            let o = out + t * n, w = pw + id * n, q = pp + p * n
                            for i in 0..<n { o[i] = w[i] + q[i] + pt[i] }
                        }
                    }
                }
            }
        }
    }

    /// Mean of each segment's rows of `x` `[T, n]` (segments of `lengths` in order), each
    /// divided by its Euclidean norm when `normalize` (by `max(‖v‖, 1e-12)`, as
    /// `torch.nn.functional.normalize`): `[lengths.count, n]`. Sums run in `Double`.
    static func segmentMeans(_ x: Tensor, lengths: [Int], normalize: Bool) -> Tensor {
        let n = x.shape.last ?? 0
        let x = x.contiguous()
        return Tensor(uninitializedShape: [lengths.count, n]) { out in
            x.withUnsafeElements { px in
                var row = 0
                var sums = [Double](repeating: 0, count: n)
                for (s, length) in lengths.enumerated() {
                    for i in 0..<n { sums[i] = 0 }
                    for r in row..<(row + length) {
                        for i in 0..<n { sums[i] += Double(px[r * n + i]) }
                    }
                    row += length
                    let mean = sums.map { $0 / Double(Swift.max(length, 1)) }
                    var scale = 1.0
                    if normalize {
                        scale = 1 / Swift.max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                    }
                    for i in 0..<n { out[s * n + i] = Float(mean[i] * scale) }
                }
            }
        }
    }
}
