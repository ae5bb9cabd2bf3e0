import Foundation
import Testing
@testable import Attention

/// The backward pass at awkward sizes, the additive mask's gradient, and non-finite inputs.
@Suite struct AttentionBackwardEdgeTests {
    /// Head dimensions 1, 7, 64, 111 with Sq ≠ Sk (both ways) and GQA, against the Double
    /// oracle (normwise relative error ≤ 1e-4, ``AttentionBackwardTests/tolerance``), on both
    /// backends with small tiles (several blocks per axis) and two threads.
    @Test(arguments: [1, 7, 64, 111])
    func awkwardHeadDimensions(d: Int) throws {
        let execution = ExecutionOptions(threads: 2, queryBlock: 12, keyBlock: 32)
        for c in [
            Case(b: 1, h: 4, hkv: 2, sq: 37, sk: 70, d: d),
            Case(b: 2, h: 2, hkv: 1, sq: 61, sk: 26, d: d),
        ] {
            let masks: [(String, AttentionMask)] = [
                ("none", .none), ("causalFromBottomRight", .causalFromBottomRight),
                ("additive", .additive(Tensor.randomNormal([c.sq, c.sk], seed: 8))),
            ]
            for (name, mask) in masks {
                for backend in [AttentionBackend.fused, .reference] {
                    try AttentionBackwardTests().check(
                        c, mask: mask, backend: backend, execution: execution,
                        label: "d\(d) \(name) \(backend)")
                }
            }
        }
    }

