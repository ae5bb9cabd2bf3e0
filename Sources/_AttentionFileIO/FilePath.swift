#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Path arithmetic on strings (no Foundation), as the writer needs it.
enum FilePath {
    /// The directory (`"."` if none) and last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Follows symbolic links at `path` (the last component, repeatedly) to the file they
    /// name; a dangling link yields the missing target, so writing creates it.
    static func resolvingLinks(_ path: String) throws(FileIOError) -> String {
        var current = path
        for _ in 0..<40 {
            switch linkStatus(current) {
            case .failure(let failure):
                if failure.code == ENOENT { return current }
                throw FileIOError(
                    operation: .create, path: path, code: failure.code,
                    reason: failure.code == ENOTDIR ? "a file is in the way" : nil)
            case .success(let status):
                guard status.isSymlink else { return current }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlink(current, &buffer, buffer.count - 1)
                guard count >= 0 else {
                    throw FileIOError(operation: .create, path: path, code: errno)
                }
                let target = String(
                    decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                current = target.hasPrefix("/") ? target : split(current).directory + "/" + target
            }
        }
        throw FileIOError(operation: .create, path: path, code: ELOOP)
    }

    /// A hidden temporary name next to `name` that fits the 255-byte name limit:
    /// `.<up to 64 bytes of name>.<8 random characters>.tmp`.
    static func temporaryName(for name: String) -> String {
        var prefix = "", bytes = 0
        for scalar in name.unicodeScalars {
            bytes += String(scalar).utf8.count
            if bytes > 64 { break }
            prefix.unicodeScalars.append(scalar)
        }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let random = String((0..<8).map { _ in alphabet.randomElement()! })
        return ".\(prefix).\(random).tmp"
    }
}
