import ArgumentParser
import Attention
import Foundation

/// Writes a file completely or not at all: a temporary file in the same folder, renamed
/// into place.
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temp)
            if FileManager.default.fileExists(atPath: url.path) {
                _ = try FileManager.default.replaceItemAt(url, withItemAt: temp)
            } else {
                try FileManager.default.moveItem(at: temp, to: url)
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Parses `--mask` values (the syntax of ``AttentionMask/init(parsing:)``).
enum MaskOption {
    static func parse(_ text: String) throws -> AttentionMask.Name {
        do {
            return AttentionMask.Name(text, mask: try AttentionMask(parsing: text))
        } catch let error as AttentionError {
            throw ValidationError(error.description)
        }
    }
}
