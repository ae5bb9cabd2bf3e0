import _AttentionFileIO

/// Safetensors' access to the package's one file reader/writer (`_AttentionFileIO.FileIO`),
/// with its errors as ``AttentionError``s naming the file.
enum SafetensorsPOSIX {
    private static func failure(_ error: FileIOError) -> AttentionError {
        AttentionError(
            .invalidFile, argument: error.path,
            "cannot \(error.operation.rawValue): \(error.reason)"
        )
    }

    /// The bytes of the regular file at `path` (a FIFO or `/dev/stdin` is "not a regular
    /// file", never a hang or "0 bytes"; a file over ``MemoryBudget/current()`` is refused
    /// before allocating).
    static func readFile(atPath path: String) throws -> [UInt8] {
        do {
            return try FileIO.read(path: path, maxBytes: MemoryBudget.current().bytes)
        } catch {
            throw failure(error)
        }
    }

    /// Writes a file atomically: `produce` emits the contents chunk by chunk into a temporary
    /// file in the same directory, which is synced and renamed over `path` only if everything
    /// succeeded. On any error (or SIGINT/SIGTERM/SIGHUP) the temporary file is removed and
    /// `path` is left untouched. Symlinks are followed, modes kept, devices written directly.
    static func writeAtomically(
        toPath path: String,
        _ produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        do {
            try FileIO.write(toPath: path, produce)
        } catch let error as FileIOError {
            throw failure(error)
        }
    }
}
