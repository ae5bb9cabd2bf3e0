import ArgumentParser
import Attention
import Foundation

@main
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention mechanisms for transformers: run, benchmark, plot and demo.",
        subcommands: [
            DemoCommand.self, RunCommand.self, BenchCommand.self, PlotCommand.self,
            EmbedCommand.self, TrainCommand.self,
        ]
            + distributedSubcommands
    )

    /// Runs the command; any failure prints exactly one `Error: …` line on stderr (no usage
    /// block) and exits non-zero. `--help` still prints the full help.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(code.rawValue)
            }
            // Under mpirun every rank parses the same arguments and fails the same way: rank
            // 0 alone says so (a rank's own failure inside `ring` names its rank itself). The
            // others wait a moment first, since mpirun kills the job when the first rank exits
            // non-zero, which could be before rank 0 has written its line.
            if let rank = mpiRank(ProcessInfo.processInfo.environment), rank != 0 {
                usleep(500_000)
                Foundation.exit(code.rawValue)
            }
            let text =
                (error as? AttentionError).map(LibraryWording.message(for:))
                ?? message(for: error)
            let line = text.split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("Error: \(line)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}

/// This process's rank when an MPI launcher started it (Open MPI, PMIx or MPICH/Hydra set
/// one of these variables before `main`), else nil.
func mpiRank(_ environment: [String: String]) -> Int? {
    ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].lazy.compactMap { environment[$0] }
        .compactMap { Int($0) }.first
}
