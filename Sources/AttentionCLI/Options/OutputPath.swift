import ArgumentParser
import _AttentionFileIO

/// Checks output paths before any work, so minutes of computing never end in "cannot write".
enum OutputPath {
    /// Throws "--json: cannot create x/y.json: directory x does not exist" and the like.
    static func check(_ path: String, flag: String) throws {
        // `-` means standard output to most tools; these outputs are binary files written
        // atomically, so refuse it rather than create a file named `-`.
        guard path != "-" else {
            throw ValidationError(
                "\(flag): '-' (standard output) is not supported; give a file name (./- for a file named '-')"
            )
        }
        do { try FileIO.checkWritable(path) } catch { throw ValidationError("\(flag): \(error)") }
    }

    /// Creates a folder (and parents) for outputs; "--output-dir: cannot create a/b: a file is
    /// in the way (a is not a directory)".
    static func makeDirectory(_ path: String, flag: String) throws {
        do { try FileIO.makeDirectory(path) } catch { throw ValidationError("\(flag): \(error)") }
    }
}
