import ArgumentParser
import AttentionPlot
import Foundation

/// Writes `value` as pretty, key-sorted JSON to `path` atomically and says so (`--json`).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        try AtomicFile.write(Array(try encoder.encode(value)), to: path)
    } catch let error as FileIOError {
        throw ValidationError("--json: \(error)")
    }
    print("wrote \(path)")
}
