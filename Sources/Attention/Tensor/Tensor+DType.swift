extension Tensor {
    /// A tensor of the given shape and dtype holding `scalars` (row-major), each rounded to
    /// the dtype (nearest, ties to even; NaN stays NaN).
    /// - Throws: ``AttentionError`` if `scalars.count` is not the product of `shape` or a
    ///   dimension is negative.
    public init(shape: [Int], scalars: [Float], dtype: DType) throws {
        try self.init(shape: shape, scalars: scalars)
        if dtype != .f32 { self = converted(to: dtype) }
    }

    /// A bf16 or f16 tensor over raw bit patterns (row-major), stored as given.
    /// - Throws: ``AttentionError`` naming `dtype` if it is `.f32`, or `bits` if its count is
    ///   not the product of `shape`.
    public init(shape: [Int], bits: [UInt16], dtype: DType) throws {
        guard dtype != .f32 else {
            throw AttentionError.argument("dtype", "bit patterns need bf16 or f16, got f32")
        }
        try Tensor.validate(shape: shape, argument: "shape")
        let count = shape.reduce(1, *)
        guard bits.count == count else {
            throw AttentionError.argument(
                "bits", "expected \(count) values for shape \(shape), got \(bits.count)")
        }
        self.init(unchecked: shape, halves: bits, dtype: dtype)
    }

    /// The 2-byte bit patterns in row-major order, or `nil` for an f32 tensor.
    public var bits: [UInt16]? { dtype == .f32 ? nil : contiguous().halves }

    /// The same values in `dtype`: exact when widening (bf16/f16 → f32), rounded to nearest,
    /// ties to even when narrowing (NaN stays NaN; f16 overflows to infinity and keeps
    /// subnormals). Returns `self` when the dtype is already `dtype`.
    public func converted(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let source = contiguous()
        if dtype == .f32 {
            var out = [Float](repeating: 0, count: source.count)
            HalfConversion.widen(source.halves, from: source.dtype, into: &out)
            return Tensor(unchecked: shape, storage: out)
        }
        var out = [UInt16](repeating: 0, count: source.count)
        if self.dtype == .f32 {
            HalfConversion.narrow(source.storage, to: dtype, into: &out)
        } else {  // bf16 ↔ f16: through f32, which holds both exactly
            var wide = [Float](repeating: 0, count: source.count)
            HalfConversion.widen(source.halves, from: source.dtype, into: &wide)
            HalfConversion.narrow(wide, to: dtype, into: &out)
        }
        return Tensor(unchecked: shape, halves: out, dtype: dtype)
    }

    /// A row-major copy of a reduced-precision tensor.
    func contiguousHalves() -> Tensor {
        var out = [UInt16]()
        out.reserveCapacity(count)
        forEachRun { start, length, step in
            if step == 1 {
                out.append(contentsOf: halves[start..<(start + length)])
            } else {
                for i in 0..<length { out.append(halves[start + i * step]) }
            }
        }
        return Tensor(unchecked: shape, halves: out, dtype: dtype)
    }
}
