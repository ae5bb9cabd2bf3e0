import Foundation
import Testing
@testable import Attention

/// The micro-kernels on their own: exp accuracy, GEMM and variant selection, on every
/// instruction-set variant the machine has (the portable one everywhere). Each call names
/// its variant in its options, so these tests run in parallel with everything else.
@Suite struct KernelTests {
    func withEachVariant(_ body: (InstructionSet) throws -> Void) rethrows {
        for isa in InstructionSet.supported { try body(isa) }
    }

    /// Distance in units in the last place between two positive normal floats.
    func ulps(_ a: Float, _ b: Float) -> Int {
        abs(Int(a.bitPattern) - Int(b.bitPattern))
    }

    @Test func expIsWithinTwoUlpOverTheSoftmaxRange() {
        // Every 97th float bit pattern from −87.33 (ln FLT_MIN) to 88.72, plus hand-picked values.
        var xs: [Float] = [
            0, -0.0, 1, -1, 0.5, -0.5, 1e-8, -1e-8, 88.7, -87.3, 20, -20, 0.693147, -0.693147,
        ]
        var bits = Float(-87.33).bitPattern
        while Float(bitPattern: bits) < 0 && bits > Float(-0.0).bitPattern {
            xs.append(Float(bitPattern: bits)); bits = bits &- 97 * 1024
        }
        var v: Float = 1e-30
        while v < 88.72 { xs.append(v); v *= 1.003 }
        withEachVariant { isa in
            let ys = vectorizedExp(xs, kernels: KernelTable(isa)!)
            var worst = 0
            for (x, y) in zip(xs, ys) {
                let expected = Float(exp(Double(x)))
                worst = max(worst, ulps(y, expected))
            }
            #expect(worst <= 2, "\(isa): worst error \(worst) ulp over \(xs.count) values")
        }
    }

