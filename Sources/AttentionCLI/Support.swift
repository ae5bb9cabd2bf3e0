import ArgumentParser
import Attention
import Foundation

/// Writes a file completely or not at all: a temporary file in the same folder, renamed
/// into place.
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temp)
            if FileManager.default.fileExists(atPath: url.path) { _ = try FileManager.default.replaceItemAt(url, withItemAt: temp) }
            else { try FileManager.default.moveItem(at: temp, to: url) }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Parses `--mask` values.
enum MaskOption {
    static func parse(_ text: String) throws -> AttentionMask.Name {
        switch text {
        case "none": return .none
        case "causal": return .causal
        case "causal-bottom-right": return "causal-bottom-right"
        default:
            if text.hasPrefix("window:") {
                let parts = text.dropFirst(7).split(separator: ",").compactMap { Int($0) }
                if parts.count == 2, parts.allSatisfy({ $0 >= 0 }) {
                    return AttentionMask.Name(text, mask: .slidingWindow(left: parts[0], right: parts[1]))
                }
            }
            throw ValidationError("--mask expects none, causal, causal-bottom-right or window:L,R, got '\(text)'")
        }
    }
}
