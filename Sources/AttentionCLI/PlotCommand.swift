import ArgumentParser
import Attention
import AttentionPlot
import Foundation

/// `attention plot`: writes the package's figures as PNG files (see ``Figures``).
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw figures: mask patterns, position encodings, attention heads, complexity.",
        subcommands: [Masks.self, Encodings.self, Heads.self, Complexity.self])
}

/// Options every `attention plot` subcommand takes.
struct PlotOptions: ParsableArguments {
    @Option(help: "PNG file to write (default: the figure's name in the current directory).")
    var output: String?
    @Option(help: "Seed for everything random in the figure.") var seed: UInt64 = 0

    /// `--output`, or `fileName` in the current directory.
    func outputPath(default fileName: String) -> String { output ?? fileName }

    /// Checks that `--output` names a file in an existing directory, so a long computation
    /// does not end in an unwritable path.
    func validate() throws {
        guard let output else { return }
        guard !output.isEmpty, !output.hasSuffix("/") else {
            throw ValidationError("--output expects a file path, got '\(output)'")
        }
        let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw ValidationError("--output: directory '\(directory)' does not exist")
        }
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory),
            isDirectory.boolValue
        {
            throw ValidationError("--output: '\(output)' is a directory")
        }
    }

    /// Writes `figure` atomically (never a partial file) and prints the path and size.
    func write(_ figure: Figure, default fileName: String) throws {
        let path = outputPath(default: fileName)
        try figure.write(to: path)
        print("wrote \(path) (\(figure.pixelWidth)×\(figure.pixelHeight))")
    }
}

