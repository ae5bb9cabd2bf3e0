import Testing

@testable import Attention

/// The packed-weight GEMM behind `Linear` and the stacked Q/K/V projection, against Double
/// sums at sizes that exercise every edge: depth over one 256-deep block (two passes that
/// accumulate), widths that are not a multiple of the 32-column panels or of any variant's
/// micro-tile, row counts that leave partial 12- and 6-row tiles, with and without bias, on
/// every variant and several thread counts.
@Suite struct PackedGEMMTests {
    func expected(_ x: Tensor, _ layer: Linear) -> [Double] {
        let (k, n) = (layer.inputDimensions, layer.outputDimensions)
        let rows = x.count / k
        let (xs, w, b) = (x.scalars, layer.weight.scalars, layer.bias?.scalars)
        var out = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var acc = b.map { Double($0[j]) } ?? 0
                for i in 0..<k { acc += Double(xs[r * k + i]) * Double(w[j * k + i]) }
                out[r * n + j] = acc
            }
        }
        return out
    }

    @Test(arguments: [(29, 300, 47), (13, 256, 32), (1, 513, 70), (100, 64, 33), (7, 5, 1)])
    func linearMatchesDoubleAtAwkwardSizes(_ dims: (Int, Int, Int)) throws {
        let (rows, k, n) = dims
        let x = Tensor.randomNormal([rows, k], seed: 21)
        for bias in [true, false] {
            let layer = try Linear(k, n, bias: bias, seed: 22)
            let reference = expected(x, layer)
            // Float sums of k products: allow k·ulp-scale error relative to the magnitudes.
            let tolerance = 4e-7 * Double(k).squareRoot() * 8
            for isa in InstructionSet.supported {
                for threads in [1, 2, 3] {
                    let y = try layer(
                        x, execution: ExecutionOptions(threads: threads, instructionSet: isa))
                    #expect(y.shape == [rows, n])
                    #expect(
                        maxError(y, reference) <= tolerance,
                        "\(isa) threads \(threads) bias \(bias) \(dims)")
                }
            }
        }
    }

    @Test func replacedWeightsArePackedAgain() throws {
        var layer = try Linear(40, 36, seed: 1)
        let x = Tensor.randomNormal([5, 40], seed: 2)
        let before = try layer(x)
        try layer.update(parameters: [
            "weight": Tensor.randomNormal([36, 40], seed: 3),
            "bias": Tensor.randomNormal([36], seed: 4),
        ])
        let after = try layer(x)
        #expect(maxError(after, expected(x, layer)) <= 1e-5)
        #expect(before.maxAbsDifference(after) > 0.1, "the new weight is used")
    }
}
