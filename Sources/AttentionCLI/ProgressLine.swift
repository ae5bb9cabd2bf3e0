import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Progress messages on stderr that never spoil piped output.
///
/// On a terminal each message replaces the previous one in place (`\r` and the "erase to end
/// of line" escape `ESC [ K`), and an empty message clears the line. Anywhere else (a pipe,
/// a file, CI logs) each non-empty message is one plain line ending in `\n`, with no control
/// characters, and an empty message writes nothing. Standard output is flushed before every
/// message, so when both streams go to the same file a progress line never lands inside a
/// line of stdout text.
struct ProgressLine: Sendable {
    /// Whether messages are redrawn in place (stderr is a terminal).
    let isTerminal: Bool
    /// Receives the bytes to write.
    let sink: @Sendable (String) -> Void

    /// The process's stderr; whether it is a terminal is decided once, at first use.
    static let standardError = ProgressLine(
        isTerminal: isatty(STDERR_FILENO) == 1,
        sink: { text in
            fflush(nil)  // every C stream, stdout included (Swift's `print` buffers there)
            FileHandle.standardError.write(Data(text.utf8))
        })

    /// Shows `text` (or, on a terminal, clears the line when `text` is empty).
    func callAsFunction(_ text: String) {
        if isTerminal {
            sink("\r\u{1B}[K" + text)
        } else if !text.isEmpty {
            sink(text + "\n")
        }
    }
}

/// Shows a progress message on stderr (see ``ProgressLine``); `progress("")` ends a run of
/// messages before ordinary output.
func progress(_ text: String) {
    ProgressLine.standardError(text)
}
