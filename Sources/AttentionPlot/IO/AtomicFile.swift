#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads and crash-safe whole-file writes (figures, and the CLI's JSON output).
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically: the data goes to a new temporary file in the same
    /// directory, is flushed to disk, and is then renamed over `path`. Readers see either the
    /// old file or the complete new one, and a failure removes the temporary file, so no
    /// partial file is ever left behind.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let (directory, name) = split(path)
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FileIOError(operation: .createTemporary, path: path, code: errno)
        }
        let temporary = String(
            decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) },
            as: UTF8.self)
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { raw in
                    systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw FileIOError(operation: .write, path: path, code: errno)
                }
                written += result
            }
            // mkstemp creates the file readable by its owner only; use the usual mode.
            _ = fchmod(fd, 0o644)
            guard fsync(fd) == 0 else {
                throw FileIOError(operation: .write, path: path, code: errno)
            }
        }
        guard rename(temporary, path) == 0 else {
            throw FileIOError(operation: .rename, path: path, code: errno)
        }
        succeeded = true
    }

    /// Reads the whole file at `path`.
    public static func read(path: String) throws(FileIOError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileIOError(operation: .read, path: path, code: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: .read, path: path, code: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// The directory (`"."` if none) and last component of `path`.
    private static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}

private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, bytes, count)
    #elseif canImport(Musl)
        return Musl.write(fd, bytes, count)
    #else
        return Darwin.write(fd, bytes, count)
    #endif
}

private func systemRead(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.read(fd, bytes, count)
    #elseif canImport(Musl)
        return Musl.read(fd, bytes, count)
    #else
        return Darwin.read(fd, bytes, count)
    #endif
}

extension FileIOError {
    static func message(for code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
