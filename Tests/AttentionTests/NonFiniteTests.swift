import Foundation
import Testing
@testable import Attention

/// The rule for NaN and infinity (docs/KERNELS.md, "Non-finite values"), written plainly in
/// Double from the documentation, independent of the library's screen:
/// - a query row with a NaN or ±inf makes all its scores NaN; a key whose key or value
///   vector has one makes all its scores NaN;
/// - scores are float32 (`scale·q·k`, then + mask, − ALiBi, each rounded to float);
/// - a row outputs NaN (and NaN log-sum-exp) when one of its visible scores is NaN or +inf;
///   −inf weighs 0; a row with no finite visible score outputs zeros and −inf.
struct NonFiniteOracle {
    var output: [Double]  // [B, H, Sq, Dv]
    var lse: [Double]  // [B, H, Sq]

    init(query q: Tensor, key k: Tensor, value v: Tensor, options o: AttentionOptions) {
        let (b, h, sq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, sk, dv) = (k.shape[1], k.shape[2], v.shape[3])
        let scale = o.scale ?? 1 / Float(d).squareRoot()
        output = Array(repeating: 0, count: b * h * sq * dv)
        lse = Array(repeating: -.infinity, count: b * h * sq)
        let (qs, ks, vs) = (q.scalars, k.scalars, v.scalars)
        /// Whether row `row` of a row-major `[…, n]` array is all finite.
        func finite(_ x: [Float], _ row: Int, _ n: Int) -> Bool {
            x[(row * n)..<((row + 1) * n)].allSatisfy(\.isFinite)
        }
        let keyFinite = (0..<(b * hkv * sk)).map { finite(ks, $0, d) && finite(vs, $0, dv) }
        for bi in 0..<b {
            for hi in 0..<h {
                let kh = hi / (h / hkv)
                for i in 0..<sq {
                    let r = (bi * h + hi) * sq + i
                    let queryFinite = finite(qs, r, d)
                    var scores: [(j: Int, s: Float)] = []
                    for j in 0..<sk
                    where o.mask.isVisible(
                        query: i, key: j, queries: sq, keys: sk, batch: bi, head: hi)
                    {
                        let kr = (bi * hkv + kh) * sk + j
                        guard queryFinite, keyFinite[kr] else { scores.append((j, .nan)); continue }
                        var dot = 0.0
                        for x in 0..<d {
                            dot += Double(scale * qs[r * d + x]) * Double(ks[kr * d + x])
                        }
                        var s = Float(dot)
                        s = s + o.mask.bias(query: i, key: j, batch: bi, head: hi)
                        if let alibi = o.alibi {
                            let dist = Float(
                                i + (alibi.alignment == .bottomRight ? sk - sq : 0) - j)
                            s = s - alibi.slopes[hi] * (alibi.form == .symmetric ? abs(dist) : dist)
                        }
                        scores.append((j, s))
                    }
                    if scores.contains(where: { $0.s.isNaN || $0.s == .infinity }) {
                        lse[r] = .nan
                        for x in 0..<dv { output[r * dv + x] = .nan }
                        continue
                    }
                    let live = scores.filter { $0.s > -.infinity }
                    guard let m = live.map({ Double($0.s) }).max() else { continue }
                    let e = live.map { exp(Double($0.s) - m) }, total = e.reduce(0, +)
                    lse[r] = m + log(total)
                    for (n, (j, _)) in live.enumerated() {
                        let vr = ((bi * hkv + kh) * sk + j) * dv
                        for x in 0..<dv { output[r * dv + x] += e[n] / total * Double(vs[vr + x]) }
                    }
                }
            }
        }
    }
}

/// One hostile input: what is fed in, and the rows (b, h, i flattened) that must be NaN.
struct NonFiniteScenario: CustomStringConvertible {
    var name: String
    var query: Tensor, key: Tensor, value: Tensor
    var options: AttentionOptions
    var nanRows: Set<Int>
    var description: String { name }

    /// `[1, 2, Sq, 16]` queries over one shared key/value head (GQA), seeded.
    static func inputs(sq: Int, sk: Int, d: Int = 16, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        randomQKV(b: 1, h: 2, hkv: 1, sq: sq, sk: sk, d: d, seed: seed)
    }

    /// Rows of both heads (h = 2, b = 1) whose query index satisfies `rows`.
    static func bothHeads(_ sq: Int, _ rows: (Int) -> Bool) -> Set<Int> {
        Set((0..<2).flatMap { h in (0..<sq).filter(rows).map { h * sq + $0 } })
    }

