import Foundation

/// An n-dimensional array of `Float` with shape, strides and copy-on-write storage.
///
/// Elements are fp32 unless the tensor was made in another ``DType`` (bf16 or f16: 2 bytes
/// per element, see ``converted(to:)``); every accessor reads them as `Float` (exactly)
/// and writes round to nearest even.
///
/// Views (``reshaped(_:)``, ``permuted(_:)``, ``transposed(_:_:)``, ``sliced(axis:range:)``,
/// ``expanded(to:)``) share storage and copy nothing; the first mutation of a shared tensor
/// copies it (value semantics, like `Array`). Scalars are stored row-major when
/// ``isContiguous`` is `true`.
///
/// ```swift
/// let x = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let t = x.transposed(0, 1)        // [3, 2] view, no copy
/// print(t[2, 1])                    // 6.0
/// ```
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// Extent of each axis.
    public private(set) var shape: [Int]
    /// Elements to step in storage for one step along each axis (0 for broadcast axes).
    public private(set) var strides: [Int]
    /// Storage index of element [0, 0, …].
    @usableFromInline var offset: Int
    @usableFromInline var storage: [Float]
    /// The element type (``DType/f32`` unless made with a reduced-precision initializer or
    /// ``converted(to:)``).
    public private(set) var dtype: DType = .f32
    /// Storage of a 2-byte dtype (bf16 or f16 bit patterns); `storage` is then empty, and
    /// `offset`/`strides` index this array instead.
    @usableFromInline var halves: [UInt16] = []

    /// A tensor of the given shape holding `scalars` in row-major order.
    /// - Throws: ``AttentionError`` if `scalars.count` is not the product of `shape` or a
    ///   dimension is negative.
    public init(shape: [Int], scalars: [Float]) throws {
        try Tensor.validate(shape: shape, argument: "shape")
        let count = shape.reduce(1, *)
        guard scalars.count == count else {
            throw AttentionError.argument(
                "scalars", "expected \(count) values for shape \(shape), got \(scalars.count)")
        }
        self.init(unchecked: shape, storage: scalars)
    }

    /// A tensor of the given shape with every element equal to `value`.
    /// - Throws: ``AttentionError`` naming `shape` if a dimension is negative or the element
    ///   count overflows `Int`.
    public init(shape: [Int], repeating value: Float) throws {
        try Tensor.validate(shape: shape, argument: "shape")
        self.init(unchecked: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros, for shapes computed by code (the kernels' outputs); for a shape
    /// that comes from user input use the throwing ``init(shape:repeating:)``.
    /// - Precondition: every dimension ≥ 0 and the element count fits in `Int`.
    public static func zeros(_ shape: [Int]) -> Tensor { filled(shape, 0) }

    /// A tensor of ones; see ``zeros(_:)``.
    /// - Precondition: every dimension ≥ 0 and the element count fits in `Int`.
    public static func ones(_ shape: [Int]) -> Tensor { filled(shape, 1) }

    private static func filled(_ shape: [Int], _ value: Float) -> Tensor {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        return Tensor(
            unchecked: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A rank-0 tensor.
    public init(_ scalar: Float) { self.init(unchecked: [], storage: [scalar]) }

    @usableFromInline init(unchecked shape: [Int], storage: [Float]) {
        self.shape = shape
        self.strides = Tensor.contiguousStrides(for: shape)
        self.offset = 0
        self.storage = storage
    }

    init(shape: [Int], strides: [Int], offset: Int, storage: [Float]) {
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.storage = storage
    }

    /// A view of the same storage (and dtype) with another shape, strides and offset.
    func view(shape: [Int], strides: [Int], offset: Int) -> Tensor {
        var t = self
        t.shape = shape
        t.strides = strides
        t.offset = offset
        return t
    }

    /// A row-major reduced-precision tensor over `halves` (bit patterns of `dtype`).
    init(unchecked shape: [Int], halves: [UInt16], dtype: DType) {
        self.init(unchecked: shape, storage: [])
        self.halves = halves
        self.dtype = dtype
    }

    static func validate(shape: [Int], argument: String) throws {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw AttentionError.argument(
                argument, "dimensions must be ≥ 0, got \(bad) in \(shape)")
        }
        var count = 1
        for extent in shape {
            let product = count.multipliedReportingOverflow(by: extent)
            guard !product.overflow else {
                throw AttentionError.argument(
                    argument, "the element count of \(shape) overflows Int")
            }
            count = product.partialValue
        }
    }

    /// Row-major strides for a shape.
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Whether the elements lie row-major and densely in storage.
    public var isContiguous: Bool {
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Storage index of an element.
    @inlinable func storageIndex(_ indices: [Int]) -> Int {
        precondition(
            indices.count == shape.count, "expected \(shape.count) indices, got \(indices.count)")
        var index = offset
        for axis in indices.indices {
            precondition(
                indices[axis] >= 0 && indices[axis] < shape[axis],
                "index \(indices[axis]) out of range 0..<\(shape[axis]) on axis \(axis)")
            index += indices[axis] * strides[axis]
        }
        return index
    }

    /// Reads or writes one element (a reduced-precision tensor widens on read and rounds to
    /// nearest even on write).
    public subscript(_ indices: Int...) -> Float {
        get {
            dtype == .f32
                ? storage[storageIndex(indices)] : dtype.float(halves[storageIndex(indices)])
        }
        set {
            makeUniqueAndDense()
            if dtype == .f32 {
                storage[storageIndex(indices)] = newValue
            } else {
                halves[storageIndex(indices)] = dtype.bits(newValue)
            }
        }
    }

    /// The elements in row-major order (widened to `Float` for a reduced-precision tensor).
    public var scalars: [Float] {
        if dtype != .f32 { return contiguous().halves.map(dtype.float) }
        if isContiguous && offset == 0 && storage.count == count { return storage }
        return contiguous().storage
    }

    /// Elements in storage (of `storage` or `halves`, whichever the dtype uses).
    var storageCount: Int { dtype == .f32 ? storage.count : halves.count }

    /// A row-major copy (or `self` when already row-major and unshared by other views).
    public func contiguous() -> Tensor {
        if isContiguous && offset == 0 && storageCount == count { return self }
        if dtype != .f32 { return contiguousHalves() }
        var out = [Float]()
        out.reserveCapacity(count)
        forEachRun { start, length, step in
            if step == 1 {
                out.append(contentsOf: storage[start..<(start + length)])
            } else {
                for i in 0..<length { out.append(storage[start + i * step]) }
            }
        }
        return Tensor(unchecked: shape, storage: out)
    }

    /// Calls `body(start, length, step)` for each run along the last axis, in row-major order.
    func forEachRun(_ body: (Int, Int, Int) -> Void) {
        guard count > 0 else { return }
        if shape.isEmpty { body(offset, 1, 1); return }
        let last = shape.count - 1
        var index = [Int](repeating: 0, count: last)
        while true {
            var start = offset
            for axis in 0..<last { start += index[axis] * strides[axis] }
            body(start, shape[last], strides[last])
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }

    /// Makes storage unshared, dense and row-major so it can be written in place.
    mutating func makeUniqueAndDense() {
        if !(isContiguous && offset == 0 && storageCount == count) {
            self = contiguous()
        }
    }

    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        let type = dtype == .f32 ? "" : ", dtype: \(dtype)"
        return "Tensor(shape: \(shape)\(type), [\(preview)\(count > 8 ? ", …" : "")])"
    }

    /// Equal shapes, dtypes and elements (elements compare as `Float`: NaN ≠ NaN).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.dtype == rhs.dtype && lhs.scalars == rhs.scalars
    }
}
