import _AttentionFileIO

/// Whole-file reads and crash-safe whole-file writes (figures, and the CLI's JSON output).
///
/// The package has one file writer (also behind `SafetensorsFile.write`); its rules: regular
/// files are replaced atomically through a hidden temporary file that an error or
/// SIGINT/SIGTERM/SIGHUP removes; symbolic links are followed; an existing file keeps its
/// mode; devices and FIFOs (`/dev/null`) are written directly, never replaced.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically: readers see either the old file or the complete
    /// new one, and a failure leaves no partial or temporary file behind.
    /// - Throws: ``FileIOError``.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        try FileIO.write(bytes, to: path)
    }

    /// Reads the whole regular file at `path` (a FIFO or `/dev/stdin` is refused as "not a
    /// regular file").
    /// - Throws: ``FileIOError``.
    public static func read(path: String) throws(FileIOError) -> [UInt8] {
        try FileIO.read(path: path)
    }
}
