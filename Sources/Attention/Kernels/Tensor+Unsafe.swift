// The one place where Tensor storage is reached through pointers. Kernels call these;
// public API never hands out pointers.
extension Tensor {
    /// Calls `body` with a pointer to element [0, 0, …]; strides are ``strides``.
    package func withUnsafeElements<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if storage.isEmpty { var one: Float = 0; return try body(&one) }
        return try storage.withUnsafeBufferPointer { try body($0.baseAddress! + offset) }
    }

    /// Calls `body` with a mutable pointer to the row-major elements, making storage unique
    /// and dense first.
    package mutating func withUnsafeMutableElements<R>(
        _ body: (UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        makeUniqueAndDense()
        if storage.isEmpty { var one: Float = 0; return try body(&one) }
        return try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor {
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
