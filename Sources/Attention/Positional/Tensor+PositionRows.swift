// Shared by the additive absolute position encodings (sinusoidal and learned).
extension Tensor {
    /// Adds rows `offset..<offset + S` of `table` `[maxLength, E]` to this tensor `[..., S, E]`.
    ///
    /// Validates the input the same way for every absolute encoding:
    /// - `input` must have rank ≥ 2 and `E` features in its last axis;
    /// - `offset` must be ≥ 0 and `offset + S` must not exceed `maxLength`.
    ///
    /// - Throws: ``AttentionError`` naming `input` or `offset`.
    func addingPositionRows(of table: Tensor, offset: Int) throws -> Tensor {
        let maxLength = table.shape[0], dimensions = table.shape[1]
        guard rank >= 2, shape[rank - 1] == dimensions else {
            throw AttentionError.shape(
                "input", expected: "[B, S, \(dimensions)] or [S, \(dimensions)]", actual: shape)
        }
        guard offset >= 0 else {
            throw AttentionError.argument("offset", "must be ≥ 0, got \(offset)")
        }
        let length = shape[rank - 2]
        guard length <= maxLength - offset else {
            let last = offset + length - 1
            if offset == 0 {
                throw AttentionError.argument(
                    "input",
                    "sequence length \(length) (shape \(shape)) exceeds maxLength \(maxLength)")
            }
            throw AttentionError.argument(
                "offset",
                "positions \(offset)...\(last) (offset \(offset) + sequence length \(length)) "
                    + "exceed maxLength \(maxLength)")
        }
        var out = contiguous().scalars
        let rows = table.scalars
        let block = length * dimensions
        let first = offset * dimensions
        var start = 0
        while start < out.count {
            for e in 0..<block { out[start + e] += rows[first + e] }
            start += block
        }
        return Tensor(unchecked: shape, storage: out)
    }
}
