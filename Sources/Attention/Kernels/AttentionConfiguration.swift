import Foundation
import _AttentionKernels

/// Process-wide defaults that per-call ``ExecutionOptions`` fall back to.
///
/// The library reads these once per call, when it resolves a call's ``ExecutionOptions``,
/// and never changes them itself; a call that sets its own value ignores them.
public enum AttentionConfiguration {
    nonisolated(unsafe) private static var _defaultThreadCount = machineThreadCount
    private static let lock = NSLock()

    /// The thread count of calls that do not set ``ExecutionOptions/threads`` (default: the
    /// active processor count). Settable by the application, read under a lock; values below
    /// 1 become 1.
    public static var defaultThreadCount: Int {
        get { lock.withLock { _defaultThreadCount } }
        set { lock.withLock { _defaultThreadCount = Swift.max(1, newValue) } }
    }

    /// The best variant this CPU supports.
    public static var detectedInstructionSet: InstructionSet { detected }

    /// The variant of calls that do not set ``ExecutionOptions/instructionSet``: the
    /// detected one, or the variant named by the environment variable `SWIFTATTENTION_ISA`
    /// (`portable`, `avx2` or `avx512`; clamped to what the CPU supports), read once at first
    /// use.
    public static var defaultInstructionSet: InstructionSet { environmentDefault }

    /// The memory a single call may plan to allocate for materialized scores (the reference
    /// path) when ``ExecutionOptions/memoryLimit`` is not set: ``MemoryBudget/current()``,
    /// half the physical memory or less under `ulimit -v`/`-d` or a cgroup memory limit,
    /// read when a call needs it.
    public static var memoryBudget: Int { MemoryBudget.current().bytes }

    /// Renamed: the process-wide default is ``defaultThreadCount``; a single call sets
    /// ``ExecutionOptions/threads``.
    @available(*, deprecated, renamed: "defaultThreadCount")
    public static var threadCount: Int {
        get { defaultThreadCount }
        set { defaultThreadCount = newValue }
    }

    /// The default variant; choose one per call with ``ExecutionOptions/instructionSet``.
    @available(*, deprecated, renamed: "defaultInstructionSet")
    public static var instructionSet: InstructionSet { defaultInstructionSet }

    /// The default limit; set one per call with ``ExecutionOptions/memoryLimit``.
    @available(*, deprecated, renamed: "memoryBudget")
    public static var referenceMemoryLimit: Int { memoryBudget }

    static var machineThreadCount: Int {
        Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    private static let detected = InstructionSet(rawValue: Int(ak_detected_isa())) ?? .portable

    private static let environmentDefault: InstructionSet = {
        let names: [String: InstructionSet] = [
            "portable": .portable, "avx2": .avx2, "avx512": .avx512,
        ]
        guard let name = ProcessInfo.processInfo.environment["SWIFTATTENTION_ISA"],
            let requested = names[name.lowercased()]
        else { return detected }
        return Swift.min(requested, detected)
    }()
}
