/// A file-system failure while reading or writing a file, in words a user can act on.
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being attempted.
    public enum Operation: String, Sendable, Hashable {
        /// Reading an existing file.
        case read
        /// Creating the temporary file next to the destination.
        case createTemporary = "create temporary file for"
        /// Writing or flushing the temporary file (or a device written directly).
        case write
        /// Renaming the temporary file over the destination.
        case rename = "rename temporary file to"
        /// Creating an output file or folder (checked before any work starts).
        case create
    }

    /// The step that failed.
    public let operation: Operation
    /// The destination (or source) path the caller gave.
    public let path: String
    /// The POSIX `errno` value.
    public let code: Int32
    /// Why, in words: the system's description of `code` unless a clearer one was given.
    public let reason: String

    /// Creates an error; `reason` defaults to the system message for `code`.
    public init(operation: Operation, path: String, code: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.reason = reason ?? systemMessage(code)
    }

    /// For example `"cannot write /tmp/x.png: No space left on device"`.
    public var description: String { "cannot \(operation.rawValue) \(path): \(reason)" }
}
