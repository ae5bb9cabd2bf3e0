import ArgumentParser
import Attention

@main
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention mechanisms for transformers: run, benchmark, plot and demo.",
        subcommands: [DemoCommand.self, RunCommand.self, BenchCommand.self, PlotCommand.self]
    )
}