    static var all: [NonFiniteScenario] {
        get throws {
            var list: [NonFiniteScenario] = []
            let lowest = -Float.greatestFiniteMagnitude

            // Hugging Face's padding value: finite. A row of it averages V uniformly.
            var (q, k, v) = inputs(sq: 40, sk: 150, seed: 1)
            var m = Tensor.randomNormal([40, 150], seed: 2)
            for j in 0..<150 { m[3, j] = lowest }
            for j in 10..<150 { m[5, j] = lowest }
            list.append(
                .init(
                    name: "a row of −3.4e38", query: q, key: k, value: v,
                    options: .init(mask: .additive(m)), nanRows: []))
            let everywhere = try Tensor(shape: [1, 1, 40, 150], repeating: lowest)
            list.append(
                .init(
                    name: "all −3.4e38", query: q, key: k, value: v,
                    options: .init(mask: .additive(everywhere)), nanRows: []))
            list.append(
                .init(
                    name: "all −3.4e38 and causal", query: q, key: k, value: v,
                    options: .init(mask: .and(.causal, .additive(everywhere))), nanRows: []))

            // +inf and −inf in a key: every row that sees it is NaN, others untouched.
            (q, k, v) = inputs(sq: 300, sk: 300, seed: 3)
            var kInf = k
            kInf[0, 0, 150, 3] = .infinity
            list.append(
                .init(
                    name: "+inf in a key, causal", query: q, key: kInf, value: v,
                    options: .init(mask: .causal), nanRows: bothHeads(300) { $0 >= 150 }))
            kInf = k
            kInf[0, 0, 40, 0] = -.infinity
            list.append(
                .init(
                    name: "−inf in a key, window", query: q, key: kInf, value: v,
                    options: .init(mask: .slidingWindow(left: 10, right: 0)),
                    nanRows: bothHeads(300) { (40...50).contains($0) }))

            // NaN or inf in a value: rows that see the key are NaN; rows the mask hides it from
            // are not, whether or not their tile contains it (0·NaN must not leak).
            var vBad = v
            vBad[0, 0, 250, 5] = .nan
            list.append(
                .init(
                    name: "NaN in a value, causal + ALiBi", query: q, key: k, value: vBad,
                    options: .init(mask: .causal, alibi: try! ALiBi(heads: 2, form: .causal)),
                    nanRows: bothHeads(300) { $0 >= 250 }))
            list.append(
                .init(
                    name: "NaN in a value, window", query: q, key: k, value: vBad,
                    options: .init(mask: .slidingWindow(left: 8, right: 0)),
                    nanRows: bothHeads(300) { (250...258).contains($0) }))
            var dense = Tensor.randomUniform([300, 300], seed: 4).map { $0 < 0.7 ? 1 : 0 }
            for i in 0..<300 { dense[i, 250] = i % 2 == 0 ? 0 : 1 }
            list.append(
                .init(
                    name: "NaN in a value, dense mask", query: q, key: k, value: vBad,
                    options: .init(mask: .dense(dense)), nanRows: bothHeads(300) { $0 % 2 == 1 }))
            var blocking = Tensor.randomNormal([300, 300], seed: 5)
            for i in 0..<100 { blocking[i, 250] = -.infinity }
            list.append(
                .init(
                    name: "NaN in a value, additive −inf hides it", query: q, key: k,
                    value: vBad, options: .init(mask: .additive(blocking)),
                    nanRows: bothHeads(300) { $0 >= 100 }))
            vBad = v
            vBad[0, 0, 10, 0] = .infinity
            list.append(
                .init(
                    name: "inf in a value, causal", query: q, key: k, value: vBad,
                    options: .init(mask: .causal), nanRows: bothHeads(300) { $0 >= 10 }))
            var kNaN = k
            kNaN[0, 0, 100, 2] = .nan
            list.append(
                .init(
                    name: "NaN in a key, bottom-right causal", query: q, key: kNaN, value: v,
                    options: .init(mask: .causalFromBottomRight),
                    nanRows: bothHeads(300) { $0 >= 100 })
            )

            // NaN / inf in a query: that row only; a query that sees no key still outputs zeros.
            (q, k, v) = inputs(sq: 30, sk: 20, seed: 6)
            var qBad = q
            qBad[0, 0, 3, 2] = .nan  // row 3 sees no key (bottom-right, Sq > Sk)
            qBad[0, 1, 15, 0] = .nan
            qBad[0, 0, 25, 1] = -.infinity
            list.append(
                .init(
                    name: "NaN/inf in queries", query: qBad, key: k, value: v,
                    options: .init(mask: .causalFromBottomRight), nanRows: [25, 30 + 15]))

            // Additive +inf or NaN: NaN where visible, nothing where a structured mask hides it.
            (q, k, v) = inputs(sq: 20, sk: 20, seed: 7)
            var a = Tensor.randomNormal([20, 20], seed: 8)
            a[2, 5] = .infinity
            a[4, 1] = .nan
            list.append(
                .init(
                    name: "additive +inf and NaN", query: q, key: k, value: v,
                    options: .init(mask: .additive(a)), nanRows: [2, 4, 22, 24]))
            a = Tensor.randomNormal([20, 20], seed: 9)
            a[2, 7] = .infinity
            a[4, 9] = .nan
            a[6, 3] = .infinity
            list.append(
                .init(
                    name: "additive +inf/NaN under causal", query: q, key: k, value: v,
                    options: .init(mask: .and(.causal, .additive(a))), nanRows: [6, 26]))

            // Scores that overflow float32 from finite inputs: +inf is NaN, −inf weighs 0.
            (q, k, v) = inputs(sq: 12, sk: 9, seed: 10)
            q[0, 0, 7, 0] = 1e20
            q[0, 0, 9, 0] = -1e20
            k[0, 0, 3, 0] = 1e20
            list.append(
                .init(
                    name: "q·k overflows", query: q, key: k, value: v,
                    options: .init(), nanRows: [7]))
            // The same in the scan's scalar tail (D = 19: one 16-wide vector and 3 more, or 2×8 + 3).
            (q, k, v) = inputs(sq: 40, sk: 40, d: 19, seed: 12)
            var kTail = k
            kTail[0, 0, 5, 18] = .nan
            list.append(
                .init(
                    name: "NaN in a key's last feature (D = 19)", query: q, key: kTail,
                    value: v, options: .init(mask: .causal), nanRows: bothHeads(40) { $0 >= 5 }))
            q[0, 0, 7, 18] = 1e20
            k[0, 0, 3, 18] = 1e20
            list.append(
                .init(
                    name: "q·k overflows in the last feature (D = 19)", query: q, key: k,
                    value: v, options: .init(), nanRows: [7]))

            // scale 1e38 on one-feature queries a·e₀ and keys c·e₀: scores 1e38·a·c.
            let aq: [Float] = [1, 2, -1, 0.5], ck: [Float] = [0.5, 0.1, 3, -3, 1]
            var q1 = Tensor.zeros([1, 1, 4, 4]), k1 = Tensor.zeros([1, 1, 5, 4])
            for (i, x) in aq.enumerated() { q1[0, 0, i, 0] = x }
            for (j, x) in ck.enumerated() { k1[0, 0, j, 0] = x }
            let v1 = Tensor.randomNormal([1, 1, 5, 3], seed: 11)
            list.append(
                .init(
                    name: "scale 1e38", query: q1, key: k1, value: v1,
                    options: .init(scale: 1e38), nanRows: [1]))
            return list
        }
    }
}

