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

    /// The JSON object in `path`; `nil` when `optional` and the file does not exist.
    static func readJSONObject(_ path: String, optional: Bool = false) throws -> [String: Any]? {
        if optional && !FileManager.default.fileExists(atPath: path) { return nil }
        let text = try readText(path)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw AttentionError(.invalidFile, argument: path, "is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw AttentionError(.invalidFile, argument: path, "expected a JSON object")
        }
        return dictionary
    }
}
