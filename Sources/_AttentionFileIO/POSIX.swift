#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Thin wrappers so the file code reads the same on every libc.

func systemMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, bytes, count)
    #elseif canImport(Musl)
        return Musl.write(fd, bytes, count)
    #else
        return Darwin.write(fd, bytes, count)
    #endif
}

func systemRead(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.read(fd, bytes, count)
    #elseif canImport(Musl)
        return Musl.read(fd, bytes, count)
    #else
        return Darwin.read(fd, bytes, count)
    #endif
}

/// `stat` of `path` without following a final symlink, or the `errno` of the failure.
func linkStatus(_ path: String) -> Result<stat, FileIOErrno> {
    var status = stat()
    return lstat(path, &status) == 0 ? .success(status) : .failure(FileIOErrno(errno))
}

/// `stat` of `path`, following symlinks, or the `errno` of the failure.
func fileStatus(_ path: String) -> Result<stat, FileIOErrno> {
    var status = stat()
    return stat(path, &status) == 0 ? .success(status) : .failure(FileIOErrno(errno))
}

struct FileIOErrno: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}

extension stat {
    var fileType: mode_t { st_mode & S_IFMT }
    var isRegular: Bool { fileType == S_IFREG }
    var isDirectory: Bool { fileType == S_IFDIR }
    var isSymlink: Bool { fileType == S_IFLNK }

    /// "a FIFO", "a character device", … for messages about non-regular files.
    var kindDescription: String {
        switch fileType {
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }
}