/// Elementwise agreement: NaN in exactly the same places, infinities equal, finite values
/// within `tolerance · max(1, |expected|)`. Returns the first disagreement.
func firstDisagreement(_ t: Tensor, _ expected: [Double], tolerance: Double) -> String? {
    let s = t.scalars
    guard s.count == expected.count else { return "sizes \(s.count) vs \(expected.count)" }
    for (i, (x, y)) in zip(s, expected).enumerated() {
        let ok =
            y.isNaN
            ? x.isNaN
            : y.isInfinite
                ? Double(x) == y
                : !x.isNaN && abs(Double(x) - y) <= tolerance * max(1, abs(y))
        if !ok { return "element \(i): \(x), expected \(y)" }
    }
    return nil
}

extension KernelTests {
    /// Both backends, on every instruction set the machine has, follow the documented rule
    /// for every hostile input: NaN rows identical to the rule's, finite rows within 2e-5 of
    /// the Double evaluation.
    @Test func nonFiniteRuleOnEveryVariant() throws {
        let cases = try NonFiniteScenario.all.map { c in
            (c, NonFiniteOracle(query: c.query, key: c.key, value: c.value, options: c.options))
        }
        for (c, oracle) in cases {
            let dv = c.value.shape[3]
            let nan = Set(oracle.lse.indices.filter { oracle.lse[$0].isNaN })
            #expect(nan == c.nanRows, "\(c): the oracle's NaN rows")
            // The rule never makes a row non-finite but a NaN row.
            #expect(
                oracle.output.indices.allSatisfy {
                    oracle.output[$0].isFinite || nan.contains($0 / dv)
                })
        }
        try withEachVariant { isa in
            for (c, oracle) in cases {
                let nan = c.nanRows
                for backend in [AttentionBackend.reference, .fused] {
                    var options = c.options
                    options.backend = backend
                    options.execution.instructionSet = isa
                    options.returnLogSumExp = true
                    options.returnWeights = backend == .reference
                    let r = try scaledDotProductAttention(
                        query: c.query, key: c.key, value: c.value, options: options)
                    let context = "\(isa) \(backend) \(c)"
                    if let bad = firstDisagreement(r.output, oracle.output, tolerance: 2e-5) {
                        Issue.record("\(context) output: \(bad)")
                    }
                    if let bad = firstDisagreement(r.logSumExp!, oracle.lse, tolerance: 2e-5) {
                        Issue.record("\(context) log-sum-exp: \(bad)")
                    }
                    if let w = r.weights {
                        let sk = c.key.shape[2]
                        for row in 0..<(w.count / max(sk, 1)) {
                            let ws = w.scalars[(row * sk)..<((row + 1) * sk)]
                            #expect(
                                nan.contains(row)
                                    ? ws.allSatisfy(\.isNaN) : ws.allSatisfy(\.isFinite),
                                "\(context) weights row \(row)")
                        }
                    }
                }
            }
        }
    }

    /// Inputs of 2^18 floats or more are screened in parallel, a task per head, on the call's
    /// threads: the same NaN rows and values (against the Double oracle, 2e-5) with 1 and 2
    /// threads. Causal, 8 keys shared by heads 2 and 3 (GQA): an infinite value at key 3
    /// poisons their rows ≥ 3; NaN query rows 700 (head 0) and 3 (head 1) poison only
    /// themselves.
    @Test func parallelScreenOnTheCallsThreads() throws {
        var (q, k, v) = randomQKV(b: 1, h: 4, hkv: 2, sq: 1024, sk: 8, d: 64, seed: 20)
        #expect(q.count + k.count + v.count >= 1 << 18)
        q[0, 0, 700, 9] = .nan
        q[0, 1, 3, 0] = -.infinity
        v[0, 1, 3, 5] = .infinity
        var options = AttentionOptions(mask: .causal, returnLogSumExp: true)
        let oracle = NonFiniteOracle(query: q, key: k, value: v, options: options)
        let nan = Set(oracle.lse.indices.filter { oracle.lse[$0].isNaN })
        #expect(nan == Set([700, 1024 + 3] + (2048..<4096).filter { $0 % 1024 >= 3 }))
        for threads in [1, 2] {
            for backend in [AttentionBackend.reference, .fused] {
                options.backend = backend
                options.execution.threads = threads
                let r = try scaledDotProductAttention(
                    query: q, key: k, value: v, options: options)
                if let bad = firstDisagreement(r.output, oracle.output, tolerance: 2e-5) {
                    Issue.record("\(backend) \(threads) threads output: \(bad)")
                }
                if let bad = firstDisagreement(r.logSumExp!, oracle.lse, tolerance: 2e-5) {
                    Issue.record("\(backend) \(threads) threads log-sum-exp: \(bad)")
                }
            }
        }
    }

    /// Closed forms: a row of −3.4e38 (Hugging Face's padding value) averages V uniformly;
    /// with `scale 1e38` the finite rows take the value of their largest score's key.
    @Test func nonFiniteClosedForms() throws {
        let cases = try NonFiniteScenario.all
        try withEachVariant { isa in
            for backend in [AttentionBackend.reference, .fused] {
                let rowCase = cases[0], causalCase = cases[2], scaleCase = cases.last!
                func run(_ c: NonFiniteScenario) throws -> Tensor {
                    var o = c.options
                    o.backend = backend
                    o.execution.instructionSet = isa
                    return try scaledDotProductAttention(
                        query: c.query, key: c.key, value: c.value, options: o
                    ).output
                }
                let v = rowCase.value
                func mean(_ keys: Range<Int>, _ x: Int) -> Double {
                    keys.reduce(0.0) { $0 + Double(v[0, 0, $1, x]) } / Double(keys.count)
                }
                let row = try run(rowCase), causal = try run(causalCase)
                for h in 0..<2 {
                    for x in 0..<16 {
                        #expect(
                            abs(Double(row[0, h, 3, x]) - mean(0..<150, x)) <= 1e-5,
                            "\(isa) \(backend)")
                        for i in [0, 1, 37, 39] {
                            #expect(abs(Double(causal[0, h, i, x]) - mean(0..<(i + 1), x)) <= 1e-5)
                        }
                    }
                }
                let out = try run(scaleCase), v1 = scaleCase.value
                for (i, key) in [(0, 2), (2, 3), (3, 2)] {
                    for x in 0..<3 {
                        #expect(
                            abs(out[0, 0, i, x] - v1[0, 0, key, x]) <= 1e-6, "\(isa) \(backend)")
                    }
                }
                #expect((0..<3).allSatisfy { out[0, 0, 1, $0].isNaN })
            }
        }
    }
}
