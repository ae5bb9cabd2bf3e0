import Foundation

/// Reads the process's resident memory, and its peak since the last reset (Linux:
/// `/proc/self/status` VmRSS/VmHWM, reset through `/proc/self/clear_refs`).
public enum MemoryProbe {
    /// Current resident set size in bytes, or `nil` where unavailable.
    public static var residentBytes: Int? { statusField("VmRSS:") }

    /// Peak resident set size in bytes since the last ``resetPeak()``, or `nil`.
    public static var peakBytes: Int? { statusField("VmHWM:") }

    /// Starts a new peak measurement (returns `false` where the OS cannot reset it).
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else {
            return false
        }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return nil
        }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).split(whereSeparator: {
                $0 == " " || $0 == "\t"
            }).first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}
