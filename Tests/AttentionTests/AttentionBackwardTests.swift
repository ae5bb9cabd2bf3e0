import Foundation
import Testing
@testable import Attention

/// An independent Double-precision attention forward and backward, written per row as
/// plainly as possible. Shares nothing with the library but `AttentionMask.isVisible/bias`,
/// the ALiBi slopes and the dropout generator's counter formula. The backward computes
/// `D = Σ_j P_j·dP_j` (the library uses `rowsum(dO ∘ O)`, equal in exact arithmetic).
struct DoubleAttention {
    let b: Int, h: Int, hkv: Int, sq: Int, sk: Int, d: Int, dv: Int
    var q: [Double], k: [Double], v: [Double]
    var mask: AttentionMask = .none
    var scale: Double
    var alibi: ALiBi? = nil
    var dropout: Double = 0
    var seed: UInt64 = 0

    init(
        query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask, scale: Float?,
        alibi: ALiBi?, dropout: Float, seed: UInt64
    ) {
        (b, h, sq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        (hkv, sk, dv) = (key.shape[1], key.shape[2], value.shape[3])
        q = query.scalars.map(Double.init)
        k = key.scalars.map(Double.init)
        v = value.scalars.map(Double.init)
        self.mask = mask
        self.scale = scale.map(Double.init) ?? 1 / Double(d).squareRoot()
        self.alibi = alibi
        self.dropout = Double(dropout)
        self.seed = seed
    }

    /// Row (bi, hi, i): probabilities P, dropout factors z (0 or 1/(1−p)).
    private func row(_ bi: Int, _ hi: Int, _ i: Int) -> (p: [Double], z: [Double])? {
        let kh = hi / (h / hkv)
        var s = [Double](repeating: -.infinity, count: sk)
        for j in 0..<sk {
            guard mask.isVisible(query: i, key: j, queries: sq, keys: sk, batch: bi, head: hi)
            else { continue }
            var dot = 0.0
            let qo = ((bi * h + hi) * sq + i) * d, ko = ((bi * hkv + kh) * sk + j) * d
            for x in 0..<d { dot += q[qo + x] * k[ko + x] }
            s[j] = dot * scale
            if !mask.tensors.isEmpty {
                s[j] += Double(mask.bias(query: i, key: j, batch: bi, head: hi))
            }
            if let alibi {
                let dist = Double(i + (alibi.alignment == .bottomRight ? sk - sq : 0) - j)
                s[j] -= Double(alibi.slopes[hi]) * (alibi.form == .symmetric ? abs(dist) : dist)
            }
        }
        let m = s.max() ?? -.infinity
        guard m > -.infinity else { return nil }
        let e = s.map { exp($0 - m) }
        let total = e.reduce(0, +)
        let rng = CounterRNG(seed: seed)
        let counter0 = ((bi * h + hi) * sq + i) * sk
        let z = (0..<sk).map { j in
            dropout > 0 && Double(rng.uniform(at: UInt64(counter0 + j))) < dropout
                ? 0 : 1 / (1 - dropout)
        }
        return (e.map { $0 / total }, z)
    }

    /// The output `[B, H, Sq, Dv]`.
    func forward() -> [Double] {
        var o = [Double](repeating: 0, count: b * h * sq * dv)
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in 0..<sq {
                    guard let (p, z) = row(bi, hi, i) else { continue }
                    let oo = ((bi * h + hi) * sq + i) * dv
                    for j in 0..<sk {
                        let vo = ((bi * hkv + kh) * sk + j) * dv
                        for x in 0..<dv { o[oo + x] += p[j] * z[j] * v[vo + x] }
                    }
                }
            }
        }
        return o
    }

    /// (dQ, dK, dV) for `gradOutput` `[B, H, Sq, Dv]`.
    func backward(_ dO: [Double]) -> (q: [Double], k: [Double], v: [Double]) {
        var gq = [Double](repeating: 0, count: q.count)
        var gk = [Double](repeating: 0, count: k.count)
        var gv = [Double](repeating: 0, count: v.count)
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in 0..<sq {
                    guard let (p, z) = row(bi, hi, i) else { continue }
                    let go = ((bi * h + hi) * sq + i) * dv, qo = ((bi * h + hi) * sq + i) * d
                    var dp = [Double](repeating: 0, count: sk)
                    for j in 0..<sk {
                        let vo = ((bi * hkv + kh) * sk + j) * dv
                        var dw = 0.0
                        for x in 0..<dv {
                            dw += dO[go + x] * v[vo + x]
                            gv[vo + x] += p[j] * z[j] * dO[go + x]
                        }
                        dp[j] = dw * z[j]
                    }
                    var dsum = 0.0
                    for j in 0..<sk { dsum += p[j] * dp[j] }
                    for j in 0..<sk {
                        let ds = p[j] * (dp[j] - dsum) * scale
                        let ko = ((bi * hkv + kh) * sk + j) * d
                        for x in 0..<d {
                            gq[qo + x] += ds * k[ko + x]
                            gk[ko + x] += ds * q[qo + x]
                        }
                    }
                }
            }
        }
        return (gq, gk, gv)
    }
}

