import ArgumentParser
import Attention
import AttentionPlot
import Foundation
import Testing

@testable import AttentionCLI

/// Parsing and validation of `attention plot …`, without running the work.
@Suite("attention plot parsing")
struct PlotCommandTests {
    /// Parses `arguments` after `attention plot` and casts to the expected subcommand.
    func parse<T: ParsableCommand>(_ arguments: [String], as type: T.Type = T.self) throws -> T {
        let command = try PlotCommand.parseAsRoot(arguments)
        return try #require(command as? T, "parsed \(Swift.type(of: command))")
    }

    /// The message a bad command line prints (validation runs during parsing).
    func failure(_ arguments: [String]) -> String? {
        do {
            _ = try PlotCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return PlotCommand.message(for: error)
        }
    }

    @Test("plot is a subcommand of attention")
    func registered() throws {
        let command = try AttentionCommand.parseAsRoot(["plot", "encodings"])
        #expect(command is PlotCommand.Encodings)
    }

    @Test("masks: defaults, repeated --mask, --size, shared options")
    func masks() throws {
        let plain = try parse(["masks"], as: PlotCommand.Masks.self)
        #expect(plain.size == 64 && plain.masks.isEmpty && plain.options.seed == 0)
        #expect(plain.options.outputPath(default: "attention_masks.png") == "attention_masks.png")
        #expect(try plain.parsedMasks().isEmpty)

        let custom = try parse(
            [
                "masks", "--mask", "causal", "--mask", "bigbird:window=8,global=1,random=2",
                "--size", "32",
                "--seed", "9", "--output", NSTemporaryDirectory() + "m.png",
            ],
            as: PlotCommand.Masks.self)
        #expect(custom.size == 32 && custom.options.seed == 9)
        let parsed = try custom.parsedMasks()
        #expect(parsed.map(\.title) == ["causal", "bigbird:window=8,global=1,random=2"])
        #expect(parsed[1].mask.description == "bigbird:window=8,global=1,random=2,seed=0")
        #expect(custom.options.outputPath(default: "x.png") == NSTemporaryDirectory() + "m.png")
    }

    @Test("--colormap: the seed's maps by default, any built-in by name, bad names name the flag")
    func colormaps() throws {
        #expect(try parse(["masks"], as: PlotCommand.Masks.self).colormap == .blues)
        #expect(try parse(["encodings"], as: PlotCommand.Encodings.self).colormap == .rdBu)
        #expect(try parse(["heads"], as: PlotCommand.Heads.self).colormap == .blues)
        let viridis = try parse(
            ["encodings", "--colormap", "viridis"], as: PlotCommand.Encodings.self)
        #expect(viridis.colormap == .viridis)
        let reversed = try parse(["heads", "--colormap", "blues_r"], as: PlotCommand.Heads.self)
        #expect(reversed.colormap == Colormap.blues.reversed())
        for subcommand in ["masks", "encodings", "heads"] {
            let message = failure([subcommand, "--colormap", "jet"])
            #expect(message?.contains("--colormap") == true, "\(subcommand): \(message ?? "nil")")
        }
    }

    @Test("masks: bad values name the flag")
    func badMasks() {
        #expect(failure(["masks", "--size", "0"])?.contains("--size") == true)
        #expect(failure(["masks", "--size", "100000"])?.contains("--size") == true)
        #expect(failure(["masks", "--mask", "diagonal"])?.contains("--mask 'diagonal'") == true)
        // Valid syntax, but the blocks do not cover 64 positions.
        #expect(failure(["masks", "--mask", "blocks:3,4"])?.contains("--mask") == true)
        #expect(failure(["masks", "--mask", "blocks:32,32"]) == nil)
        #expect(failure(["masks", "--seed", "-1"]) != nil)
    }

