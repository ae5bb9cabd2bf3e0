import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The system reads behind ``MemoryBudget/current()``; the rule itself is in MemoryBudget.swift.
//
// - physical memory: `ProcessInfo.physicalMemory` (sysctl `hw.memsize` on Darwin,
//   `sysinfo` on Linux);
// - `RLIMIT_AS` / `RLIMIT_DATA`: `getrlimit` (POSIX), with the address space and data segment
//   in use from `/proc/self/status` (`VmSize`, `VmData`) on Linux; on Darwin the address space
//   from `task_info` (`virtual_size`) and, for lack of a data-segment figure, the resident
//   size as the data in use;
// - the cgroup memory limit: Linux only (`/sys/fs/cgroup`).
extension MemoryBudget {
    /// The budget of this process now.
    public static func current() -> MemoryBudget {
        let (addressSpaceUsed, dataUsed) = memoryInUse()
        return MemoryBudget(
            physicalMemory: ProcessInfo.processInfo.physicalMemory,
            addressSpace: resourceLimit(RLIMIT_AS_VALUE).map {
                Limit(limit: $0, used: addressSpaceUsed)
            },
            data: resourceLimit(RLIMIT_DATA_VALUE).map { Limit(limit: $0, used: dataUsed) },
            cgroup: cgroupLimitOfThisProcess())
    }

    /// The most one allocation could ever be backed by: the physical memory, or the cgroup
    /// memory limit when that is lower (a container's; the limit itself, not its headroom,
    /// since the page cache it counts can be reclaimed). `ulimit -v` / `-d` need no check:
    /// the system refuses such an allocation when it is made, while memory past a cgroup
    /// limit is granted and the process killed when it is touched.
    static func allocationCeiling() -> (bytes: UInt64, description: String) {
        let physical = ProcessInfo.processInfo.physicalMemory
        return ceiling(physicalMemory: physical, cgroup: cgroupLimitOfThisProcess())
    }

    /// ``allocationCeiling()``'s rule, for tests.
    static func ceiling(physicalMemory: UInt64, cgroup: Limit?) -> (
        bytes: UInt64, description: String
    ) {
        if let cgroup, cgroup.limit < physicalMemory {
            return (cgroup.limit, "the cgroup memory limit \(formatBytes(Double(cgroup.limit)))")
        }
        return (physicalMemory, "physical memory \(formatBytes(Double(physicalMemory)))")
    }

    /// Bytes of address space and of data segment in use (0 where unknown).
    private static func memoryInUse() -> (addressSpace: UInt64, data: UInt64) {
        #if os(Linux)
            let status = ProcSelfStatus.read() ?? ""
            return (
                ProcSelfStatus.bytes("VmSize:", in: status) ?? 0,
                ProcSelfStatus.bytes("VmData:", in: status) ?? 0
            )
        #elseif canImport(Darwin)
            guard let info = MemoryProbe.taskBasicInfo() else { return (0, 0) }
            return (UInt64(info.virtual_size), UInt64(info.resident_size))
        #else
            return (0, 0)
        #endif
    }

    /// The cgroup limit (v2, else v1) of a Linux process; `nil` elsewhere.
    private static func cgroupLimitOfThisProcess() -> Limit? {
        #if os(Linux)
            func read(_ path: String) -> String? {
                try? String(contentsOfFile: path, encoding: .utf8)
            }
            return cgroupLimit(
                v2Max: read("/sys/fs/cgroup/memory.max"),
                v2Current: read("/sys/fs/cgroup/memory.current"),
                v1Limit: read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                v1Usage: read("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
        #else
            return nil
        #endif
    }

    private static func resourceLimit(_ resource: Int32) -> UInt64? {
        var value = rlimit()
        #if canImport(Glibc)
            guard getrlimit(__rlimit_resource_t(UInt32(resource)), &value) == 0 else { return nil }
        #else
            guard getrlimit(resource, &value) == 0 else { return nil }
        #endif
        let limit = UInt64(value.rlim_cur)
        // RLIM_INFINITY: 2⁶⁴ − 1 on Linux, 2⁶³ − 1 on Darwin.
        return limit >= UInt64(Int64.max) ? nil : limit
    }
}

#if canImport(Glibc)
    private let RLIMIT_AS_VALUE = Int32(RLIMIT_AS.rawValue)
    private let RLIMIT_DATA_VALUE = Int32(RLIMIT_DATA.rawValue)
#else
    private let RLIMIT_AS_VALUE = Int32(RLIMIT_AS)
    private let RLIMIT_DATA_VALUE = Int32(RLIMIT_DATA)
#endif