/// ‖a − b‖₂ / ‖b‖₂ (‖a‖₂ when b is all zeros).
func normwiseError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var diff = 0.0, ref = 0.0
    for i in a.indices {
        diff += (a[i] - b[i]) * (a[i] - b[i])
        ref += b[i] * b[i]
    }
    return ref > 0 ? (diff / ref).squareRoot() : diff.squareRoot()
}

@Suite struct AttentionBackwardTests {
    /// Normwise relative error allowed for an fp32 backward against the Double oracle.
    static let tolerance = 1e-4

    static let cases: [Case] = [
        Case(h: 2, hkv: 2, sq: 37, sk: 53, d: 7),
        Case(b: 2, h: 4, hkv: 2, sq: 45, sk: 30, d: 64),
        Case(h: 4, hkv: 1, sq: 29, sk: 29, d: 1),
        Case(h: 2, hkv: 1, sq: 17, sk: 70, d: 16, dv: 9),
    ]

    /// Every mask kind, with sizes taken from the case (tensor masks need them).
    static func masks(_ c: Case) -> [(String, AttentionMask)] {
        let rng = CounterRNG(seed: 77)
        var dense = (0..<(c.sq * c.sk)).map { rng.uniform(at: UInt64($0)) < 0.6 ? Float(1) : 0 }
        for j in 0..<c.sk { dense[2 * c.sk + j] = 0 }  // row 2 sees no key
        let additive = Tensor.randomNormal([1, c.h, c.sq, c.sk], seed: 78)
        return [
            ("none", .none), ("causal", .causal), ("causalFromBottomRight", .causalFromBottomRight),
            ("slidingWindow", .slidingWindow(left: 9, right: 3)),
            ("slidingWindowFromBottomRight", .slidingWindowFromBottomRight(left: 9, right: 3)),
            ("dense", .dense(try! Tensor(shape: [c.sq, c.sk], scalars: dense))),
            ("additive", .additive(additive)),
        ]
    }

    struct Features: Sendable {
        var scale: Float? = nil
        var alibi = false
        var dropout: Float = 0
    }