    @Test("--output must be a file in an existing directory")
    func badOutput() {
        #expect(
            failure(["encodings", "--output", "/no/such/dir/x.png"])?.contains("--output") == true)
        #expect(
            failure(["encodings", "--output", NSTemporaryDirectory()])?.contains("--output") == true
        )
        #expect(failure(["encodings", "--output", ""])?.contains("--output") == true)
    }

    @Test("encodings: options and validation")
    func encodings() throws {
        let command = try parse(
            ["encodings", "--positions", "50", "--dimensions", "32", "--heads", "4"],
            as: PlotCommand.Encodings.self)
        #expect(command.positions == 50 && command.dimensions == 32 && command.heads == 4)
        let defaults = try parse(["encodings"], as: PlotCommand.Encodings.self)
        #expect(defaults.positions == 100 && defaults.dimensions == 64 && defaults.heads == 8)
        #expect(failure(["encodings", "--positions", "0"])?.contains("--positions") == true)
        #expect(failure(["encodings", "--dimensions", "-3"])?.contains("--dimensions") == true)
        #expect(failure(["encodings", "--heads", "0"])?.contains("--heads") == true)
        #expect(failure(["encodings", "--heads", "many"]) != nil)
    }

    @Test("heads: --text splits on spaces, --tokens on commas, the default is the cat sentence")
    func heads() throws {
        let defaults = try parse(["heads"], as: PlotCommand.Heads.self)
        #expect(
            try defaults.parsedTokens() == [
                "The", "cat", "sat", "on", "the", "mat", "and", "then", "left", ".",
            ])
        #expect(defaults.heads == 8 && defaults.dModel == 64)

        let text = try parse(["heads", "--text", "a b  c"], as: PlotCommand.Heads.self)
        #expect(try text.parsedTokens() == ["a", "b", "c"])
        let tokens = try parse(
            ["heads", "--tokens", "x,y, z", "--heads", "2", "--d-model", "8"],
            as: PlotCommand.Heads.self)
        #expect(try tokens.parsedTokens() == ["x", "y", "z"])
        #expect(tokens.heads == 2 && tokens.dModel == 8)
    }

    @Test("heads: bad values name the flag")
    func badHeads() {
        #expect(failure(["heads", "--heads", "3"])?.contains("--d-model") == true)
        #expect(failure(["heads", "--heads", "0"])?.contains("--heads") == true)
        #expect(failure(["heads", "--d-model", "0"])?.contains("--d-model") == true)
        #expect(failure(["heads", "--text", "a", "--tokens", "b"])?.contains("--tokens") == true)
        #expect(failure(["heads", "--tokens", "a,,b"])?.contains("--tokens") == true)
        #expect(failure(["heads", "--text", "   "])?.contains("--text") == true)
        let long = Array(repeating: "w", count: PlotCommand.Heads.maxTokens + 1).joined(
            separator: " ")
        #expect(failure(["heads", "--text", long])?.contains("--text") == true)
    }

    @Test("complexity: lengths are parsed, sorted and de-duplicated; bad values name the flag")
    func complexity() throws {
        let command = try parse(
            ["complexity", "--seq-lens", "1024, 256,512,256", "--window", "64", "--repeats", "1"],
            as: PlotCommand.Complexity.self)
        #expect(try command.parsedSeqLens() == [256, 512, 1024])
        #expect(command.window == 64 && command.repeats == 1)
        let defaults = try parse(["complexity"], as: PlotCommand.Complexity.self)
        #expect(try defaults.parsedSeqLens() == [256, 512, 1024, 2048, 4096])
        #expect(defaults.window == 256 && defaults.repeats == 3)

        #expect(failure(["complexity", "--seq-lens", "256,abc"])?.contains("--seq-lens") == true)
        #expect(failure(["complexity", "--seq-lens", "0"])?.contains("--seq-lens") == true)
        #expect(failure(["complexity", "--seq-lens", ""])?.contains("--seq-lens") == true)
        #expect(failure(["complexity", "--window", "0"])?.contains("--window") == true)
        #expect(failure(["complexity", "--repeats", "0"])?.contains("--repeats") == true)
    }

    @Test("unknown subcommands and flags are rejected")
    func unknown() {
        #expect(failure(["surface"]) != nil)
        #expect(failure(["masks", "--colour", "red"]) != nil)
    }
}
