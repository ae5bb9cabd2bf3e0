import Foundation

#if canImport(Darwin)
    import Darwin
#endif

/// Reads the process's resident memory, and its peak.
///
/// - Linux: `/proc/self/status` (`VmRSS`, `VmHWM`); ``resetPeak()`` writes `5` to
///   `/proc/self/clear_refs`, so the peak is the peak since the last reset.
/// - Darwin (macOS, iOS): `task_info(MACH_TASK_BASIC_INFO)` (`resident_size`,
///   `resident_size_max`). The peak cannot be reset there: it is the peak since the
///   process started, an upper bound of the peak since any later point, and
///   ``resetPeak()`` returns `false`.
/// - Elsewhere: `nil` and `false`.
public enum MemoryProbe {
    /// Current resident set size in bytes, or `nil` where unavailable.
    public static var residentBytes: Int? {
        #if os(Linux)
            return statusField("VmRSS:")
        #elseif canImport(Darwin)
            return taskBasicInfo().map { Int(clamping: $0.resident_size) }
        #else
            return nil
        #endif
    }

    /// Peak resident set size in bytes since the last ``resetPeak()`` (Darwin: since the
    /// process started), or `nil`.
    public static var peakBytes: Int? {
        #if os(Linux)
            return statusField("VmHWM:")
        #elseif canImport(Darwin)
            return taskBasicInfo().map { Int(clamping: $0.resident_size_max) }
        #else
            return nil
        #endif
    }

    /// Starts a new peak measurement (returns `false` where the OS cannot reset it).
    @discardableResult
    public static func resetPeak() -> Bool {
        #if os(Linux)
            guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else {
                return false
            }
            defer { try? handle.close() }
            do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
            return true
        #else
            return false
        #endif
    }

    #if os(Linux)
        private static func statusField(_ name: String) -> Int? {
            ProcSelfStatus.read().flatMap { ProcSelfStatus.bytes(name, in: $0) }.map {
                Int(clamping: $0)
            }
        }
    #elseif canImport(Darwin)
        /// `task_info(MACH_TASK_BASIC_INFO)` of this task (`MACH_TASK_BASIC_INFO_COUNT` is a
        /// macro Swift does not import: the struct's size in `natural_t` words).
        static func taskBasicInfo() -> mach_task_basic_info? {
            var info = mach_task_basic_info()
            var count = mach_msg_type_number_t(
                MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
            let result = withUnsafeMutablePointer(to: &info) {
                $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                    task_info(machTaskSelf, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
                }
            }
            return result == KERN_SUCCESS ? info : nil
        }
    #endif
}

#if canImport(Darwin)
    /// This task's port, asked for once (`mach_task_self_`, the C global behind
    /// `mach_task_self()`, is not concurrency-safe to Swift 6 before the macOS 15.4 SDK).
    private let machTaskSelf: mach_port_t = task_self_trap()
#endif
