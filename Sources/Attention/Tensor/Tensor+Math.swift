extension Tensor {
    /// Applies `f` to every element (computed in `Float`; the result keeps ``dtype``).
    public func map(_ f: (Float) -> Float) -> Tensor {
        Tensor(unchecked: shape, storage: scalars.map(f)).converted(to: dtype)
    }

    /// Combines two tensors elementwise with NumPy broadcasting (computed in `Float`; the
    /// result has the operands' dtype when they share one, else f32).
    /// - Throws: ``AttentionError`` if the shapes do not broadcast.
    public func zipWith(_ other: Tensor, _ f: (Float, Float) -> Float) throws -> Tensor {
        guard let target = Tensor.broadcastShape(shape, other.shape) else {
            throw AttentionError.argument(
                "other", "shape \(other.shape) does not broadcast with \(shape)")
        }
        if dtype != .f32 || other.dtype != .f32 {
            let wide = try converted(to: .f32).zipWith(other.converted(to: .f32), f)
            return wide.converted(to: dtype == other.dtype ? dtype : .f32)
        }
        let a = shape == target ? self : try expanded(to: target)
        let b = other.shape == target ? other : try other.expanded(to: target)
        if a.isContiguous && b.isContiguous && a.count == a.storage.count
            && b.count == b.storage.count
        {
            let x = a.scalars, y = b.scalars
            return Tensor(unchecked: target, storage: (0..<x.count).map { f(x[$0], y[$0]) })
        }
        return Tensor(
            unchecked: target, storage: zip(a.contiguous().scalars, b.contiguous().scalars).map(f))
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.zipWith(b, +) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.zipWith(b, -) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.zipWith(b, *) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.zipWith(b, /) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }

    /// The largest absolute elementwise difference (shapes must be equal).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        return zip(scalars, other.scalars).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Double { scalars.reduce(0.0) { $0 + Double($1) } }

    /// Matrix product over the last two axes with broadcast batch axes:
    /// `[..., M, K] × [..., K, N] → [..., M, N]`. Uses the vectorized GEMM kernel (fp32;
    /// bf16/f16 operands are widened, and the result has their dtype when they share one).
    /// - Parameter execution: threads and kernel variant for this call (default: the
    ///   machine's).
    /// - Throws: ``AttentionError`` for rank < 2, mismatched inner dimensions, batch axes
    ///   that do not broadcast, or invalid `execution` settings.
    public func matmul(_ other: Tensor, execution: ExecutionOptions = ExecutionOptions()) throws
        -> Tensor
    {
        guard rank >= 2, other.rank >= 2 else {
            throw AttentionError.argument(
                "matmul", "both operands need rank ≥ 2, got \(shape) and \(other.shape)")
        }
        let m = shape[rank - 2], k = shape[rank - 1]
        let k2 = other.shape[other.rank - 2], n = other.shape[other.rank - 1]
        guard k == k2 else {
            throw AttentionError.argument(
                "matmul", "inner dimensions differ: \(shape) × \(other.shape)")
        }
        guard
            let batch = Tensor.broadcastShape(
                Array(shape.dropLast(2)), Array(other.shape.dropLast(2)))
        else {
            throw AttentionError.argument(
                "matmul", "batch axes do not broadcast: \(shape) × \(other.shape)")
        }
        let resolved = try execution.resolved()
        let a = try expanded(to: batch + [m, k])
        // A plain matrix on the right is shared by every left matrix: one folded product.
        let b = other.rank == 2 ? other : try other.expanded(to: batch + [k, n])
        let product = GEMM.multiply(a, b, execution: resolved)
        return dtype == other.dtype ? product.converted(to: dtype) : product
    }
}
