/// A file-system failure while reading or writing an image.
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being attempted.
    public enum Operation: String, Sendable, Hashable {
        /// Reading an existing file.
        case read
        /// Creating the temporary file next to the destination.
        case createTemporary = "create temporary file for"
        /// Writing or flushing the temporary file.
        case write
        /// Renaming the temporary file over the destination.
        case rename = "rename temporary file to"
    }

    /// The step that failed.
    public let operation: Operation
    /// The destination (or source) path the caller gave.
    public let path: String
    /// The POSIX `errno` value.
    public let code: Int32
    /// The system's description of `code`.
    public let reason: String

    /// Creates an error; `reason` defaults to the system message for `code`.
    public init(operation: Operation, path: String, code: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.reason = reason ?? FileIOError.message(for: code)
    }

    /// For example `"cannot write /tmp/x.png: No space left on device"`.
    public var description: String { "cannot \(operation.rawValue) \(path): \(reason)" }
}
