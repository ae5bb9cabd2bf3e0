import Foundation

/// `/proc/self/status`, Linux's per-process memory fields (`VmRSS`, `VmHWM`, `VmSize`,
/// `VmData`, in kB), read by ``MemoryProbe`` and ``MemoryBudget/current()``.
enum ProcSelfStatus {
    /// The file's text, or `nil` (not Linux, or unreadable).
    static func read() -> String? {
        #if os(Linux)
            return try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        #else
            return nil
        #endif
    }

    /// The field `name` (e.g. `"VmRSS:"`) of `status` in bytes, or `nil` when it is absent.
    static func bytes(_ name: String, in status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).split(whereSeparator: {
                $0 == " " || $0 == "\t"
            }).first.flatMap { UInt64($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}
