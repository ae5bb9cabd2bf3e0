import Foundation
import Testing
@testable import Attention

/// `Linear` and `MultiHeadAttention` gradients against central finite differences of an
/// independent Double forward (`L = Σ G ∘ y` for a fixed random `G`, so `∂L/∂y = G`).
/// Finite differences in Double with ε = 1e-6 are exact to ~1e-9 here; the library computes
/// in Float, so the normwise relative error of each gradient must be ≤ 1e-4.
@Suite struct LayerGradientTests {
    static let tolerance = 1e-4

    /// Central differences of `loss` with respect to every element of `values`.
    static func numeric(_ values: [Double], _ loss: ([Double]) -> Double) -> [Double] {
        let eps = 1e-6
        return values.indices.map { i in
            var plus = values, minus = values
            plus[i] += eps
            minus[i] -= eps
            return (loss(plus) - loss(minus)) / (2 * eps)
        }
    }

    static func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// `y = x·Wᵀ + b` in Double, `x` `[rows, in]`.
    static func linear(
        _ x: [Double], rows: Int, weight w: [Double], bias: [Double]?, outputs n: Int
    )
        -> [Double]
    {
        let k = x.count / Swift.max(1, rows)
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var acc = bias?[j] ?? 0
                for i in 0..<k { acc += x[r * k + i] * w[j * k + i] }
                y[r * n + j] = acc
            }
        }
        return y
    }

    func expectClose(_ got: Tensor?, _ want: [Double], _ label: String) {
        guard let got else {
            Issue.record("\(label): no gradient")
            return
        }
        // ‖got − want‖ ≤ tolerance · max(‖want‖, 0.01): relative, with a floor for gradients
        // that vanish exactly (a key bias shifts every score of a row alike: its gradient is 0).
        let a = Self.doubles(got)
        let diff = zip(a, want).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let norm = want.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(
            diff <= Self.tolerance * Swift.max(norm, 0.01),
            "\(label): ‖got − want‖ \(diff), ‖want‖ \(norm)")
    }

    @Test func linear() throws {
        for bias in [true, false] {
            let layer = try Linear(5, 4, bias: bias, seed: 3)
            let x = Tensor.randomNormal([2, 3, 5], seed: 1)
            let g = Tensor.randomNormal([2, 3, 4], seed: 2)
            let (y, pullback) = try layer.valueAndGradient(x)
            #expect(y == (try layer(x)))
            let grads = try pullback(g)
            let (w, b) = (Self.doubles(layer.weight), layer.bias.map(Self.doubles))
            let gd = Self.doubles(g), xd = Self.doubles(x)
            func loss(x: [Double], w: [Double], b: [Double]?) -> Double {
                Self.dot(Self.linear(x, rows: 6, weight: w, bias: b, outputs: 4), gd)
            }
            expectClose(grads.input, Self.numeric(xd) { loss(x: $0, w: w, b: b) }, "input")
            expectClose(grads.weight, Self.numeric(w) { loss(x: xd, w: $0, b: b) }, "weight")
            if let b {
                expectClose(grads.bias, Self.numeric(b) { loss(x: xd, w: w, b: $0) }, "bias")
            } else {
                #expect(grads.bias == nil && grads.parameters.keys.sorted() == ["weight"])
            }
            // The explicit backward is the same computation.
            #expect(try layer.backward(input: x, gradOutput: g).weight == grads.weight)
        }
    }

    /// A `MultiHeadAttention` forward in Double: projections, heads, RoPE (halves), the
    /// Double attention oracle (mask, ALiBi, dropout), merge, output projection.
    struct DoubleLayer {
        let e: Int, h: Int, b: Int, sq: Int, sk: Int
        var rope: Bool, alibi: ALiBi?, mask: AttentionMask, dropout: Double, seed: UInt64

        func forward(
            _ p: [String: [Double]], queries: [Double], keys: [Double], values: [Double]
        ) -> [Double] {
            let dh = e / h
            func project(_ name: String, _ x: [Double], _ rows: Int) -> [Double] {
                LayerGradientTests.linear(
                    x, rows: rows, weight: p["\(name).weight"]!, bias: p["\(name).bias"],
                    outputs: e)
            }
            // [B, S, E] → [B, H, S, Dh], rotated from position `offset` when given.
            func heads(_ x: [Double], _ s: Int, offset: Int?) -> [Double] {
                var out = [Double](repeating: 0, count: b * h * s * dh)
                for bi in 0..<b {
                    for si in 0..<s {
                        for hi in 0..<h {
                            let src = (bi * s + si) * e + hi * dh
                            let dst = ((bi * h + hi) * s + si) * dh
                            for d in 0..<dh { out[dst + d] = x[src + d] }
                            guard rope, let offset else { continue }
                            let half = dh / 2
                            for k in 0..<half {
                                let angle =
                                    Double(offset + si) * pow(10_000, -2 * Double(k) / Double(dh))
                                let (x1, x2) = (out[dst + k], out[dst + k + half])
                                out[dst + k] = x1 * cos(angle) - x2 * sin(angle)
                                out[dst + k + half] = x2 * cos(angle) + x1 * sin(angle)
                            }
                        }
                    }
                }
                return out
            }
            let zeros = Tensor.zeros([b, h, sq, dh]), kv = Tensor.zeros([b, h, sk, dh])
            var attention = DoubleAttention(
                query: zeros, key: kv, value: kv, mask: mask, scale: nil, alibi: alibi,
                dropout: Float(dropout), seed: seed)
            attention.q = heads(project("query_proj", queries, b * sq), sq, offset: sk - sq)
            attention.k = heads(project("key_proj", keys, b * sk), sk, offset: 0)
            attention.v = heads(project("value_proj", values, b * sk), sk, offset: nil)
            attention.dropout = dropout
            let o = attention.forward()
            var merged = [Double](repeating: 0, count: b * sq * e)
            for bi in 0..<b {
                for hi in 0..<h {
                    for si in 0..<sq {
                        for d in 0..<dh {
                            merged[(bi * sq + si) * e + hi * dh + d] =
                                o[((bi * h + hi) * sq + si) * dh + d]
                        }
                    }
                }
            }
            return project("out_proj", merged, b * sq)
        }
    }

    struct LayerCase: Sendable, CustomStringConvertible {
        var label: String
        var sq = 5, sk = 5, keyDims: Int? = nil, valueDims: Int? = nil
        var passKeys = false, passValues = false
        var rope = false, alibi = false, causal = false, dropout: Float = 0
        var description: String { label }
    }

    static let layerCases: [LayerCase] = [
        LayerCase(label: "self, causal, RoPE, dropout", rope: true, causal: true, dropout: 0.3),
        LayerCase(
            label: "cross, ALiBi, other widths", sq: 4, sk: 6, keyDims: 6, valueDims: 7,
            passKeys: true, passValues: true, alibi: true),
        LayerCase(
            label: "keys only (values = keys), RoPE", sq: 3, sk: 6, passKeys: true, rope: true),
    ]

    @Test(arguments: layerCases)
    func multiHeadAttention(_ c: LayerCase) throws {
        let (b, e, h) = (2, 8, 2)
        var layer = try MultiHeadAttention(
            dimensions: e, numHeads: h, keyInputDimensions: c.keyDims,
            valueInputDimensions: c.valueDims, dropout: c.dropout, seed: 11)
        if c.rope { layer.rope = try RoPE(dimensions: e / h) }
        if c.alibi { layer.alibi = try ALiBi(heads: h, form: .symmetric) }
        let queries = Tensor.randomNormal([b, c.sq, e], seed: 1)
        let keys = c.passKeys ? Tensor.randomNormal([b, c.sk, c.keyDims ?? e], seed: 2) : nil
        let values =
            c.passValues
            ? Tensor.randomNormal([b, c.sk, c.valueDims ?? c.keyDims ?? e], seed: 3) : nil
        let g = Tensor.randomNormal([b, c.sq, e], seed: 4)
        let training = c.dropout > 0
        let (y, pullback) = try layer.valueAndGradient(
            queries, keys: keys, values: values, isCausal: c.causal, training: training, seed: 9)
        #expect(
            y
                == (try layer(
                    queries, keys: keys, values: values, isCausal: c.causal, training: training,
                    seed: 9)))
        let grads = try pullback(g)

        let reference = DoubleLayer(
            e: e, h: h, b: b, sq: c.sq, sk: c.sk, rope: c.rope, alibi: layer.alibi,
            mask: c.causal ? .causal : .none, dropout: Double(c.dropout), seed: 9)
        let params = layer.parameters().mapValues(Self.doubles)
        let (xq, xk, xv) = (
            Self.doubles(queries), keys.map(Self.doubles), values.map(Self.doubles)
        )
        let gd = Self.doubles(g)
        let forwardError = normwiseError(
            Self.doubles(y),
            reference.forward(params, queries: xq, keys: xk ?? xq, values: xv ?? xk ?? xq))
        #expect(forwardError <= Self.tolerance, "\(c) forward: normwise error \(forwardError)")
        func loss(_ p: [String: [Double]], _ q: [Double], _ k: [Double]?, _ v: [Double]?)
            -> Double
        {
            let k = k ?? q, v = v ?? k
            return Self.dot(reference.forward(p, queries: q, keys: k, values: v), gd)
        }
        // Inputs: an omitted input is the one it defaults to, so perturbing `queries` moves
        // every role it plays — the summed gradient the library returns.
        expectClose(
            grads.queries, Self.numeric(xq) { loss(params, $0, xk, xv) }, "\(c) queries")
        if let xk {
            expectClose(grads.keys, Self.numeric(xk) { loss(params, xq, $0, xv) }, "\(c) keys")
        } else {
            #expect(grads.keys == nil)
        }
        if let xv {
            expectClose(grads.values, Self.numeric(xv) { loss(params, xq, xk, $0) }, "\(c) values")
        } else {
            #expect(grads.values == nil)
        }
        #expect(grads.parameters.keys.sorted() == params.keys.sorted())
        for (name, value) in params {
            let want = Self.numeric(value) { v in
                var p = params
                p[name] = v
                return loss(p, xq, xk, xv)
            }
            expectClose(grads.parameters[name], want, "\(c) \(name)")
        }
    }

    /// The transposed rotation undoes the rotation (RoPE is orthogonal when
    /// `attentionScaling` is 1) and is its adjoint: ⟨R·x, y⟩ = ⟨x, Rᵀ·y⟩.
    @Test func ropeBackwardIsTheAdjoint() throws {
        for traditional in [false, true] {
            let rope = try RoPE(dimensions: 6, traditional: traditional)
            let x = Tensor.randomNormal([2, 3, 7, 8], seed: 1)
            let y = Tensor.randomNormal([2, 3, 7, 8], seed: 2)
            let rx = try rope(x, offset: 5), rty = try rope.backward(y, offset: 5)
            let lhs = Self.dot(Self.doubles(rx), Self.doubles(y))
            let rhs = Self.dot(Self.doubles(x), Self.doubles(rty))
            #expect(abs(lhs - rhs) <= 1e-4 * abs(lhs) + 1e-4, "⟨Rx, y⟩ \(lhs) vs ⟨x, Rᵀy⟩ \(rhs)")
            #expect(try rope.backward(rx, offset: 5).maxAbsDifference(x) <= 1e-5)
        }
    }

    @Test func errorsNameTheArgument() throws {
        let layer = try Linear(5, 4)
        #expect {
            try layer.backward(input: Tensor.zeros([3, 5]), gradOutput: Tensor.zeros([3, 5]))
        } throws: { ($0 as? AttentionError)?.argument == "gradOutput" }
        #expect {
            try layer.backward(input: Tensor.zeros([3, 4]), gradOutput: Tensor.zeros([3, 4]))
        } throws: { ($0 as? AttentionError)?.argument == "input" }
        let mha = try MultiHeadAttention(dimensions: 8, numHeads: 2)
        let (_, pullback) = try mha.valueAndGradient(Tensor.zeros([1, 3, 8]))
        #expect { try pullback(Tensor.zeros([1, 4, 8])) } throws: {
            ($0 as? AttentionError)?.argument == "gradOutput"
        }
    }
}