    @Test func expSpecialValues() {
        withEachVariant { isa in
            let ys = vectorizedExp(
                [-.infinity, -1000, -88, 89, .infinity, .nan, -87.0], kernels: KernelTable(isa)!)
            #expect(ys[0] == 0 && ys[1] == 0, "\(isa): exp(−inf) and large negatives are exactly 0")
            #expect(
                ys[2] >= 0 && ys[2] < Float.leastNormalMagnitude,
                "\(isa): below FLT_MIN flushes toward 0")
            #expect(ys[3] == .infinity && ys[4] == .infinity, "\(isa): overflow gives +inf")
            #expect(ys[5].isNaN, "\(isa): NaN propagates")
            #expect(ulps(ys[6], Float(exp(-87.0))) <= 2)
        }
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 5), (33, 17, 64), (100, 129, 70), (12, 32, 256)])
    func matmulMatchesDouble(_ dims: (Int, Int, Int)) throws {
        let (m, n, k) = dims
        let a = Tensor.randomNormal([2, m, k], seed: 1), b = Tensor.randomNormal([k, n], seed: 2)
        var expected = [Double](repeating: 0, count: 2 * m * n)
        let (sa, sb) = (a.scalars, b.scalars)
        for bi in 0..<2 {
            for i in 0..<m {
                for j in 0..<n {
                    var acc = 0.0
                    for p in 0..<k {
                        acc += Double(sa[(bi * m + i) * k + p]) * Double(sb[p * n + j])
                    }
                    expected[(bi * m + i) * n + j] = acc
                }
            }
        }
        try withEachVariant { isa in
            let c = try a.matmul(b, execution: ExecutionOptions(instructionSet: isa))
            #expect(c.shape == [2, m, n])
            // Float accumulation over k terms of size ~1: error ≤ k·ε·(Σ|a||b|) ≈ 1e-6·k.
            #expect(maxError(c, expected) <= 2e-6 * Double(k) + 1e-6, "\(isa) \(dims)")
        }
    }

    @Test func linearMatchesDouble() throws {
        let layer = try Linear(9, 5, seed: 3)
        let x = Tensor.randomNormal([4, 3, 9], seed: 4)
        let y = try layer(x)
        let (w, b, xs) = (layer.weight.scalars, layer.bias!.scalars, x.scalars)
        var expected = [Double](repeating: 0, count: 12 * 5)
        for r in 0..<12 {
            for j in 0..<5 {
                var acc = Double(b[j])
                for i in 0..<9 { acc += xs[r * 9 + i].d * w[j * 9 + i].d }
                expected[r * 5 + j] = acc
            }
        }
        #expect(y.shape == [4, 3, 5])
        #expect(maxError(y, expected) <= 1e-5)
        // PyTorch's default initialisation bound 1/√in.
        #expect(w.allSatisfy { abs($0) <= 1 / Float(9).squareRoot() })
        #expect { _ = try layer(Tensor.zeros([2, 8])) } throws: {
            ($0 as? AttentionError)?.argument == "input"
        }
    }

    @Test func batchedMatmulAndLinearOnEveryVariantAndThreadCount() throws {
        // Batched right operand (one product per matrix) and a transposed weight with bias.
        let a = Tensor.randomNormal([3, 20, 7], seed: 5),
            b = Tensor.randomNormal([3, 7, 9], seed: 6)
        let (sa, sb) = (a.scalars, b.scalars)
        var expected = [Double](repeating: 0, count: 3 * 20 * 9)
        for bi in 0..<3 {
            for i in 0..<20 {
                for j in 0..<9 {
                    var acc = 0.0
                    for p in 0..<7 {
                        acc += sa[(bi * 20 + i) * 7 + p].d * sb[(bi * 7 + p) * 9 + j].d
                    }
                    expected[(bi * 20 + i) * 9 + j] = acc
                }
            }
        }
        let layer = try Linear(7, 4, seed: 8)
        let (w, bias) = (layer.weight.scalars, layer.bias!.scalars)
        var linear = [Double](repeating: 0, count: 3 * 20 * 4)
        for r in 0..<60 {
            for j in 0..<4 {
                var acc = bias[j].d
                for p in 0..<7 { acc += sa[r * 7 + p].d * w[j * 7 + p].d }
                linear[r * 4 + j] = acc
            }
        }
        for isa in InstructionSet.supported {
            for threads in [1, 2, 5] {
                let execution = ExecutionOptions(threads: threads, instructionSet: isa)
                let c = try a.matmul(b, execution: execution)
                #expect(c.shape == [3, 20, 9])
                #expect(maxError(c, expected) <= 1e-5, "\(isa) threads \(threads)")
                let y = try layer(a, execution: execution)
                #expect(y.shape == [3, 20, 4])
                #expect(maxError(y, linear) <= 1e-5, "\(isa) threads \(threads)")
            }
        }
    }

    /// The fused kernel on each variant, and with tiles other than the default.
    @Test func fusedAttentionOnEveryVariant() throws {
        for isa in InstructionSet.supported {
            for (i, c) in [
                Case(h: 2, hkv: 1, sq: 113, sk: 203, d: 59), Case(sq: 130, sk: 130, d: 64, dv: 40),
            ].enumerated() {
                for execution in [
                    ExecutionOptions(instructionSet: isa),
                    ExecutionOptions(instructionSet: isa, queryBlock: 24, keyBlock: 64),
                ] {
                    let f = FusedAttentionTests()
                    try f.check(c, mask: .causal, seed: UInt64(300 + i), execution: execution)
                    try f.check(
                        c, mask: .none, dropout: 0.2, seed: UInt64(310 + i), execution: execution)
                    try f.check(
                        c, mask: .slidingWindow(left: 20, right: 3), seed: UInt64(320 + i),
                        execution: execution)
                }
            }
        }
    }

    @Test func invalidExecutionOptionsThrowNamingTheSetting() throws {
        let (q, k, v) = randomQKV(b: 1, h: 1, sq: 8, sk: 8, d: 4, seed: 1)
        var bad: [(ExecutionOptions, String)] = [
            (ExecutionOptions(threads: 0), "threads"),
            (ExecutionOptions(queryBlock: 13), "queryBlock"),
            (ExecutionOptions(queryBlock: 0), "queryBlock"),
            (ExecutionOptions(queryBlock: 1032), "queryBlock"),
            (ExecutionOptions(keyBlock: 48), "keyBlock"),
            (ExecutionOptions(keyBlock: 2048), "keyBlock"),
            (ExecutionOptions(memoryLimit: -1), "memoryLimit"),
        ]
        for isa in InstructionSet.allCases where !InstructionSet.supported.contains(isa) {
            bad.append((ExecutionOptions(instructionSet: isa), "instructionSet"))
        }
        for (execution, argument) in bad {
            for backend in [AttentionBackend.fused, .reference] {
                #expect {
                    _ = try scaledDotProductAttention(
                        query: q, key: k, value: v,
                        options: AttentionOptions(backend: backend, execution: execution))
                } throws: { ($0 as? AttentionError)?.argument == argument }
            }
            #expect { _ = try q.matmul(k.transposed(2, 3), execution: execution) } throws: {
                ($0 as? AttentionError)?.argument == argument
            }
        }
        // The largest accepted tiles work.
        let big = ExecutionOptions(queryBlock: 1020, keyBlock: 1024)
        _ = try scaledDotProductAttention(
            query: q, key: k, value: v, options: AttentionOptions(backend: .fused, execution: big))
    }
}

extension Float { var d: Double { Double(self) } }

@Suite struct DropoutTests {
    @Test func keptFractionAndScaling() throws {
        let x = Tensor.randomUniform([100, 100], in: 1...2, seed: 1)
        for p: Float in [0.1, 0.5, 0.9] {
            let layer = try Dropout(probability: p)
            let y = layer(x, training: true, seed: 7)
            var kept = 0
            for (a, b) in zip(x.scalars, y.scalars) where b != 0 {
                kept += 1
                #expect(abs(b - a / (1 - p)) <= 1e-6 * b)
            }
            let n = Double(x.count), q = Double(1 - p)
            #expect(abs(Double(kept) / n - q) <= 5 * (q * (1 - q) / n).squareRoot(), "p = \(p)")
            #expect(layer(x, training: true, seed: 7) == y, "same seed, same mask")
            #expect(layer(x, training: true, seed: 8) != y)
            #expect(layer(x, training: false) == x)
        }
        #expect { _ = try Dropout(probability: 1) } throws: {
            ($0 as? AttentionError)?.argument == "probability"
        }
    }
}
