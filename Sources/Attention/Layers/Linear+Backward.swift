/// The gradients of a ``Linear`` layer for one output gradient.
public struct LinearGradients: Sendable {
    /// ∂L/∂x, the shape of the input `[..., inputDimensions]`.
    public var input: Tensor
    /// ∂L/∂W `[outputDimensions, inputDimensions]`, summed over every input row.
    public var weight: Tensor
    /// ∂L/∂b `[outputDimensions]` (`nil` for a layer without bias).
    public var bias: Tensor?

    /// The parameter gradients keyed like ``Linear/parameters()`` (`weight`, `bias`).
    public var parameters: [String: Tensor] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }
}

extension Linear {
    /// The backward pass of `y = x·Wᵀ + b` for `gradOutput = ∂L/∂y`:
    /// ```
    /// ∂L/∂x = dY·W        ∂L/∂W = dYᵀ·X        ∂L/∂b = Σ_rows dY
    /// ```
    /// (`X`, `dY` with every leading axis folded into rows).
    /// - Parameters:
    ///   - input: the forward's input `x` `[..., inputDimensions]`.
    ///   - gradOutput: `[..., outputDimensions]`, the same leading axes as `input`.
    ///   - execution: threads and kernel variant for this call (default: the machine's).
    /// - Throws: ``AttentionError`` naming `input` or `gradOutput` when a shape does not fit,
    ///   or for invalid `execution` settings.
    public func backward(
        input: Tensor, gradOutput: Tensor, execution: ExecutionOptions = ExecutionOptions()
    ) throws -> LinearGradients {
        try backward(input: input, gradOutput: gradOutput, execution: try execution.resolved())
    }

    /// ``backward(input:gradOutput:execution:)`` under settings already resolved.
    func backward(input x: Tensor, gradOutput dy: Tensor, execution: ResolvedExecution) throws
        -> LinearGradients
    {
        guard x.rank >= 1, x.shape.last == inputDimensions else {
            throw AttentionError.shape(
                "input", expected: "[..., \(inputDimensions)]", actual: x.shape)
        }
        let expected = Array(x.shape.dropLast()) + [outputDimensions]
        guard dy.shape == expected else {
            throw AttentionError.shape("gradOutput", expected: "\(expected)", actual: dy.shape)
        }
        return LinearGradients(
            input: GEMM.multiply(dy, weight, execution: execution),
            weight: GEMM.multiplyTransposingLeft(dy, x, execution: execution),
            bias: bias == nil ? nil : GEMM.columnSums(dy))
    }

    /// The output `x·Wᵀ + b` and a ``LinearPullback`` that turns an output gradient into
    /// the layer's gradients (it keeps `x`).
    ///
    /// ```swift
    /// let (y, pullback) = try layer.valueAndGradient(x)
    /// let grads = try pullback(lossGradient(y))     // grads.weight, grads.bias, grads.input
    /// ```
    /// - Throws: as ``callAsFunction(_:execution:)``.
    public func valueAndGradient(_ x: Tensor, execution: ExecutionOptions = ExecutionOptions())
        throws -> (value: Tensor, pullback: LinearPullback)
    {
        let resolved = try execution.resolved()
        let y = try apply(x, execution: resolved)
        return (y, LinearPullback(layer: self, input: x, execution: execution))
    }
}

/// What ``Linear/valueAndGradient(_:execution:)`` keeps for the backward pass: the layer
/// and its input.
public struct LinearPullback: Sendable {
    let layer: Linear
    let input: Tensor
    let execution: ExecutionOptions

    /// The gradients for `gradOutput = ∂L/∂y` (the forward output's shape).
    /// - Throws: ``AttentionError`` naming `gradOutput` for a wrong shape.
    public func callAsFunction(_ gradOutput: Tensor) throws -> LinearGradients {
        try layer.backward(input: input, gradOutput: gradOutput, execution: execution)
    }
}
