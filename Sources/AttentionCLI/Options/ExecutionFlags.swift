import ArgumentParser
import Attention

/// Options every computing command takes (`bench`, `run`, `demo`): how the work is executed.
struct ExecutionFlags: ParsableArguments {
    static let threadRange = 1...1024

    // `.unconditional`: `--threads -1` is a value (and gets a range error), not a flag.
    @Option(
        parsing: .unconditional,
        help: "Threads, \(threadRange.lowerBound)…\(threadRange.upperBound) (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads { try CLIRange.check(threads, in: Self.threadRange, flag: "--threads") }
    }

    /// The library's per-call settings these flags ask for (the machine's defaults otherwise).
    var options: ExecutionOptions { ExecutionOptions(threads: threads) }
}
