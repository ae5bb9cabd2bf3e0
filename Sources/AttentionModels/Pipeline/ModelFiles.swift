import Attention
import Foundation

/// Reading a Hugging Face model folder's small files, with errors that name the file.
enum ModelFiles {
    /// The UTF-8 text of `path`.
    static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttentionError(.invalidFile, argument: path, "cannot be read (missing?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AttentionError(.invalidFile, argument: path, "is not UTF-8 text")
        }
        return text
    }

    /// The JSON value in `path` (an object, a list, …).
    static func readJSON(_ path: String) throws -> Any {
        let text = try readText(path)
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw AttentionError(.invalidFile, argument: path, "is not valid JSON")
        }
    }

    /// The JSON object in `path`; `nil` when `optional` and the file does not exist.
    static func readJSONObject(_ path: String, optional: Bool = false) throws -> [String: Any]? {
        if optional && !FileManager.default.fileExists(atPath: path) { return nil }
        let object = try readJSON(path)
        guard let dictionary = object as? [String: Any] else {
            throw AttentionError(.invalidFile, argument: path, "expected a JSON object")
        }
        return dictionary
    }

    /// A sequence-length limit (`model_max_length`, `max_seq_length`) read from `path`:
    /// `nil` when absent or `null`, or when it is the huge "no limit" sentinel (above 2⁴⁰,
    /// such as `1e30`); otherwise an integer ≥ 2 (room for `[CLS]` and `[SEP]`).
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming `path` and `key`.
    static func lengthLimit(_ value: Any?, key: String, path: String) throws -> Int? {
        guard let value, !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !(value is String) else {
            throw AttentionError(
                .invalidFile, argument: path, "\"\(key)\" must be an integer, got \(value)")
        }
        let double = number.doubleValue
        if double > Double(1 << 40) { return nil }
        guard double >= 2, double == double.rounded() else {
            throw AttentionError(
                .invalidFile, argument: path,
                "\"\(key)\" must be an integer ≥ 2 (room for [CLS] and [SEP]), got \(value)")
        }
        return Int(double)
    }
}
