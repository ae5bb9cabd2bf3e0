import Dispatch
import Foundation
import _AttentionKernels

/// Settings shared by all kernels.
public enum AttentionConfiguration {
    nonisolated(unsafe) private static var _threadCount: Int = defaultThreadCount
    private static let lock = NSLock()

    /// The number of threads kernels use (default: active processor count).
    public static var threadCount: Int {
        get { lock.withLock { _threadCount } }
        set { lock.withLock { _threadCount = Swift.max(1, newValue) } }
    }

    /// The SIMD variant the kernels use. Setting a variant the CPU lacks selects the best
    /// one it has. Tests use this to check the portable path on every machine.
    public static var instructionSet: InstructionSet {
        get { InstructionSet(rawValue: Int(ak_active_isa())) ?? .portable }
        set { ak_set_isa(Int32(newValue.rawValue)) }
    }

    /// The best variant this CPU supports.
    public static var detectedInstructionSet: InstructionSet {
        InstructionSet(rawValue: Int(ak_detected_isa())) ?? .portable
    }

    static var defaultThreadCount: Int {
        Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Runs `body(item)` for every item in 0..<count on up to `threads` threads. Items are
/// handed out dynamically (an atomic counter), so uneven items (causal blocks) balance.
/// `body` receives the worker index (0..<threads) too, for per-thread scratch space.
package func parallelFor(
    count: Int, threads: Int = AttentionConfiguration.threadCount,
    _ body: (_ item: Int, _ worker: Int) -> Void
) {
    guard count > 0 else { return }
    let workers = Swift.min(threads, count)
    if workers <= 1 {
        for i in 0..<count { body(i, 0) }
        return
    }
    var next = 0
    withUnsafeMutablePointer(to: &next) { counterPointer in
        let counter = SendablePointer(counterPointer)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let item = ak_atomic_fetch_add(counter.base, 1)
                    if item >= count { break }
                    box.value(item, worker)
                }
            }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; the caller guarantees safety.
package struct UncheckedBox<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// SIMD variants of the micro-kernels.
public enum InstructionSet: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// 4-wide vectors without FMA (SSE2 on x86-64, NEON on arm64).
    case portable = 0
    /// 8-wide AVX2 with FMA.
    case avx2 = 1
    /// 16-wide AVX-512 (F, VL, DQ) with FMA.
    case avx512 = 2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["portable", "AVX2+FMA", "AVX-512"][rawValue] }
}

/// `exp` of every element through the active variant's vectorized kernel (the exp the
/// kernels use); exposed for accuracy tests and benchmarks.
package func vectorizedExp(_ x: [Float]) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            if let xb = xp.baseAddress, let yb = yp.baseAddress { ak_exp(x.count, xb, yb) }
        }
    }
    return y
}
