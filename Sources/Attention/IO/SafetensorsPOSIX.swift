#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads and atomic whole-file writes with plain POSIX calls.
enum SafetensorsPOSIX {
    private static func failure(_ path: String, _ message: String, errno code: Int32)
        -> AttentionError
    {
        AttentionError(
            .invalidFile, argument: path, "\(message): \(String(cString: strerror(code)))")
    }

    /// The bytes of the file at `path`. The buffer is sized by the file's actual size.
    static func readFile(atPath path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, "cannot open for reading", errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure(path, "cannot stat", errno: errno) }
        let size = Int(status.st_size)
        guard size > 0 else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let result = read(fd, buffer.baseAddress! + done, size - done)
                if result < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    initialized = done
                    throw failure(path, "cannot read", errno: code)
                }
                if result == 0 { break }  // the file shrank while reading
                done += result
            }
            initialized = done
        }
    }

    /// Writes a file atomically: `produce` emits the contents chunk by chunk into a temporary
    /// file in the same directory, which is synced and renamed over `path` only if everything
    /// succeeded. On any error the temporary file is removed and `path` is left untouched.
    static func writeAtomically(
        toPath path: String,
        _ produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else {
            throw AttentionError(.invalidArgument, argument: path, "path names a directory")
        }
        var temporaryPath = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            temporaryPath = "\(directory).\(base).tmp-\(suffix)"
            fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw failure(path, "cannot create temporary file \(temporaryPath)", errno: errno)
        }
        var committed = false
        defer {
            if !committed {
                if fd >= 0 { close(fd) }
                unlink(temporaryPath)
            }
        }
        try produce { chunk in
            var done = 0
            while done < chunk.count {
                let result = write(fd, chunk.baseAddress! + done, chunk.count - done)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw failure(path, "cannot write \(temporaryPath)", errno: errno)
                }
                done += result
            }
        }
        guard fsync(fd) == 0 else {
            throw failure(path, "cannot sync \(temporaryPath)", errno: errno)
        }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else {
            throw failure(path, "cannot close \(temporaryPath)", errno: errno)
        }
        guard rename(temporaryPath, path) == 0 else {
            throw failure(path, "cannot rename \(temporaryPath) to \(path)", errno: errno)
        }
        committed = true
    }
}
