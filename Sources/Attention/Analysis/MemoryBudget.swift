import Foundation

/// How many bytes one call may allocate before the process is refused memory or killed.
///
/// The budget is the smallest of:
/// - half of the physical memory;
/// - the headroom under `RLIMIT_AS` (`ulimit -v`: the limit minus the address space in use);
/// - the headroom under `RLIMIT_DATA` (`ulimit -d`: the limit minus the data segment in use);
/// - the headroom under the cgroup memory limit (v2 `memory.max` minus `memory.current`,
///   v1 `memory.limit_in_bytes` minus `memory.usage_in_bytes`), which is what containers and
///   systemd units set.
///
/// ``current()`` reads these from the system (`MemoryBudget+System.swift`: the cgroup and
/// `/proc` on Linux only); ``init(physicalMemory:addressSpace:data:cgroup:)`` is the pure
/// rule, for tests and for callers with their own numbers. The reference path's
/// default limit and `attention bench`'s refusal of oversized runs use this budget.
public struct MemoryBudget: Sendable, Equatable, CustomStringConvertible {
    /// A limit and what is already used under it (bytes).
    public struct Limit: Sendable, Equatable {
        public var limit: UInt64
        public var used: UInt64
        public init(limit: UInt64, used: UInt64) {
            self.limit = limit
            self.used = used
        }
        var headroom: UInt64 { limit > used ? limit - used : 0 }
    }

    /// The budget in bytes.
    public let bytes: Int
    /// What set it, e.g. "half of physical memory (15.6 GB)" or "ulimit -v (RLIMIT_AS)".
    public let source: String

    /// The budget from the given limits (`nil` = no such limit).
    public init(physicalMemory: UInt64, addressSpace: Limit?, data: Limit?, cgroup: Limit?) {
        var best = (
            physicalMemory / 2, "half of physical memory (\(formatBytes(Double(physicalMemory))))"
        )
        for (limit, name) in [
            (addressSpace, "ulimit -v (RLIMIT_AS)"), (data, "ulimit -d (RLIMIT_DATA)"),
            (cgroup, "the cgroup memory limit"),
        ] {
            if let limit, limit.headroom < best.0 {
                best = (limit.headroom, "\(name) \(formatBytes(Double(limit.limit)))")
            }
        }
        bytes = Int(clamping: best.0)
        source = best.1
    }

    /// For example "7.8 GB (half of physical memory (15.6 GB))".
    public var description: String { "\(formatBytes(Double(bytes))) (\(source))" }

    /// The cgroup limit from the contents of the v2 or v1 files (`"max"`, a missing file, or
    /// v1's "unlimited" value near 2⁶³ mean no limit).
    static func cgroupLimit(
        v2Max: String?, v2Current: String?, v1Limit: String?, v1Usage: String?
    ) -> Limit? {
        func number(_ text: String?) -> UInt64? {
            text.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let limit = number(v2Max) { return Limit(limit: limit, used: number(v2Current) ?? 0) }
        if let limit = number(v1Limit), limit < 1 << 60 {
            return Limit(limit: limit, used: number(v1Usage) ?? 0)
        }
        return nil
    }
}
