// Reading boolean and additive mask tensors as broadcast to [B, H, Sq, Sk].
extension Tensor {
    /// Element [b, h, i, j] of this tensor broadcast (right-aligned) to rank 4.
    func broadcastValue(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Float {
        let idx = [b, h, i, j]
        var index = offset
        for axis in 0..<rank {
            let a = axis + 4 - rank
            if shape[axis] != 1 { index += idx[a] * strides[axis] }
        }
        return storage[index]
    }

    /// Classifies a tile of a broadcast boolean (or additive) mask by scanning it.
    func classifyBroadcast(
        _ b: Int, _ h: Int, _ rows: Range<Int>, _ cols: Range<Int>, additive: Bool
    ) -> BlockKind {
        var any = false, all = true
        for i in rows {
            for j in cols {
                let v = broadcastValue(b, h, i, j)
                let visible = additive ? v != -.infinity : v != 0
                any = any || visible
                all = all && visible
            }
        }
        if !any { return .empty }
        return additive ? .partial : (all ? .full : .partial)
    }
}
