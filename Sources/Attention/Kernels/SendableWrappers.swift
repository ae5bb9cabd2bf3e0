/// Carries a non-Sendable value into `concurrentPerform`; the caller guarantees safety.
package struct UncheckedBox<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// A pointer that may cross into concurrently running closures. Each task writes a disjoint
/// region; that discipline is the caller's, as in any parallel kernel.
package struct SendablePointer<T>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<T>
    package init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// A read-only pointer that may cross into concurrently running closures.
package struct SendableConstPointer<T>: @unchecked Sendable {
    package let base: UnsafePointer<T>
    package init(_ base: UnsafePointer<T>) { self.base = base }
}
