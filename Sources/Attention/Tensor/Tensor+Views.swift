extension Tensor {
    /// The same elements with a new shape; one dimension may be `-1` (inferred).
    /// Copies only when the tensor is not row-major.
    /// - Throws: ``AttentionError`` if the element counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw AttentionError.argument(
                "shape", "at most one -1 and no other negative value, got \(newShape)")
        }
        if let axis = inferred.first {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw AttentionError.argument(
                    "shape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
            }
            resolved[axis] = count / known
        }
        guard resolved.reduce(1, *) == count else {
            throw AttentionError.argument(
                "shape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let base = isContiguous ? self : contiguous()
        return base.view(
            shape: resolved, strides: Tensor.contiguousStrides(for: resolved), offset: base.offset)
    }

    /// Reorders the axes: result axis i is input axis `axes[i]`. No copy.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw AttentionError.argument(
                "axes", "expected a permutation of 0..<\(rank), got \(axes)")
        }
        return view(
            shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
    }

    /// Swaps two axes (negative axes count from the end). No copy.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        let a = a < 0 ? a + rank : a, b = b < 0 ? b + rank : b
        precondition(
            a >= 0 && a < rank && b >= 0 && b < rank,
            "axes \(a), \(b) out of range for rank \(rank)")
        var axes = Array(0..<rank)
        axes.swapAt(a, b)
        return try! permuted(axes)
    }

    /// The elements whose index along `axis` lies in `range`. No copy.
    public func sliced(axis: Int, range: Range<Int>) throws -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        guard axis >= 0 && axis < rank else {
            throw AttentionError.argument("axis", "expected 0..<\(rank), got \(axis)")
        }
        guard range.lowerBound >= 0 && range.upperBound <= shape[axis] else {
            throw AttentionError.argument(
                "range", "\(range) is outside 0..<\(shape[axis]) on axis \(axis)")
        }
        var newShape = shape
        newShape[axis] = range.count
        return view(
            shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[axis])
    }

    /// A broadcast view with the given shape (NumPy rules: align right, size-1 axes stretch).
    public func expanded(to target: [Int]) throws -> Tensor {
        guard target.count >= rank else {
            throw AttentionError.argument("shape", "cannot broadcast \(shape) to \(target)")
        }
        let lead = target.count - rank
        var newStrides = [Int](repeating: 0, count: target.count)
        for axis in 0..<rank {
            let t = target[lead + axis]
            if shape[axis] == t {
                newStrides[lead + axis] = strides[axis]
            } else if shape[axis] == 1 {
                newStrides[lead + axis] = 0
            } else {
                throw AttentionError.argument("shape", "cannot broadcast \(shape) to \(target)")
            }
        }
        return view(shape: target, strides: newStrides, offset: offset)
    }

    /// The broadcast of two shapes, or `nil` when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }
}