extension PlotCommand {
    /// `attention plot masks`: sparse-attention mask patterns.
    struct Masks: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mask patterns as 0/1 heatmaps (default: local, strided, causal, BigBird).",
            discussion: "MASK syntax: \(AttentionMask.syntax)")

        @OptionGroup var options: PlotOptions
        @Option(name: .customLong("mask"), help: "A mask to draw (repeatable).")
        var masks: [String] = []
        @Option(help: "Sequence length (the matrices are size × size).") var size = 64
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .blues

        static let maxSize = 4096

        func validate() throws {
            guard size >= 1 && size <= Self.maxSize else {
                throw ValidationError("--size expects 1…\(Self.maxSize), got \(size)")
            }
            _ = try parsedMasks()
        }

        /// The `--mask` values, parsed and checked against `--size`.
        func parsedMasks() throws -> [(title: String, mask: AttentionMask)] {
            try masks.map { text in
                let mask: AttentionMask
                do {
                    mask = try AttentionMask(parsing: text)
                    try mask.validate(batch: 1, heads: 1, queries: size, keys: size)
                } catch let error as AttentionError {
                    throw ValidationError("--mask '\(text)': \(error.message)")
                }
                return (text, mask)
            }
        }

        func run() throws {
            let list = try parsedMasks()
            let figure =
                list.isEmpty
                ? try Figures.maskPatterns(size: size, seed: options.seed, colormap: colormap)
                : try Figures.masks(list, size: size, colormap: colormap)
            try options.write(figure, default: "attention_masks.png")
        }
    }

    /// `attention plot encodings`: sinusoidal encoding and ALiBi biases.
    struct Encodings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sinusoidal position encoding and ALiBi biases (head 0 and the mean).")

        @OptionGroup var options: PlotOptions
        @Option(help: "Positions shown.") var positions = 100
        @Option(help: "Model dimension of the sinusoidal encoding.") var dimensions = 64
        @Option(help: "ALiBi heads.") var heads = 8
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .rdBu

        func validate() throws {
            guard positions >= 1 && positions <= 4096 else {
                throw ValidationError("--positions expects 1…4096, got \(positions)")
            }
            guard dimensions >= 1 && dimensions <= 4096 else {
                throw ValidationError("--dimensions expects 1…4096, got \(dimensions)")
            }
            guard heads >= 1 && heads <= 1024 else {
                throw ValidationError("--heads expects 1…1024, got \(heads)")
            }
        }

        func run() throws {
            let figure = try Figures.positionEncodings(
                positions: positions, dimensions: dimensions, heads: heads, colormap: colormap)
            try options.write(figure, default: "position_encodings.png")
        }
    }

    /// `attention plot heads`: per-head attention weights over a sentence.
    struct Heads: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-head attention weights of a randomly initialised layer over a sentence.")

        static let defaultText = "The cat sat on the mat and then left ."
        static let maxTokens = 128

        @OptionGroup var options: PlotOptions
        @Option(help: "Sentence, split on spaces (default: \"\(defaultText)\").") var text: String?
        @Option(help: "Comma-separated tokens (instead of --text).") var tokens: String?
        @Option(help: "Attention heads (one panel each).") var heads = 8
        @Option(help: "Model width; a multiple of --heads.") var dModel = 64
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .blues

        func validate() throws {
            guard heads >= 1 && heads <= 64 else {
                throw ValidationError("--heads expects 1…64, got \(heads)")
            }
            guard dModel >= 1 && dModel <= 4096 && dModel % heads == 0 else {
                throw ValidationError(
                    "--d-model expects a multiple of --heads (\(heads)) up to 4096, got \(dModel)")
            }
            _ = try parsedTokens()
        }

        /// The tokens from `--tokens` or `--text` (or the default sentence).
        func parsedTokens() throws -> [String] {
            let list: [String]
            let flag: String
            switch (text, tokens) {
            case (.some, .some):
                throw ValidationError("--text and --tokens cannot be used together")
            case (_, .some(let tokens)):
                flag = "--tokens"
                list = tokens.split(separator: ",", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                guard list.allSatisfy({ !$0.isEmpty }) else {
                    throw ValidationError(
                        "--tokens expects non-empty tokens separated by commas, got '\(tokens)'")
                }
            case (let text, nil):
                flag = "--text"
                list = (text ?? Self.defaultText).split(separator: " ").map(String.init)
            }
            guard !list.isEmpty && list.count <= Self.maxTokens else {
                throw ValidationError(
                    "\(flag) expects 1…\(Self.maxTokens) tokens, got \(list.count)")
            }
            return list
        }

        func run() throws {
            let figure = try Figures.attentionHeads(
                tokens: try parsedTokens(), dModel: dModel, heads: heads, seed: options.seed,
                colormap: colormap)
            try options.write(figure, default: "attention_heads.png")
        }
    }

    /// `attention plot complexity`: measured time and memory against sequence length.
    struct Complexity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Measure standard, fused and sliding-window attention and plot time and memory vs length.",
            discussion: """
                Runs B = 1, H = 8, D = 64 at each length; standard (reference) attention stops \
                at 4096. Memory is each run's peak minus the resident memory just before it.
                """)

        @OptionGroup var options: PlotOptions
        @Option(help: "Comma-separated sequence lengths.") var seqLens = "256,512,1024,2048,4096"
        @Option(help: "Keys per query of the sliding-window run.") var window = 256
        @Option(help: "Timed repetitions per point (median reported).") var repeats = 3

        func validate() throws {
            _ = try parsedSeqLens()
            guard window >= 1 else { throw ValidationError("--window must be ≥ 1, got \(window)") }
            guard repeats >= 1 else {
                throw ValidationError("--repeats must be ≥ 1, got \(repeats)")
            }
        }

        /// `--seq-lens` as distinct, increasing lengths.
        func parsedSeqLens() throws -> [Int] {
            let values = seqLens.split(separator: ",", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 1 << 20 })
            else {
                throw ValidationError(
                    "--seq-lens expects integers in 1…\(1 << 20) separated by commas, got '\(seqLens)'"
                )
            }
            return Array(Set(values.map { $0! })).sorted()
        }

        func run() throws {
            let points = try ComplexityMeasurement.run(
                seqLens: try parsedSeqLens(), window: window, repeats: repeats, progress: progress)
            progress("")
            try options.write(Figures.complexity(points), default: "complexity.png")
        }
    }
}
