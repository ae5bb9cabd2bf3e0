import Testing

@testable import Attention

/// `LocalAttention` and `ALiBiMultiHeadAttention` gradients against central finite
/// differences of the Double layer of ``LayerGradientTests`` with the wrapper's window or
/// ALiBi bias (same tolerance: normwise relative error ≤ 1e-4).
extension LayerGradientTests {
    /// Checks `value` and every gradient of one call against the Double layer `reference`.
    func expectGradients(
        value y: Tensor, pullback: MultiHeadAttentionPullback, parameters: [String: Tensor],
        input x: Tensor, reference: DoubleLayer, label: String
    ) throws {
        let g = Tensor.randomNormal(y.shape, seed: 40)
        let grads = try pullback(g)
        let params = parameters.mapValues(Self.doubles)
        let (xd, gd) = (Self.doubles(x), Self.doubles(g))
        let forwardError = normwiseError(
            Self.doubles(y), reference.forward(params, queries: xd, keys: xd, values: xd))
        #expect(forwardError <= Self.tolerance, "\(label) forward: \(forwardError)")
        func loss(_ p: [String: [Double]], _ x: [Double]) -> Double {
            Self.dot(reference.forward(p, queries: x, keys: x, values: x), gd)
        }
        expectClose(grads.queries, Self.numeric(xd) { loss(params, $0) }, "\(label) x")
        #expect(grads.parameters.keys.sorted() == params.keys.sorted())
        for (name, value) in params {
            let want = Self.numeric(value) { v in
                var p = params
                p[name] = v
                return loss(p, xd)
            }
            expectClose(grads.parameters[name], want, "\(label) \(name)")
        }
    }

    /// A window of 2 (one key each side) intersected with causal: each query sees itself and
    /// its predecessor.
    @Test func localAttentionGradients() throws {
        let (b, s, e, h) = (2, 6, 8, 2)
        let layer = try LocalAttention(dimensions: e, numHeads: h, windowSize: 2, seed: 12)
        let x = Tensor.randomNormal([b, s, e], seed: 13)
        let (y, pullback) = try layer.valueAndGradient(x, mask: .causal)
        #expect(y == (try layer(x, mask: .causal)))
        let reference = DoubleLayer(
            e: e, h: h, b: b, sq: s, sk: s, rope: false, alibi: nil,
            mask: .and(.slidingWindow(left: 1, right: 1), .causal), dropout: 0, seed: 0)
        try expectGradients(
            value: y, pullback: pullback, parameters: layer.parameters(), input: x,
            reference: reference, label: "LocalAttention")
    }

    @Test(arguments: [ALiBi.Form.symmetric, .causal])
    func alibiAttentionGradients(_ form: ALiBi.Form) throws {
        let (b, s, e, h) = (2, 5, 8, 2)
        let layer = try ALiBiMultiHeadAttention(dimensions: e, numHeads: h, form: form, seed: 14)
        let x = Tensor.randomNormal([b, s, e], seed: 15)
        let mask: AttentionMask = form == .causal ? .causal : .none
        let (y, pullback) = try layer.valueAndGradient(x, mask: mask)
        #expect(y == (try layer(x, mask: mask)))
        let reference = DoubleLayer(
            e: e, h: h, b: b, sq: s, sk: s, rope: false, alibi: layer.alibi, mask: mask,
            dropout: 0, seed: 0)
        try expectGradients(
            value: y, pullback: pullback, parameters: layer.parameters(), input: x,
            reference: reference, label: "ALiBi \(form)")
    }
}
