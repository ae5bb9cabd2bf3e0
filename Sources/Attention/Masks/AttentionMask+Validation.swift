// Validation: tensor shapes, structured parameters, and their fit to the sequence lengths.
extension AttentionMask {
    /// Tensors inside the mask, for validation.
    var tensors: [(name: String, tensor: Tensor)] {
        switch self {
        case .dense(let t): return [("dense mask", t)]
        case .additive(let t): return [("additive mask", t)]
        case .and(let a, let b), .or(let a, let b): return a.tensors + b.tensors
        default: return []
        }
    }

    /// Whether the mask contains an additive part.
    var hasAdditive: Bool {
        switch self {
        case .additive: return true
        case .and(let a, let b), .or(let a, let b): return a.hasAdditive || b.hasAdditive
        default: return false
        }
    }

    /// Checks that every tensor in the mask broadcasts to `[batch, heads, queries, keys]` and
    /// that every structured part's parameters are valid for `queries × keys` (for example
    /// ``blockDiagonal(lengths:)`` lengths summing to the sequence length).
    /// - Throws: ``AttentionError`` naming `mask`.
    public func validate(batch: Int, heads: Int, queries: Int, keys: Int) throws {
        let target = [batch, heads, queries, keys]
        for (name, t) in tensors {
            guard t.rank <= 4, let b = Tensor.broadcastShape(t.shape, target), b == target else {
                throw AttentionError.shape(
                    "mask", expected: "\(name) broadcastable to \(target)", actual: t.shape)
            }
        }
        if case .or = self, hasAdditive {
            throw AttentionError.argument("mask", "an additive mask cannot be combined with .or")
        }
        try validateStructure(queries: queries, keys: keys)
    }

    /// The largest value any integer parameter of a structured mask may take (2⁴⁰, far
    /// beyond any sequence length that fits in memory): with this bound, position arithmetic
    /// such as `i + right + 1` cannot overflow.
    public static let maxParameter = 1 << 40

    /// The integer parameters of this case (not of nested masks), named for messages.
    private var integerParameters: [(name: String, value: Int)] {
        switch self {
        case .slidingWindow(let left, let right),
            .slidingWindowFromBottomRight(let left, let right):
            return [("left", left), ("right", right)]
        case .dilatedWindow(let window, let dilation):
            return [("window", window), ("dilation", dilation)]
        case .longformer(let window, let globals):
            return [("window", window), ("global", globals.last ?? 0)]
        case .strided(let stride), .sparseTransformerStrided(let stride):
            return [("stride", stride)]
        case .sparseTransformerFixed(let block, let summary):
            return [("blockSize", block), ("summary", summary)]
        case .bigBird(let window, let global, let random, _):
            return [("window", window), ("globalTokens", global), ("randomPerRow", random)]
        case .bigBirdBlocks(let block, let window, let global, let random, _):
            return [
                ("blockSize", block), ("windowBlocks", window), ("globalBlocks", global),
                ("randomBlocks", random),
            ]
        case .blockDiagonal(let segments): return segments.lengths.map { ("length", $0) }
        case .prefixLM(let prefix): return [("prefixLength", prefix)]
        default: return []
        }
    }