    /// `dS = P ∘ (dP − D)` per (b, h, i, j) in Double, plainly; `dP` with the dropout factors.
    static func scoreGradients(
        _ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor, mask: AttentionMask,
        dropout: Double, seed: UInt64
    ) -> [Double] {
        let (b, h, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, sk, dv) = (k.shape[1], k.shape[2], v.shape[3])
        let (qd, kd, vd, gd) = (q.scalars, k.scalars, v.scalars, dO.scalars)
        let scale = 1 / Double(d).squareRoot()
        let rng = CounterRNG(seed: seed)
        var out = [Double](repeating: 0, count: b * h * sq * sk)
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in 0..<sq {
                    var s = [Double](repeating: -.infinity, count: sk)
                    for j in 0..<sk
                    where mask.isVisible(
                        query: i, key: j, queries: sq, keys: sk, batch: bi, head: hi)
                    {
                        var dot = 0.0
                        for x in 0..<d {
                            dot +=
                                Double(qd[((bi * h + hi) * sq + i) * d + x])
                                * Double(kd[((bi * hkv + kh) * sk + j) * d + x])
                        }
                        s[j] =
                            dot * scale + Double(mask.bias(query: i, key: j, batch: bi, head: hi))
                    }
                    let m = s.max()!
                    guard m > -.infinity else { continue }
                    let e = s.map { exp($0 - m) }
                    let total = e.reduce(0, +)
                    let p = e.map { $0 / total }
                    var dp = [Double](repeating: 0, count: sk)
                    for j in 0..<sk {
                        var dot = 0.0
                        for x in 0..<dv {
                            dot +=
                                Double(gd[((bi * h + hi) * sq + i) * dv + x])
                                * Double(vd[((bi * hkv + kh) * sk + j) * dv + x])
                        }
                        let counter = UInt64(((bi * h + hi) * sq + i) * sk + j)
                        let keep = dropout == 0 || Double(rng.uniform(at: counter)) >= dropout
                        dp[j] = keep ? dot / (1 - dropout) : 0
                    }
                    let rowDot = zip(p, dp).reduce(0) { $0 + $1.0 * $1.1 }
                    for j in 0..<sk {
                        out[((bi * h + hi) * sq + i) * sk + j] = p[j] * (dp[j] - rowDot)
                    }
                }
            }
        }
        return out
    }

    /// `∂L/∂M` for masks that broadcast along different axes equals the oracle's dS summed
    /// over those axes (normwise relative error ≤ 1e-4), on both backends; with a causal
    /// part (hidden entries get 0) and with dropout.
    @Test func additiveMaskGradient() throws {
        let (b, h, hkv, sq, sk, d) = (2, 4, 2, 45, 38, 16)
        let (q, k, v) = randomQKV(b: b, h: h, hkv: hkv, sq: sq, sk: sk, d: d, seed: 21)
        let dO = Tensor.randomNormal([b, h, sq, d], seed: 22)
        for shape in [
            [sq, sk], [b, 1, sq, sk], [1, h, 1, sk], [b, 1, 1, sk], [sq, 1], [b, h, sq, sk],
        ] {
            for (causal, dropout) in [(false, Float(0)), (true, 0.25)] {
                let t = Tensor.randomNormal(shape, seed: 23)
                let mask: AttentionMask = causal ? .and(.causal, .additive(t)) : .additive(t)
                let ds = Self.scoreGradients(
                    q, k, v, dO, mask: mask, dropout: Double(dropout), seed: 3)
                // Sum dS into the mask's shape (right-aligned to [B, H, Sq, Sk]).
                let ms = [Int](repeating: 1, count: 4 - shape.count) + shape
                var want = [Double](repeating: 0, count: t.count)
                for bi in 0..<b {
                    for hi in 0..<h {
                        for i in 0..<sq {
                            for j in 0..<sk {
                                let idx =
                                    (((ms[0] == 1 ? 0 : bi) * ms[1] + (ms[1] == 1 ? 0 : hi)) * ms[2]
                                        + (ms[2] == 1 ? 0 : i)) * ms[3] + (ms[3] == 1 ? 0 : j)
                                want[idx] += ds[((bi * h + hi) * sq + i) * sk + j]
                            }
                        }
                    }
                }
                for backend in [AttentionBackend.fused, .reference] {
                    let options = AttentionOptions(
                        mask: mask, dropout: dropout, dropoutSeed: 3, backend: backend,
                        returnLogSumExp: true,
                        execution: ExecutionOptions(threads: 2, queryBlock: 12, keyBlock: 32))
                    let f = try scaledDotProductAttention(
                        query: q, key: k, value: v, options: options)
                    let g = try scaledDotProductAttentionBackward(
                        gradOutput: dO, query: q, key: k, value: v, output: f.output,
                        logSumExp: f.logSumExp!, options: options, returnMaskGradient: true)
                    let got = try #require(g.gradMask)
                    #expect(got.shape == shape)
                    let label = "\(shape) causal \(causal) dropout \(dropout) \(backend)"
                    if shape.last == 1 {
                        // Constant along each row: Σ_j dS_ij = D − D = 0 exactly.
                        #expect(got.scalars.allSatisfy { abs($0) <= 1e-5 }, "\(label): \(got)")
                    } else {
                        let error = normwiseError(got.scalars.map(Double.init), want)
                        #expect(error <= 1e-4, "\(label): \(error)")
                    }
                }
            }
        }
        // Asked for without exactly one additive tensor: an error naming the argument.
        let f = try scaledDotProductAttention(
            query: q, key: k, value: v, options: AttentionOptions(returnLogSumExp: true))
        #expect {
            try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: f.output,
                logSumExp: f.logSumExp!, returnMaskGradient: true)
        } throws: { ($0 as? AttentionError)?.argument == "returnMaskGradient" }
    }

    /// The non-finite rule carried into the gradients (see the backward's documentation):
    /// a poisoned row has a NaN `gradQuery` row and NaN `gradKey`/`gradValue` rows for every
    /// key it sees; rows and keys it does not touch stay finite and match a run without the
    /// poison restricted to them; a fully hidden row (additive −inf) has zero gradients.
    @Test(arguments: [AttentionBackend.fused, .reference])
    func nonFiniteInputs(backend: AttentionBackend) throws {
        let (sq, sk, d) = (20, 20, 8)
        var (q, k, v) = randomQKV(b: 1, h: 1, sq: sq, sk: sk, d: d, seed: 31)
        let dO = Tensor.randomNormal([1, 1, sq, d], seed: 32)
        // Query row 12 NaN; key 15 +inf (seen by rows ≥ 15 under the causal mask).
        q[0, 0, 12, 3] = .nan
        k[0, 0, 15, 0] = .infinity
        var bias = Tensor.zeros([sq, sk])
        for j in 0..<sk { bias[4, j] = -.infinity }  // row 4 sees no key
        let mask = AttentionMask.and(.causal, .additive(bias))
        let options = AttentionOptions(
            mask: mask, backend: backend, returnLogSumExp: true,
            execution: ExecutionOptions(threads: 2, queryBlock: 12, keyBlock: 32))
        let f = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let g = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: f.output,
            logSumExp: f.logSumExp!, options: options, returnMaskGradient: true)
        func row(_ t: Tensor, _ i: Int) -> [Float] { (0..<d).map { t[0, 0, i, $0] } }
        let poisonedRows = Set([12] + Array(15..<sq))
        for i in 0..<sq {
            let gq = row(g.gradQuery, i)
            if poisonedRows.contains(i) {
                #expect(gq.allSatisfy { $0.isNaN }, "gradQuery row \(i) should be NaN")
            } else if i == 4 {
                #expect(gq.allSatisfy { $0 == 0 }, "gradQuery row 4 (sees no key) should be 0")
            } else {
                #expect(gq.allSatisfy { $0.isFinite }, "gradQuery row \(i) should be finite")
            }
        }
        // Under the causal mask the poisoned rows 15… see every key: all of dK and dV is NaN.
        for j in 0..<sk {
            #expect(row(g.gradKey, j).allSatisfy { $0.isNaN }, "gradKey row \(j) should be NaN")
            #expect(row(g.gradValue, j).allSatisfy { $0.isNaN }, "gradValue row \(j) should be NaN")
        }
        // A window of 3 keys (i − 2 … i): row 12 sees keys 10…12; the +inf key 15 poisons
        // rows 15…17, which see keys 13…17. So keys 10…17 get NaN, keys 0…9, 18, 19 stay
        // finite.
        let window = AttentionMask.slidingWindow(left: 2, right: 0)
        var w = options
        w.mask = window
        let fw = try scaledDotProductAttention(query: q, key: k, value: v, options: w)
        let gw = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: fw.output,
            logSumExp: fw.logSumExp!, options: w)
        let nanKeys = Set(Array(10...17))
        for j in 0..<sk {
            let expectNaN = nanKeys.contains(j)
            #expect(
                row(gw.gradKey, j).allSatisfy { expectNaN ? $0.isNaN : $0.isFinite },
                "window: gradKey row \(j) NaN expected \(expectNaN)")
            #expect(
                row(gw.gradValue, j).allSatisfy { expectNaN ? $0.isNaN : $0.isFinite },
                "window: gradValue row \(j) NaN expected \(expectNaN)")
        }
        // The mask gradient: NaN along poisoned rows (their visible entries), 0 for row 4.
        let gm = try #require(g.gradMask)
        #expect((0..<sk).allSatisfy { gm[4, $0] == 0 })
        #expect((0...12).allSatisfy { gm[12, $0].isNaN })
        #expect((0...3).allSatisfy { gm[3, $0].isFinite })
    }

    /// A log-sum-exp of −∞ for a row that sees keys in this call (one from a forward with a
    /// stricter mask): `P = e^(S − LSE)` is 0 for it on both backends, so its gradients are
    /// zero and the backends agree (the reference backward gave +∞ and NaN).
    @Test func minusInfinityLogSumExpWeighsNothing() throws {
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: 3, sk: 20, d: 8, seed: 3)
        let dO = Tensor.randomNormal([1, 2, 3, 8], seed: 4)
        let forward = try scaledDotProductAttention(
            query: q, key: k, value: v, options: AttentionOptions(returnLogSumExp: true))
        var lse = try #require(forward.logSumExp)
        lse[0, 1, 2] = -.infinity
        var gradients: [AttentionGradients] = []
        for backend in [AttentionBackend.fused, .reference] {
            let g = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: k, value: v, output: forward.output,
                logSumExp: lse, options: AttentionOptions(backend: backend))
            for t in [g.gradQuery, g.gradKey, g.gradValue] {
                #expect(t.scalars.allSatisfy { $0.isFinite }, "\(backend)")
            }
            #expect((0..<8).allSatisfy { g.gradQuery[0, 1, 2, $0] == 0 }, "\(backend)")
            gradients.append(g)
        }
        for (a, b) in zip(
            [gradients[0].gradQuery, gradients[0].gradKey, gradients[0].gradValue],
            [gradients[1].gradQuery, gradients[1].gradKey, gradients[1].gradValue])
        {
            let e = normwiseError(a.scalars.map(Double.init), b.scalars.map(Double.init))
            #expect(e <= 1e-5, "fused vs reference: \(e)")
        }
    }

    /// The mask gradient with a log-sum-exp over more keys than the call holds (ring
    /// attention's shards): each key half's `∂L/∂M` equals those columns of the whole call's,
    /// on both backends (the gradient is `dS = P ∘ (dP − D)` with `P = e^(S − LSE)`).
    @Test(arguments: [AttentionBackend.fused, .reference])
    func maskGradientWithAWiderLogSumExp(_ backend: AttentionBackend) throws {
        let (sq, sk) = (5, 40)
        let (q, k, v) = randomQKV(b: 1, h: 2, sq: sq, sk: sk, d: 8, seed: 31)
        let dO = Tensor.randomNormal([1, 2, sq, 8], seed: 32)
        let bias = Tensor.randomNormal([sq, sk], seed: 33)
        // The whole call's output and log-sum-exp, handed to both halves.
        let options = AttentionOptions(
            mask: .additive(bias), backend: backend, returnLogSumExp: true)
        let whole = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
        let g = try scaledDotProductAttentionBackward(
            gradOutput: dO, query: q, key: k, value: v, output: whole.output,
            logSumExp: whole.logSumExp!, options: options, returnMaskGradient: true)
        let full = try #require(g.gradMask)
        for half in [0..<15, 15..<sk] {
            let (kh, vh) = (try k.sliced(axis: 2, range: half), try v.sliced(axis: 2, range: half))
            let mask = AttentionMask.additive(try bias.sliced(axis: 1, range: half))
            let o = AttentionOptions(mask: mask, backend: backend)
            let part = try scaledDotProductAttentionBackward(
                gradOutput: dO, query: q, key: kh, value: vh, output: whole.output,
                logSumExp: whole.logSumExp!, options: o, returnMaskGradient: true)
            let got = try #require(part.gradMask)
            let want = try full.sliced(axis: 1, range: half)
            let e = normwiseError(
                got.scalars.map(Double.init), want.contiguous().scalars.map(Double.init))
            #expect(e <= 1e-5, "\(backend) keys \(half): \(e)")
        }
    }
}
