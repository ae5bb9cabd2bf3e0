// The one place where Tensor storage is reached through pointers. Kernels call these;
// public API never hands out pointers.
extension Tensor {
    /// Calls `body` with a pointer to element [0, 0, …]; strides are ``strides``. A
    /// reduced-precision tensor is widened first (the storage span this view reaches, layout
    /// kept): code that reads bf16/f16 directly uses ``withUnsafeHalfElements(_:)``.
    package func withUnsafeElements<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if dtype != .f32 {
            // Strides are never negative: the view reaches offset ... offset + Σ (n−1)·stride.
            let span =
                shape.contains(0) ? 0 : zip(shape, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
            var wide = [Float](repeating: 0, count: span)
            if span > 0 {
                let part = Array(halves[offset..<(offset + span)])
                HalfConversion.widen(part, from: dtype, into: &wide)
            }
            let t = Tensor(shape: shape, strides: strides, offset: 0, storage: wide)
            return try t.withUnsafeElements(body)
        }
        if storage.isEmpty { var one: Float = 0; return try body(&one) }
        return try storage.withUnsafeBufferPointer { try body($0.baseAddress! + offset) }
    }

    /// Calls `body` with a mutable pointer to the row-major elements, making storage unique
    /// and dense first.
    package mutating func withUnsafeMutableElements<R>(
        _ body: (UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        makeUniqueAndDense()
        if dtype != .f32 {  // through fp32, rounded back afterwards
            var wide = converted(to: .f32)
            defer { self = wide.converted(to: dtype) }
            return try wide.withUnsafeMutableElements(body)
        }
        if storage.isEmpty { var one: Float = 0; return try body(&one) }
        return try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor {
    /// Calls `body` with a pointer to the bit pattern of element [0, 0, …] of a bf16 or f16
    /// tensor; strides are ``strides``.
    /// - Precondition: `dtype` is `.bf16` or `.f16`.
    package func withUnsafeHalfElements<R>(_ body: (UnsafePointer<UInt16>) throws -> R) rethrows
        -> R
    {
        precondition(dtype != .f32, "withUnsafeHalfElements on an f32 tensor")
        if halves.isEmpty { var one: UInt16 = 0; return try body(&one) }
        return try halves.withUnsafeBufferPointer { try body($0.baseAddress! + offset) }
    }

    /// Calls `body` with a mutable pointer to the row-major bit patterns of a bf16 or f16
    /// tensor, making storage unique and dense first.
    /// - Precondition: `dtype` is `.bf16` or `.f16`.
    package mutating func withUnsafeMutableHalfElements<R>(
        _ body: (UnsafeMutablePointer<UInt16>) throws -> R
    ) rethrows -> R {
        precondition(dtype != .f32, "withUnsafeMutableHalfElements on an f32 tensor")
        makeUniqueAndDense()
        if halves.isEmpty { var one: UInt16 = 0; return try body(&one) }
        return try halves.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    /// A row-major bf16 or f16 tensor whose bit patterns `initializer` must fill completely.
    package init(
        uninitializedShape shape: [Int], dtype: DType,
        _ initializer: (UnsafeMutablePointer<UInt16>) -> Void
    ) {
        precondition(dtype != .f32)
        let n = shape.reduce(1, *)
        let halves = [UInt16](unsafeUninitializedCapacity: Swift.max(n, 1)) { buffer, count in
            initializer(buffer.baseAddress!)
            count = n
        }
        self.init(unchecked: shape, halves: halves, dtype: dtype)
    }

    /// Calls `body` with the address of element [0, 0, …] in the tensor's own dtype (no
    /// widening): `Float` for f32, the 2-byte bit patterns otherwise.
    package func withUnsafeRawElements<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        dtype == .f32
            ? try withUnsafeElements { try body(UnsafeRawPointer($0)) }
            : try withUnsafeHalfElements { try body(UnsafeRawPointer($0)) }
    }

    /// A row-major tensor of `dtype` whose storage `initializer` must fill completely
    /// (`Float`s for f32, bit patterns otherwise).
    package init(
        uninitializedRawShape shape: [Int], dtype: DType,
        _ initializer: (UnsafeMutableRawPointer) -> Void
    ) {
        if dtype == .f32 {
            self.init(uninitializedShape: shape) { initializer(UnsafeMutableRawPointer($0)) }
        } else {
            self.init(uninitializedShape: shape, dtype: dtype) {
                initializer(UnsafeMutableRawPointer($0))
            }
        }
    }

    /// A row-major tensor whose storage `initializer` must fill completely (kernels that
    /// write every element skip the zero-fill pass and its page faults on one thread).
    package init(
        uninitializedShape shape: [Int], _ initializer: (UnsafeMutablePointer<Float>) -> Void
    ) {
        let n = shape.reduce(1, *)
        let storage = [Float](unsafeUninitializedCapacity: Swift.max(n, 1)) { buffer, count in
            adviseHugePages(buffer.baseAddress!, count: n)
            initializer(buffer.baseAddress!)
            count = n
        }
        self.init(unchecked: shape, storage: storage)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Asks Linux for transparent huge pages on a large, not yet touched buffer: the first
/// writes then fault once per 2 MiB instead of once per 4 KiB (page faults are a visible
/// share of a 128 MiB output's cost). No effect elsewhere or on small buffers.
package func adviseHugePages(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
    #if os(Linux)
        let huge = 2 << 20
        let start = (Int(bitPattern: pointer) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: pointer) + count * MemoryLayout<Float>.stride) & ~(huge - 1)
        guard end - start >= 2 * huge, let address = UnsafeMutableRawPointer(bitPattern: start)
        else { return }
        _ = madvise(address, end - start, MADV_HUGEPAGE)
    #endif
}
