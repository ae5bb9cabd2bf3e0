import _AttentionSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The package's one file reader and writer (figures, safetensors, the CLI's JSON).
///
/// Writing a regular file is atomic: the bytes go to a hidden temporary file in the
/// destination's directory (`.<name prefix>.<random>.tmp`, always within the 255-byte name
/// limit), which is flushed and renamed over the destination, so readers see the old file or
/// the complete new one. A failure, or SIGINT/SIGTERM/SIGHUP while writing, removes the
/// temporary file. Further rules:
/// - A symbolic link is followed: its target is replaced (atomically, in the target's
///   directory) and the link stays a link.
/// - An existing file keeps its permission bits (a 0600 file stays 0600); a read-only file
///   is not replaced. New files get 0644 minus the umask.
/// - A non-regular file (`/dev/null`, a FIFO, a terminal) is written directly, never
///   renamed over; a FIFO without a reader is an error rather than a hang.
public enum FileIO {
    /// Writes `bytes` to `path` (see ``FileIO`` for the rules).
    /// - Throws: ``FileIOError``.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        do {
            try write(toPath: path) { emit in
                try bytes.withUnsafeBytes { try emit($0) }
            }
        } catch let error as FileIOError {
            throw error
        } catch {
            fatalError("unreachable: the byte producer does not throw")
        }
    }

    /// Writes the chunks `produce` emits to `path` (see ``FileIO`` for the rules).
    /// - Throws: ``FileIOError``, or whatever `produce` throws (the destination is then left
    ///   untouched).
    public static func write(
        toPath path: String,
        _ produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw FileIOError(
                operation: .create, path: path, code: EISDIR, reason: "expected a file name")
        }
        let target = try FilePath.resolvingLinks(path)
        var mode: mode_t? = nil
        if case .success(let status) = fileStatus(target) {
            if status.isDirectory {
                throw FileIOError(
                    operation: .write, path: path, code: EISDIR, reason: "it is a directory")
            }
            if !status.isRegular {
                return try writeDirectly(to: target, reportedAs: path, produce)
            }
            guard access(target, W_OK) == 0 else {
                throw FileIOError(operation: .write, path: path, code: errno)
            }
            mode = status.st_mode & 0o7777
        }
        try writeAtomically(to: target, reportedAs: path, mode: mode, produce)
    }

    private static func writeAtomically(
        to target: String, reportedAs path: String, mode: mode_t?,
        _ produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let directory = FilePath.split(target).directory
        let name = FilePath.split(target).name
        var temporary = ""
        var fd: Int32 = -1
        var slot: Int32 = -1
        for _ in 0..<16 {
            temporary = directory + "/" + FilePath.temporaryName(for: name)
            // Created and registered for removal on SIGINT/SIGTERM/SIGHUP as one step.
            fd = as_create_temporary(temporary, 0o644, &slot)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            let code = errno
            throw FileIOError(
                operation: .createTemporary, path: path, code: code,
                reason: code == ENOENT ? "directory \(directory) does not exist" : nil)
        }
        var committed = false
        defer {
            if fd >= 0 { close(fd) }
            if !committed { unlink(temporary) }
            as_unregister_temporary(slot)
        }
        if let mode { _ = fchmod(fd, mode) }
        try produce { chunk in try writeAll(fd, chunk, path: path) }
        guard fsync(fd) == 0 else { throw FileIOError(operation: .write, path: path, code: errno) }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw FileIOError(operation: .write, path: path, code: errno) }
        guard rename(temporary, target) == 0 else {
            throw FileIOError(operation: .rename, path: path, code: errno)
        }
        committed = true
    }

    /// Writes to a device, FIFO or socket in place (renaming over it would replace the node).
    private static func writeDirectly(
        to target: String, reportedAs path: String,
        _ produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        // O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of waiting forever.
        let fd = open(target, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw FileIOError(
                operation: .write, path: path, code: code,
                reason: code == ENXIO ? "no process is reading this FIFO" : nil)
        }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        try produce { chunk in try writeAll(fd, chunk, path: path) }
    }

    private static func writeAll(_ fd: Int32, _ chunk: UnsafeRawBufferPointer, path: String)
        throws(FileIOError)
    {
        var done = 0
        while done < chunk.count {
            let result = systemWrite(fd, chunk.baseAddress! + done, chunk.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: .write, path: path, code: errno)
            }
            done += result
        }
    }

    /// Reads the whole regular file at `path`. Anything else (a FIFO, `/dev/stdin`, a process
    /// substitution, a directory) is refused at once with "not a regular file" instead of
    /// blocking or reading as empty.
    /// A file larger than `maxBytes` is refused before anything is allocated.
    /// - Throws: ``FileIOError``.
    public static func read(path: String, maxBytes: Int = .max) throws(FileIOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(operation: .read, path: path, code: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw FileIOError(operation: .read, path: path, code: errno)
        }
        guard status.isRegular else {
            throw FileIOError(
                operation: .read, path: path, code: status.isDirectory ? EISDIR : EINVAL,
                reason: status.isDirectory
                    ? "it is a directory" : "not a regular file (\(status.kindDescription))")
        }
        guard status.st_size <= maxBytes else {
            throw FileIOError(
                operation: .read, path: path, code: EFBIG,
                reason:
                    "the file is \(status.st_size) bytes, more than the \(maxBytes) bytes that fit in memory"
            )
        }
        var result = [UInt8](repeating: 0, count: Int(status.st_size))
        var done = 0
        while true {
            if done == result.count {  // the file grew while reading
                result.append(contentsOf: [UInt8](repeating: 0, count: Swift.max(4096, done)))
            }
            let count = result.withUnsafeMutableBytes {
                systemRead(fd, $0.baseAddress! + done, $0.count - done)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: .read, path: path, code: errno)
            }
            if count == 0 { break }
            done += count
        }
        result.removeLast(result.count - done)
        return result
    }

    /// Checks, before any long work, that `path` can be written: its directory exists and is
    /// writable, and no directory (or file posing as a directory) is in the way.
    /// - Throws: ``FileIOError`` with operation `.create`.
    public static func checkWritable(_ path: String) throws(FileIOError) {
        func failure(_ code: Int32, _ reason: String? = nil) -> FileIOError {
            FileIOError(operation: .create, path: path, code: code, reason: reason)
        }
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw failure(EISDIR, "expected a file name, got a directory path")
        }
        let target = try FilePath.resolvingLinks(path)
        switch fileStatus(target) {
        case .success(let status):
            if status.isDirectory { throw failure(EISDIR, "it is a directory") }
            guard access(target, W_OK) == 0 else { throw failure(errno) }
            if !status.isRegular { return }
        case .failure(let error) where error.code != ENOENT:
            throw failure(error.code, error.code == ENOTDIR ? "a file is in the way" : nil)
        case .failure:
            break
        }
        let directory = FilePath.split(target).directory
        switch fileStatus(directory) {
        case .success(let status) where status.isDirectory:
            guard access(directory, W_OK | X_OK) == 0 else {
                throw failure(errno, "cannot write in \(directory): \(systemMessage(errno))")
            }
            // access() answers yes for root everywhere, also in /proc, /sys and on read-only
            // mounts; creating (and at once removing) the write's temporary file is the test
            // that holds, so the failure comes before any work rather than after it.
            try probeCreate(in: directory, name: FilePath.split(target).name, failure)
        case .success:
            throw failure(ENOTDIR, "a file is in the way (\(directory) is not a directory)")
        case .failure(let error) where error.code == ENOTDIR:
            throw failure(ENOTDIR, "a file is in the way")
        case .failure(let error) where error.code == ENOENT:
            throw failure(ENOENT, "directory \(directory) does not exist")
        case .failure(let error):
            throw failure(error.code)
        }
    }

    /// Creates and removes one temporary file as `writeAtomically` would, in `directory`.
    private static func probeCreate(
        in directory: String, name: String, _ failure: (Int32, String?) -> FileIOError
    ) throws(FileIOError) {
        var slot: Int32 = -1
        let probe = directory + "/" + FilePath.temporaryName(for: name)
        let fd = as_create_temporary(probe, 0o600, &slot)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { return }  // a name collision says nothing about the directory
            throw failure(code, "cannot create files in \(directory): \(systemMessage(code))")
        }
        close(fd)
        unlink(probe)
        as_unregister_temporary(slot)
    }

    /// Creates the folder `path` and any missing parents (like `mkdir -p`) and checks it is
    /// writable.
    /// - Throws: ``FileIOError`` with operation `.create`, e.g. "cannot create out/figs: a file
    ///   is in the way (out is not a directory)".
    public static func makeDirectory(_ path: String) throws(FileIOError) {
        func failure(_ code: Int32, _ reason: String? = nil) -> FileIOError {
            FileIOError(operation: .create, path: path, code: code, reason: reason)
        }
        guard !path.isEmpty else { throw failure(ENOENT, "empty folder name") }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, 0o777) == 0 { continue }
            let code = errno
            if case .success(let status) = fileStatus(prefix) {
                guard status.isDirectory else {
                    throw failure(ENOTDIR, "a file is in the way (\(prefix) is not a directory)")
                }
                continue
            }
            throw failure(code)
        }
        guard access(path, W_OK | X_OK) == 0 else { throw failure(errno) }
    }
}
