import _AttentionFileIO

/// A file-system failure while reading or writing an image: the operation, the path, the
/// POSIX `errno` and a reason in words (`"cannot write /tmp/x.png: No space left on device"`).
public typealias FileIOError = _AttentionFileIO.FileIOError
