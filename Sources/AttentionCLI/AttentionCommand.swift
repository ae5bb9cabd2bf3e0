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
            let text =
                (error as? AttentionError).map(LibraryWording.message(for:))
                ?? message(for: error)
            let line = text.split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("Error: \(line)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