    /// Checks the parameters that do not depend on the sequence lengths.
    /// - Throws: ``AttentionError`` naming `argument`.
    func validateParameters(argument: String) throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw AttentionError.argument(argument, message()) }
        }
        if let (name, value) = integerParameters.first(where: { $0.value > Self.maxParameter }) {
            throw AttentionError.argument(
                argument, "\(name) must be at most 2^40 (\(Self.maxParameter)), got \(value)")
        }
        let maxRandom = BigBirdGrid.maxRandom
        switch self {
        case .slidingWindow(let left, let right):
            try require(
                left >= 0 && right >= 0,
                "slidingWindow needs left ≥ 0 and right ≥ 0, got left \(left), right \(right)")
        case .slidingWindowFromBottomRight(let left, let right):
            try require(
                left >= 0 && right >= 0,
                "slidingWindowFromBottomRight needs left ≥ 0 and right ≥ 0, got left \(left), right \(right)"
            )
        case .dilatedWindow(let window, let dilation):
            try require(
                window >= 0 && dilation >= 1,
                "dilatedWindow needs window ≥ 0 and dilation ≥ 1, got window \(window), dilation \(dilation)"
            )
            let reach = (window / 2).multipliedReportingOverflow(by: dilation)
            try require(
                !reach.overflow && reach.partialValue <= Self.maxParameter,
                "dilatedWindow's reach (window / 2) · dilation must be at most 2^40, got window \(window), dilation \(dilation)"
            )
        case .longformer(let window, let globals):
            try require(window >= 0, "longformer needs window ≥ 0, got \(window)")
            try require(
                (globals.first ?? 0) >= 0,
                "longformer global positions must be ≥ 0, got \(globals.first ?? 0)")
        case .strided(let stride), .sparseTransformerStrided(let stride):
            try require(stride >= 1, "a strided mask needs stride ≥ 1, got \(stride)")
        case .sparseTransformerFixed(let block, let summary):
            try require(
                block >= 1 && summary >= 0 && summary <= block,
                "sparseTransformerFixed needs blockSize ≥ 1 and 0 ≤ summary ≤ blockSize, got blockSize \(block), summary \(summary)"
            )
        case .bigBird(let window, let global, let random, _):
            try require(
                window >= 0 && global >= 0 && random >= 0 && random <= maxRandom,
                "bigBird needs window ≥ 0, globalTokens ≥ 0 and 0 ≤ randomPerRow ≤ \(maxRandom), got window \(window), globalTokens \(global), randomPerRow \(random)"
            )
        case .bigBirdBlocks(let block, let window, let global, let random, _):
            try require(
                block >= 1 && window >= 1 && window % 2 == 1 && global >= 0
                    && random >= 0 && random <= maxRandom,
                "bigBirdBlocks needs blockSize ≥ 1, an odd windowBlocks ≥ 1, globalBlocks ≥ 0 and 0 ≤ randomBlocks ≤ \(maxRandom), got blockSize \(block), windowBlocks \(window), globalBlocks \(global), randomBlocks \(random)"
            )
        case .blockDiagonal(let segments):
            try require(
                segments.lengths.allSatisfy { $0 >= 0 },
                "blockDiagonal lengths must be ≥ 0, got \(segments.lengths)")
        case .prefixLM(let prefix):
            try require(prefix >= 0, "prefixLM needs prefixLength ≥ 0, got \(prefix)")
        case .and(let a, let b), .or(let a, let b):
            try a.validateParameters(argument: argument)
            try b.validateParameters(argument: argument)
        case .none, .causal, .causalFromBottomRight, .dense, .additive:
            break
        }
    }

    /// Checks parameters and their fit to `queries × keys`.
    /// - Throws: ``AttentionError`` naming `mask`.
    func validateStructure(queries: Int, keys: Int) throws {
        try validateParameters(argument: "mask")
        switch self {
        case .longformer(_, let globals):
            let limit = Swift.max(queries, keys)
            if let last = globals.last, last >= limit {
                throw AttentionError.argument(
                    "mask",
                    globals.isLeading
                        ? "longformer needs global ≤ max(queries, keys) (\(limit)), got \(globals.count)"
                        : "longformer global position \(last) is outside 0..<\(limit) (max(queries, keys))"
                )
            }
        case .blockDiagonal(let segments):
            guard queries == keys else {
                throw AttentionError.argument(
                    "mask",
                    "blockDiagonal needs queries == keys (packed sequences), got queries \(queries), keys \(keys)"
                )
            }
            guard segments.total == keys else {
                throw AttentionError.argument(
                    "mask",
                    "blockDiagonal lengths must sum to the sequence length \(keys), got \(segments.lengths) (sum \(segments.total))"
                )
            }
        case .prefixLM(let prefix):
            guard prefix <= keys else {
                throw AttentionError.argument(
                    "mask", "prefixLM needs prefixLength ≤ keys (\(keys)), got \(prefix)")
            }
        case .and(let a, let b), .or(let a, let b):
            try a.validateStructure(queries: queries, keys: keys)
            try b.validateStructure(queries: queries, keys: keys)
        default:
            break
        }
    }
}