    /// Runs the library's forward (fused, returning the LSE) and backward on `backend`, and
    /// compares the three gradients with the Double oracle's.
    func check(
        _ c: Case, mask: AttentionMask, features: Features = Features(),
        backend: AttentionBackend, execution: ExecutionOptions, seed: UInt64 = 1,
        label: String
    ) throws {
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, dv: c.dv, seed: seed)
        let dv = c.dv ?? c.d
        let gradOutput = Tensor.randomNormal([c.b, c.h, c.sq, dv], seed: seed &+ 10)
        let alibi = features.alibi ? try ALiBi(heads: c.h, form: .symmetric) : nil
        let options = AttentionOptions(
            mask: mask, scale: features.scale, dropout: features.dropout, dropoutSeed: 5,
            alibi: alibi, backend: backend, returnLogSumExp: true, execution: execution)
        var forwardOptions = options
        forwardOptions.backend = .fused
        let forward = try scaledDotProductAttention(
            query: q, key: k, value: v, options: forwardOptions)
        let grads = try scaledDotProductAttentionBackward(
            gradOutput: gradOutput, query: q, key: k, value: v, output: forward.output,
            logSumExp: forward.logSumExp!, options: options)
        #expect(grads.backend == (backend == .reference ? .reference : .fused))
        let oracle = DoubleAttention(
            query: q, key: k, value: v, mask: mask, scale: features.scale, alibi: alibi,
            dropout: features.dropout, seed: 5)
        let want = oracle.backward(gradOutput.scalars.map(Double.init))
        for (name, got, expected) in [
            ("gradQuery", grads.gradQuery, want.q), ("gradKey", grads.gradKey, want.k),
            ("gradValue", grads.gradValue, want.v),
        ] {
            #expect(
                got.shape == (name == "gradQuery" ? q.shape : name == "gradKey" ? k.shape : v.shape)
            )
            let error = normwiseError(got.scalars.map(Double.init), expected)
            #expect(error <= Self.tolerance, "\(label) \(c) \(name): normwise error \(error)")
        }
        // Rows that see no key: exactly zero dQ.
        let gq = grads.gradQuery.scalars
        for bi in 0..<c.b {
            for hi in 0..<c.h {
                for i in 0..<c.sq
                where !(0..<c.sk).contains(where: {
                    mask.isVisible(
                        query: i, key: $0, queries: c.sq, keys: c.sk, batch: bi, head: hi)
                }) {
                    let o = ((bi * c.h + hi) * c.sq + i) * c.d
                    #expect(
                        gq[o..<o + c.d].allSatisfy { $0 == 0 }, "\(label) \(c): row \(i) not zero")
                }
            }
        }
    }

    @Test(arguments: [AttentionBackend.fused, .reference], InstructionSet.supported)
    func masksAndSizes(backend: AttentionBackend, isa: InstructionSet) throws {
        // Small tiles, so that every case has several query and key blocks.
        let execution = ExecutionOptions(
            threads: 2, instructionSet: isa, queryBlock: 12, keyBlock: 32)
        for c in Self.cases {
            for (name, mask) in Self.masks(c) {
                try check(
                    c, mask: mask, backend: backend, execution: execution, label: "\(isa) \(name)")
            }
        }
    }

    @Test(arguments: [AttentionBackend.fused, .reference], InstructionSet.supported)
    func alibiDropoutScale(backend: AttentionBackend, isa: InstructionSet) throws {
        // One thread: the single-pass mode for the cases with ≥ 2 (batch, kv head) pairs.
        let execution = ExecutionOptions(
            threads: 1, instructionSet: isa, queryBlock: 24, keyBlock: 32)
        let features = [
            Features(alibi: true), Features(dropout: 0.3), Features(scale: 0.37),
            Features(scale: 0.8, alibi: true, dropout: 0.2),
        ]
        for c in Self.cases {
            for f in features {
                for mask in [AttentionMask.none, .causalFromBottomRight] {
                    try check(
                        c, mask: mask, features: f, backend: backend, execution: execution,
                        label: "\(isa) \(mask) \(f)")
                }
            }
        }
    }

    /// The default tiles and threads, a size spanning several default tiles.
    @Test func defaultExecution() throws {
        let c = Case(b: 1, h: 2, hkv: 1, sq: 200, sk: 230, d: 64)
        for mask in [AttentionMask.none, .causal] {
            try check(
                c, mask: mask, backend: .automatic, execution: ExecutionOptions(), label: "default")
        }
    }

    /// The backward's own default tiles apply only when the caller left tiles to the library:
    /// a requested tile or a precomputed block mask (built for the forward's defaults) keeps
    /// the forward's tiles, and the gradients with that block mask match the oracle.
    @Test func backwardTilesOnlyWhenUnrequested() throws {
        let tiled = try AttentionProblem(
            query: Tensor.zeros([1, 1, 200, 64]), key: Tensor.zeros([1, 1, 230, 64]),
            value: Tensor.zeros([1, 1, 230, 64]),
            options: FlashBackward.tiled(AttentionOptions(mask: .causal)))
        #expect(tiled.keyBlock == FlashBackward.tunedKeyBlock)
        let requested = FlashBackward.tiled(
            AttentionOptions(execution: ExecutionOptions(keyBlock: 64)))
        #expect(requested.execution.keyBlock == 64)
        let blocks = BlockMask.forFusedKernel(mask: .causal, queries: 200, keys: 230)
        var options = AttentionOptions(mask: .causal, returnLogSumExp: true)
        options.blockMask = blocks
        #expect(FlashBackward.tiled(options).execution.keyBlock == nil)
        let c = Case(b: 1, h: 2, hkv: 1, sq: 200, sk: 230, d: 64)
        let (q, k, v) = randomQKV(b: 1, h: 2, hkv: 1, sq: 200, sk: 230, d: 64, dv: nil, seed: 3)
        let forward = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let dO = Tensor.randomNormal([1, 2, 200, 64], seed: 4)
        let grads = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: forward.output,
            logSumExp: forward.logSumExp!, options: options)
        let want = DoubleAttention(
            query: q, key: k, value: v, mask: .causal, scale: nil, alibi: nil, dropout: 0, seed: 5
        ).backward(dO.scalars.map(Double.init))
        for (got, expected) in [
            (grads.gradQuery, want.q), (grads.gradKey, want.k), (grads.gradValue, want.v),
        ] {
            let error = normwiseError(got.scalars.map(Double.init), expected)
            #expect(error <= Self.tolerance, "\(c) block mask: normwise error \(error)")
        }
    }

    /// The oracle's backward against central differences of `L = Σ dO ∘ O(q, k, v)` in
    /// Double, then the library's gradients against the same differences.
    @Test func finiteDifferences() throws {
        let c = Case(b: 1, h: 2, hkv: 1, sq: 3, sk: 5, d: 3)
        let (q, k, v) = randomQKV(b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, seed: 3)
        let gradOutput = Tensor.randomNormal([1, 2, 3, 3], seed: 4)
        let dO = gradOutput.scalars.map(Double.init)
        let alibi = try ALiBi(heads: 2, form: .causal)
        for (mask, dropout, withALiBi) in [
            (AttentionMask.none, Float(0), false), (.causalFromBottomRight, 0.4, true),
            (.additive(Tensor.randomNormal([3, 5], seed: 9)), 0, true),
        ] {
            let oracle = DoubleAttention(
                query: q, key: k, value: v, mask: mask, scale: nil,
                alibi: withALiBi ? alibi : nil, dropout: dropout, seed: 5)
            func loss(_ o: DoubleAttention) -> Double {
                zip(o.forward(), dO).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let eps = 1e-6
            func numeric(_ path: WritableKeyPath<DoubleAttention, [Double]>) -> [Double] {
                (0..<oracle[keyPath: path].count).map { i in
                    var plus = oracle, minus = oracle
                    plus[keyPath: path][i] += eps
                    minus[keyPath: path][i] -= eps
                    return (loss(plus) - loss(minus)) / (2 * eps)
                }
            }
            let fd = (q: numeric(\.q), k: numeric(\.k), v: numeric(\.v))
            let analytic = oracle.backward(dO)
            for (a, n) in [(analytic.q, fd.q), (analytic.k, fd.k), (analytic.v, fd.v)] {
                #expect(normwiseError(a, n) <= 1e-7, "oracle vs finite differences, \(mask)")
            }
            for backend in [AttentionBackend.fused, .reference] {
                let options = AttentionOptions(
                    mask: mask, dropout: dropout, dropoutSeed: 5, alibi: withALiBi ? alibi : nil,
                    backend: backend, returnLogSumExp: true)
                let forward = try scaledDotProductAttention(
                    query: q, key: k, value: v, options: options)
                let g = try scaledDotProductAttentionBackward(
                    gradOutput: gradOutput, query: q, key: k, value: v, output: forward.output,
                    logSumExp: forward.logSumExp!, options: options)
                for (got, n) in [(g.gradQuery, fd.q), (g.gradKey, fd.k), (g.gradValue, fd.v)] {
                    let error = normwiseError(got.scalars.map(Double.init), n)
                    #expect(
                        error <= Self.tolerance,
                        "\(backend) vs finite differences, \(mask): \(error)")
                }
            }
        }
    }

    /// Strided views (a `[B, S, H, D]` layout seen as `[B, H, S, D]`) give the same
    /// gradients as contiguous copies, bit for bit.
    @Test func stridedInputs() throws {
        let q = Tensor.randomNormal([2, 40, 4, 16], seed: 1).transposed(1, 2)
        let k = Tensor.randomNormal([2, 33, 2, 16], seed: 2).transposed(1, 2)
        let v = Tensor.randomNormal([2, 33, 2, 16], seed: 3).transposed(1, 2)
        let dO = Tensor.randomNormal([2, 40, 4, 16], seed: 4).transposed(1, 2)
        let options = AttentionOptions(mask: .causal, returnLogSumExp: true)
        let f = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let strided = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: f.output,
            logSumExp: f.logSumExp!, options: options)
        let dense = try scaledDotProductAttentionBackward(
            gradOutput: dO.contiguous(), query: q.contiguous(), key: k.contiguous(),
            value: v.contiguous(), output: f.output, logSumExp: f.logSumExp!, options: options)
        #expect(strided.gradQuery == dense.gradQuery)
        #expect(strided.gradKey == dense.gradKey)
        #expect(strided.gradValue == dense.gradValue)
    }

    /// The backward visits exactly the tiles the block classification lists (once per query
    /// head and pass; one pass with 1 thread here, two with 2): masked tiles are skipped.
    @Test func visitsOnlyVisibleTiles() throws {
        let (q, k, v) = randomQKV(b: 1, h: 4, hkv: 2, sq: 200, sk: 200, d: 8, seed: 6)
        for mask in [AttentionMask.causal, .slidingWindow(left: 30, right: 0)] {
            for threads in [1, 2] {
                let options = AttentionOptions(
                    mask: mask, returnLogSumExp: true,
                    execution: ExecutionOptions(threads: threads, queryBlock: 24, keyBlock: 32))
                let f = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
                let problem = try AttentionProblem(query: q, key: k, value: v, options: options)
                let inputs = BackwardInputs(
                    problem, gradOutput: f.output, output: f.output, logSumExp: f.logSumExp!)
                let visited = FlashBackward.gradients(problem, options, inputs).visitedTiles
                let blocks = BlockMask(
                    mask: mask, queries: 200, keys: 200, queryBlockSize: 24, keyBlockSize: 32)
                #expect(FlashBackward.singlePass(problem) == (threads == 1))
                #expect(visited == (threads == 1 ? 1 : 2) * 4 * blocks.visitedBlockCount)
                #expect(blocks.visitedBlockCount < 9 * 7)
            }
        }
    }

    @Test func errorsNameTheArgument() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 5, sk: 6, d: 4, seed: 1)
        let o = Tensor.zeros([1, 2, 5, 4]), lse = Tensor.zeros([1, 2, 5])
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: Tensor.zeros([1, 2, 5, 3]), query: q, key: k, value: v, output: o,
                logSumExp: lse)
        } throws: { ($0 as? AttentionError)?.argument == "gradOutput" }
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: o, query: q, key: k, value: v, output: Tensor.zeros([1, 2, 4]),
                logSumExp: lse)
        } throws: { ($0 as? AttentionError)?.argument == "output" }
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: o, query: q, key: k, value: v, output: o,
                logSumExp: Tensor.zeros([1, 2, 6]))
        } throws: { ($0 as? AttentionError)?.argument == "logSumExp" }
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: o, query: q, key: Tensor.zeros([1, 2, 6, 3]), value: v, output: o,
                logSumExp: lse)
        } throws: { ($0 as? AttentionError)?.argument == "key" }
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: o, query: q, key: k, value: v, output: o, logSumExp: lse,
                options: AttentionOptions(dropout: 1))
        } throws: { ($0 as? AttentionError)?.argument == "dropout" }
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: o, query: q, key: k, value: v, output: o, logSumExp: lse,
                options: AttentionOptions(
                    backend: .reference, execution: ExecutionOptions(memoryLimit: 16)))
        } throws: { ($0 as? AttentionError)?.kind == .outOfMemoryBudget }
    }
}
