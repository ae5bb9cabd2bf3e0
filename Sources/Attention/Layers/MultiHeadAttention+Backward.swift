/// The gradients of a ``MultiHeadAttention`` call for one output gradient.
///
/// An input the call left out (self-attention: `keys` and `values` omitted) gets no
/// gradient of its own: its gradient is added to the input it defaulted to (`values` to
/// `keys`, `keys` to `queries`), as autograd would sum the uses of one tensor.
public struct MultiHeadAttentionGradients: Sendable {
    /// ∂L/∂queries `[B, Sq, E]` (with self-attention: through all three projections).
    public var queries: Tensor
    /// ∂L/∂keys `[B, Sk, E_k]`, or `nil` when the call omitted `keys`.
    public var keys: Tensor?
    /// ∂L/∂values `[B, Sk, E_v]`, or `nil` when the call omitted `values`.
    public var values: Tensor?
    /// Every parameter's gradient, keyed like ``MultiHeadAttention/parameters()``
    /// (`query_proj.weight`, …, `out_proj.bias`).
    public var parameters: [String: Tensor]
}

extension MultiHeadAttention {
    /// The output of ``callAsFunction(_:keys:values:mask:isCausal:training:seed:backend:execution:)``
    /// and a ``MultiHeadAttentionPullback`` that turns `∂L/∂output` into the gradients of the
    /// inputs and of every parameter.
    ///
    /// The forward keeps what the backward needs: the inputs, the projected heads (after
    /// RoPE), the merged attention output and its log-sum-exp `[B, H, Sq]` — `O(S·E)`, no
    /// `[B, H, Sq, Sk]` tensor. The backward runs
    /// ```
    /// out_proj backward → dO  (split into heads)
    /// attention core: scaledDotProductAttentionBackward (fused; same mask, ALiBi, dropout)
    /// RoPE backward (the transposed rotation) on dQ, dK
    /// query/key/value projection backward
    /// ```
    /// Arguments as for the call; with `training` the backward drops exactly the forward's
    /// entries (same `seed`).
    ///
    /// ```swift
    /// let (y, pullback) = try layer.valueAndGradient(x, isCausal: true)
    /// let grads = try pullback(dLossDy)                 // grads.parameters["out_proj.weight"]
    /// try layer.update(parameters: layer.parameters().mapValues { … })
    /// ```
    /// - Throws: as the call.
    public func valueAndGradient(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil,
        mask: AttentionMask = .none, isCausal: Bool = false, training: Bool = false,
        seed: UInt64 = 0, backend: AttentionBackend? = nil, execution: ExecutionOptions? = nil
    ) throws -> (value: Tensor, pullback: MultiHeadAttentionPullback) {
        let mask: AttentionMask = {
            guard isCausal else { return mask }
            if case .none = mask { return .causal }
            return .and(.causal, mask)
        }()
        let pass = try forward(
            queries, keys: keys, values: values, mask: mask, training: training, seed: seed,
            backend: backend ?? self.backend, returnWeights: false, returnLogSumExp: true,
            execution: execution ?? self.execution)
        return (
            pass.output,
            MultiHeadAttentionPullback(
                layer: self, queries: queries, keys: keys, values: values, pass: pass)
        )
    }
}

/// What ``MultiHeadAttention/valueAndGradient(_:keys:values:mask:isCausal:training:seed:backend:execution:)``
/// keeps for the backward pass; call it with `∂L/∂output`.
public struct MultiHeadAttentionPullback: Sendable {
    let layer: MultiHeadAttention
    let queries: Tensor, keys: Tensor?, values: Tensor?
    let pass: MultiHeadAttention.ForwardPass

    /// The gradients for `gradOutput = ∂L/∂output` `[B, Sq, E]`.
    /// - Throws: ``AttentionError`` naming `gradOutput` for a wrong shape.
    public func callAsFunction(_ gradOutput: Tensor) throws -> MultiHeadAttentionGradients {
        guard gradOutput.shape == pass.output.shape else {
            throw AttentionError.shape(
                "gradOutput", expected: "\(pass.output.shape) (the output's shape)",
                actual: gradOutput.shape)
        }
        let execution = try pass.options.execution.resolved()
        let (b, sq, e) = (queries.shape[0], queries.shape[1], layer.dimensions)
        let (h, dh) = (layer.numHeads, layer.headDimensions)
        let keysIn = keys ?? queries, valuesIn = values ?? keysIn
        let sk = keysIn.shape[1]
        let out = try layer.outputProjection.backward(
            input: pass.merged, gradOutput: gradOutput, execution: execution)
        // [B, Sq, E] → [B, H, Sq, Dh] views.
        func split(_ t: Tensor, _ s: Int) throws -> Tensor {
            try t.reshaped([b, s, h, dh]).transposed(1, 2)
        }
        func merge(_ t: Tensor, _ s: Int) throws -> Tensor {
            try t.transposed(1, 2).contiguous().reshaped([b, s, e])
        }
        var options = pass.options
        options.returnLogSumExp = false
        let core = try scaledDotProductAttentionBackward(
            gradOutput: try split(out.input, sq), query: pass.heads.query, key: pass.heads.key,
            value: pass.heads.value, output: try split(pass.merged, sq),
            logSumExp: pass.logSumExp!, options: options)
        var gq = core.gradQuery, gk = core.gradKey
        if let rope = layer.rope {
            gq = try rope.backward(gq, offset: Swift.max(0, sk - sq))
            gk = try rope.backward(gk)
        }
        let q = try layer.queryProjection.backward(
            input: queries, gradOutput: try merge(gq, sq), execution: execution)
        let k = try layer.keyProjection.backward(
            input: keysIn, gradOutput: try merge(gk, sk), execution: execution)
        let v = try layer.valueProjection.backward(
            input: valuesIn, gradOutput: try merge(core.gradValue, sk), execution: execution)
        var parameters: [String: Tensor] = [:]
        for (prefix, g) in [
            ("query_proj", q), ("key_proj", k), ("value_proj", v), ("out_proj", out),
        ] {
            for (name, t) in g.parameters { parameters["\(prefix).\(name)"] = t }
        }
        // An omitted input's gradient goes to the input it defaulted to.
        var dQueries = q.input, dKeys = k.input
        if values == nil { dKeys = try dKeys + v.input }
        if keys == nil { dQueries = try dQueries + dKeys }
        return MultiHeadAttentionGradients(
            queries: dQueries, keys: keys == nil ? nil : dKeys,
            values: values == nil ? nil : v.input, parameters: parameters)
    }
}
