/// A fully connected layer: `y = x·Wᵀ + b`, applied over the last axis.
///
/// Shapes: input `[..., inputDimensions]`, weight `[outputDimensions, inputDimensions]`,
/// bias `[outputDimensions]`, output `[..., outputDimensions]`.
/// Initialised as PyTorch's `nn.Linear`: weight and bias uniform in ±1/√inputDimensions.
public struct Linear: Module, Sendable {
    public private(set) var weight: Tensor {
        didSet { packed = PackedWeight(weight: weight, bias: bias) }
    }
    public private(set) var bias: Tensor? {
        didSet { packed = PackedWeight(weight: weight, bias: bias) }
    }
    /// The weight packed for the GEMM, with the bias; remade whenever either changes.
    private var packed: PackedWeight

    public var inputDimensions: Int { weight.shape[1] }
    public var outputDimensions: Int { weight.shape[0] }

    /// - Parameters:
    ///   - inputDimensions: features in.
    ///   - outputDimensions: features out.
    ///   - bias: whether to add a learned bias.
    ///   - seed: seed of the counter-based generator for the initial values.
    /// - Throws: ``AttentionError`` naming `inputDimensions` or `outputDimensions` when one is
    ///   not positive, or their product overflows `Int`.
    public init(
        _ inputDimensions: Int, _ outputDimensions: Int, bias: Bool = true, seed: UInt64 = 0
    ) throws {
        guard inputDimensions > 0 else {
            throw AttentionError.argument("inputDimensions", "must be > 0, got \(inputDimensions)")
        }
        guard outputDimensions > 0 else {
            throw AttentionError.argument(
                "outputDimensions", "must be > 0, got \(outputDimensions)")
        }
        guard !inputDimensions.multipliedReportingOverflow(by: outputDimensions).overflow else {
            throw AttentionError.argument(
                "outputDimensions",
                "inputDimensions × outputDimensions (\(inputDimensions) × \(outputDimensions)) overflows Int"
            )
        }
        let bound = 1 / Float(inputDimensions).squareRoot()
        weight = Tensor.randomUniform(
            [outputDimensions, inputDimensions], in: -bound...bound, seed: seed)
        self.bias =
            bias
            ? Tensor.randomUniform([outputDimensions], in: -bound...bound, seed: seed &+ 0x5EED)
            : nil
        packed = PackedWeight(weight: weight, bias: self.bias)
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    public init(weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.rank == 2 else {
            throw AttentionError.shape(
                "weight", expected: "[outputDimensions, inputDimensions]", actual: weight.shape)
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw AttentionError.shape("bias", expected: "[\(weight.shape[0])]", actual: bias.shape)
        }
        self.weight = weight.contiguous()
        self.bias = bias?.contiguous()
        packed = PackedWeight(weight: self.weight, bias: self.bias)
    }

    /// Applies the layer to `x` `[..., inputDimensions]`.
    /// - Parameter execution: threads and kernel variant for this call (default: the
    ///   machine's).
    /// - Throws: ``AttentionError`` if the last axis of `x` is not `inputDimensions`, or for
    ///   invalid `execution` settings.
    public func callAsFunction(_ x: Tensor, execution: ExecutionOptions = ExecutionOptions())
        throws -> Tensor
    {
        try apply(x, execution: try execution.resolved())
    }

    /// The layer under settings already resolved by the caller (a layer that runs several
    /// projections resolves once).
    func apply(_ x: Tensor, execution: ResolvedExecution) throws -> Tensor {
        guard x.rank >= 1, x.shape.last == inputDimensions else {
            throw AttentionError.shape(
                "input", expected: "[..., \(inputDimensions)]", actual: x.shape)
        }
        return GEMM.multiply(x, packed, execution: execution)
    }

    public func parameters() -> [String: Tensor] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    public mutating func update(parameters: [String: Tensor]) throws {
        for (name, value) in parameters {
            switch name {
            case "weight":
                try Self.checkReplacement(name, old: weight, new: value)
                weight = value.contiguous()
            case "bias" where bias != nil:
                try Self.checkReplacement(name, old: bias!, new: value)
                bias = value.contiguous()
            default:
                throw AttentionError.argument(name, "Linear has no parameter named \"\(name)\"")
            }
        }
    }
}
