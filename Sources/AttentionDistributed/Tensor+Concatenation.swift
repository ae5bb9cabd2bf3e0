import Attention

extension Tensor {
    /// The tensors joined along `axis` (every other axis equal), as a new contiguous tensor
    /// in the first one's dtype (bf16/f16 values round-trip exactly through `Float`).
    /// - Throws: ``AttentionError`` naming `tensors` when the list is empty or shapes differ
    ///   off `axis`.
    static func concatenating(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first, axis >= 0, axis < first.rank else {
            throw AttentionError.argument(
                "tensors", "expected at least one tensor with axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = 0
        for t in tensors {
            var other = t.shape
            other[axis] = 0
            guard other == shape else {
                throw AttentionError.shape(
                    "tensors", expected: "\(first.shape) except on axis \(axis)", actual: t.shape)
            }
        }
        shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        if tensors.count == 1 { return first.contiguous() }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let parts = tensors.map { ($0.scalars, $0.shape[axis] * inner) }
        var scalars = [Float]()
        scalars.reserveCapacity(shape.reduce(1, *))
        for o in 0..<outer {
            for (values, run) in parts { scalars += values[(o * run)..<((o + 1) * run)] }
        }
        return try Tensor(shape: shape, scalars: scalars, dtype: first.dtype)
    }
}
