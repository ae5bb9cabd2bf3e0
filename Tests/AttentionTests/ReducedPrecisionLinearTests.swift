import Testing

@testable import Attention

/// `Linear` holding bf16 weights: the AVX512-BF16 GEMM (x rounded to bf16, fp32
/// accumulation) and the portable path (fp32 GEMM on the widened weight), each against a
/// Double reference of what it computes.
@Suite struct ReducedPrecisionLinearTests {
    /// y[r][j] = Σ_k x[r][k]·W[j][k] + b[j] in Double, and Σ |x·W| (the error scale).
    static func reference(_ x: [Float], _ w: Tensor, _ b: Tensor?, rows: Int) -> (
        [Double], [Double]
    ) {
        let (n, k) = (w.shape[0], w.shape[1])
        let ws = w.scalars, bs = b?.scalars
        var y = [Double](repeating: 0, count: rows * n), size = y
        for r in 0..<rows {
            for j in 0..<n {
                var acc = Double(bs?[j] ?? 0), mag = abs(acc)
                for t in 0..<k {
                    let p = Double(x[r * k + t]) * Double(ws[j * k + t])
                    acc += p
                    mag += abs(p)
                }
                (y[r * n + j], size[r * n + j]) = (acc, mag)
            }
        }
        return (y, size)
    }

    @Test(arguments: [(1, 1, 1), (13, 7, 33), (50, 64, 64), (29, 129, 100)])
    func bf16WeightsAgainstDouble(_ shape: (Int, Int, Int)) throws {
        let (rows, k, n) = shape
        let w = Tensor.randomNormal([n, k], seed: 5).converted(to: .bf16)
        let b = Tensor.randomNormal([n], seed: 6)
        let x = Tensor.randomNormal([rows, k], seed: 7)
        var paths: [(ReducedPrecisionKernel, [Float])] = [(.portable, x.scalars)]
        for kernel in ReducedPrecisionKernel.supported where kernel.hasTileProducts {
            paths.append((kernel, x.converted(to: .bf16).scalars))  // x rounded to bf16
        }
        if paths.count == 1 {
            print("skipped: bf16 Linear on bf16 tile products (no AVX512-BF16 or arm64 BF16 here)")
        }
        for bias in [b, nil] {
            let layer = try Linear(weight: w, bias: bias)
            #expect(layer.weight.dtype == .bf16)
            for (kernel, xs) in paths {
                let y = try layer(x, execution: ExecutionOptions(reducedPrecisionKernel: kernel))
                #expect(y.shape == [rows, n] && y.dtype == .f32)
                let (expected, size) = Self.reference(xs, w, bias, rows: rows)
                let worst =
                    zip(y.scalars, zip(expected, size)).map {
                        abs(Double($0) - $1.0) / (1e-5 * $1.1 + 1e-6)
                    }.max() ?? 0
                #expect(worst <= 1, "\(kernel) \(shape) bias=\(bias != nil): \(worst)")
            }
        }
    }
}

extension ReducedPrecisionLinearTests {
    /// A `MultiHeadAttention` whose parameters are replaced by bf16 tensors holds them in bf16
    /// and computes what the fp32 layer computes on the same (widened) values, up to the
    /// rounding of the projections' inputs to bf16.
    @Test func multiHeadAttentionHoldsBF16Weights() throws {
        var bf16 = try MultiHeadAttention(dimensions: 32, numHeads: 4, bias: true, seed: 3)
        var f32 = bf16
        let params = bf16.parameters().mapValues { $0.converted(to: .bf16) }
        try bf16.update(parameters: params)
        try f32.update(parameters: params.mapValues { $0.converted(to: .f32) })
        #expect(bf16.parameters().values.allSatisfy { $0.dtype == .bf16 })
        let x = Tensor.randomNormal([2, 9, 32], seed: 4)
        let expected = try f32(x, mask: .causal)
        let got = try bf16(x, mask: .causal)
        let scale = expected.scalars.map { abs($0) }.max()!
        // Two bf16 roundings of activations (input and attention output): a few 2⁻⁹.
        #expect(got.maxAbsDifference(expected) <= 2e-2 * scale)
        if ReducedPrecisionKernel.supported.contains(where: \.hasTileProducts) {
            #expect(got.maxAbsDifference(expected) > 0)  // the bf16 GEMM ran (inputs rounded)
        }
        let portable = try bf16(
            x, mask: .causal, execution: ExecutionOptions(reducedPrecisionKernel: .portable))
        #expect(portable.maxAbsDifference(expected) <= 1e-5 * scale)
    }
}
