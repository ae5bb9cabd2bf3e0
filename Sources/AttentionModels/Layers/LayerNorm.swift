import Attention

/// Layer normalisation over the last axis (PyTorch's `nn.LayerNorm`):
///
/// ```
/// y = (x − mean(x)) / sqrt(var(x) + ε) · weight + bias      var biased, over the last axis
/// ```
/// Shapes: input and output `[..., dimensions]`; `weight`, `bias` `[dimensions]`.
/// Parameter names: `weight`, `bias` (older BERT checkpoints' `gamma`, `beta` are accepted).
public struct LayerNorm: Module, Sendable {
    public private(set) var weight: Tensor
    public private(set) var bias: Tensor
    /// ε added to the variance.
    public let epsilon: Float
    private var gamma: [Float], beta: [Float]

    /// Features `dimensions`; weight ones, bias zeros.
    /// - Throws: ``AttentionError`` naming `dimensions` when it is not positive.
    public init(dimensions: Int, epsilon: Float = 1e-5) throws {
        guard dimensions > 0 else {
            throw AttentionError(
                .invalidArgument, argument: "dimensions", "must be > 0, got \(dimensions)")
        }
        weight = Tensor.ones([dimensions])
        bias = Tensor.zeros([dimensions])
        gamma = weight.scalars
        beta = bias.scalars
        self.epsilon = epsilon
    }

    public var dimensions: Int { weight.shape[0] }

    /// The normalised `x` `[..., dimensions]`.
    /// - Throws: ``AttentionError`` naming `input` when the last axis is not `dimensions`.
    public func callAsFunction(_ x: Tensor, execution: ExecutionOptions = ExecutionOptions())
        throws -> Tensor
    {
        try normalized(x, adding: nil, execution: execution.resolved())
    }

    /// `LayerNorm(x + residual)` in one pass (a transformer block's "add & norm").
    func normalized(_ x: Tensor, adding residual: Tensor?, execution: ResolvedExecution) throws
        -> Tensor
    {
        guard x.rank >= 1, x.shape.last == dimensions else {
            throw AttentionError(
                .invalidShape, argument: "input",
                "expected [..., \(dimensions)], got \(x.shape)")
        }
        if let residual, residual.shape != x.shape {
            throw AttentionError(
                .invalidShape, argument: "residual", "expected \(x.shape), got \(residual.shape)")
        }
        var y = x
        RowKernels.addLayerNorm(
            &y, residual: residual, gamma: gamma, beta: beta, epsilon: epsilon,
            execution: execution)
        return y
    }

    public func parameters() -> [String: Tensor] { ["weight": weight, "bias": bias] }

    public mutating func update(parameters: [String: Tensor]) throws {
        var copy = self
        for (name, value) in parameters {
            let old: Tensor
            switch name {
            case "weight", "gamma": old = weight
            case "bias", "beta": old = bias
            default:
                throw AttentionError(
                    .invalidArgument, argument: name, "LayerNorm has no parameter named \"\(name)\""
                )
            }
            guard value.shape == old.shape else {
                throw AttentionError(
                    .invalidShape, argument: name, "expected \(old.shape), got \(value.shape)")
            }
            if name == "weight" || name == "gamma" {
                copy.weight = value.contiguous()
            } else {
                copy.bias = value.contiguous()
            }
        }
        copy.gamma = copy.weight.scalars
        copy.beta = copy.bias.scalars
        self = copy
    }
}
