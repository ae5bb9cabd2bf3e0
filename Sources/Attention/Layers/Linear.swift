import _AttentionKernels

/// A fully connected layer: `y = x·Wᵀ + b`, applied over the last axis.
///
/// Shapes: input `[..., inputDimensions]`, weight `[outputDimensions, inputDimensions]`,
/// bias `[outputDimensions]`, output `[..., outputDimensions]`.
/// Initialised as PyTorch's `nn.Linear`: weight and bias uniform in ±1/√inputDimensions.
public struct Linear: Module, Sendable {
    public private(set) var weight: Tensor
    public private(set) var bias: Tensor?

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
    }

    /// Applies the layer to `x` `[..., inputDimensions]`.
    /// - Throws: ``AttentionError`` if the last axis of `x` is not `inputDimensions`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1, x.shape.last == inputDimensions else {
            throw AttentionError.shape(
                "input", expected: "[..., \(inputDimensions)]", actual: x.shape)
        }
        let rows = x.count / inputDimensions
        let n = outputDimensions, k = inputDimensions
        let input = x.contiguous()
        var out = Tensor.zeros(Array(x.shape.dropLast()) + [n])
        let chunk = rowChunk(rows: rows, batches: 1)
        input.withUnsafeElements { px in
            weight.withUnsafeElements { pw in
                out.withUnsafeMutableElements { py in
                    let px = SendableConstPointer(px), pw = SendableConstPointer(pw),
                        py = SendablePointer(py)
                    parallelFor(count: (rows + chunk - 1) / chunk) { item, _ in
                        let r0 = item * chunk, m = Swift.min(chunk, rows - r0)
                        ak_sgemm(
                            0, 1, m, n, k, 1, px.base + r0 * k, k, pw.base, k, 0, py.base + r0 * n,
                            n)
                    }
                }
            }
        }
        if let bias {
            let b = bias.scalars
            out.withUnsafeMutableElements { py in
                for r in 0..<rows { for j in 0..<n { py[r * n + j] += b[j] } }
            }
        }
        return out
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
