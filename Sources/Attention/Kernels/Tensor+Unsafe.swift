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
    package init(uninitializedShape shape: [Int], _ initializer: (UnsafeMutablePointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        let storage = [Float](unsafeUninitializedCapacity: Swift.max(n, 1)) { buffer, count in
            initializer(buffer.baseAddress!)
            count = n
        }
        self.init(unchecked: shape, storage: storage)
    }
}

/// A pointer that may cross into concurrently running closures. Each task writes a disjoint
/// region; that discipline is the caller's, as in any parallel kernel.
package struct SendablePointer<T>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<T>
    package init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

package struct SendableConstPointer<T>: @unchecked Sendable {
    package let base: UnsafePointer<T>
    package init(_ base: UnsafePointer<T>) { self.base = base }
}
