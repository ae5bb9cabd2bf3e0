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
    @Option(parsing: .unconditional, help: "Seed for everything random in the figure.")
    var seed: UInt64 = 0

    /// `--output`, or `fileName` in the current directory.
    func outputPath(default fileName: String) -> String { output ?? fileName }

    /// Checks that `--output` names a file in an existing directory, so a long computation
    /// does not end in an unwritable path.
    func validate() throws {
        guard let output else { return }
        try OutputPath.check(output, flag: "--output")
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
        @Option(
            name: .customLong("mask"),
            help: "A mask to draw (repeatable, at most \(Self.maxMasks)).")
        var masks: [String] = []
        @Option(
            parsing: .unconditional,
            help: "Sequence length, 1…\(Self.maxSize) (the matrices are size × size).")
        var size = 64
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .blues

        static let maxSize = 4096
        static let maxMasks = 16
        /// Matrix entries evaluated in all (masks × size²): 4 masks at 4096, 16 at 2048 —
        /// seconds in a release build.
        static let maxEntries = 1 << 26

        func validate() throws {
            try CLIRange.check(size, in: 1...Self.maxSize, flag: "--size")
            guard masks.count <= Self.maxMasks else {
                throw ValidationError(
                    "--mask can be given at most \(Self.maxMasks) times, got \(masks.count)")
            }
            let panels = Swift.max(masks.count, 4)
            guard panels * size * size <= Self.maxEntries else {
                throw ValidationError(
                    "\(panels) masks at --size \(size) is \(panels * size * size) entries, more than \(Self.maxEntries); use a smaller --size or fewer --mask (e.g. 16 at 2048, 4 at 4096)"
                )
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
        @Option(parsing: .unconditional, help: "Positions shown, 1…4096.") var positions = 100
        @Option(
            parsing: .unconditional, help: "Model dimension of the sinusoidal encoding, 1…4096.")
        var dimensions = 64
        @Option(parsing: .unconditional, help: "ALiBi heads, 1…1024.") var heads = 8
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .rdBu

        func validate() throws {
            try CLIRange.check(positions, in: 1...4096, flag: "--positions")
            try CLIRange.check(dimensions, in: 1...4096, flag: "--dimensions")
            try CLIRange.check(heads, in: 1...1024, flag: "--heads")
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
            abstract:
                "Per-head attention weights over a sentence: a random layer, or a trained model's (--model).",
            discussion: """
                With --model DIR (a BERT sentence-transformers folder such as all-MiniLM-L6-v2 \
                from scripts/fetch-minilm.sh), --text is tokenized by the model's WordPiece \
                tokenizer and the panels show layer --layer's heads over its tokens, [CLS] and \
                [SEP] included.
                """)

        static let defaultText = "The cat sat on the mat and then left ."
        static let maxTokens = 128

        @OptionGroup var options: PlotOptions
        @Option(help: "Sentence, split on spaces (default: \"\(defaultText)\").") var text: String?
        @Option(help: "Comma-separated tokens (instead of --text).") var tokens: String?
        @Option(
            name: .customLong("heads"), parsing: .unconditional,
            help: "Attention heads (one panel each), 1…64 (default 8).")
        var headsFlag: Int?
        @Option(
            name: .customLong("d-model"), parsing: .unconditional,
            help: "Model width; a multiple of --heads up to 4096 (default 64).")
        var dModelFlag: Int?
        /// The random layer's heads (`--heads`, default 8).
        var heads: Int { headsFlag ?? 8 }
        /// The random layer's width (`--d-model`, default 64).
        var dModel: Int { dModelFlag ?? 64 }
        @Option(help: "A trained model's folder: draw its heads instead of a random layer's.")
        var model: String?
        @Option(
            parsing: .unconditional, help: "With --model: the layer to draw, from 0 (default 0).")
        var layer: Int?
        @Option(help: "Colormap: Blues, RdBu or viridis; add _r to reverse it.") var colormap:
            Colormap = .blues

        func validate() throws {
            if model != nil {
                for (flag, given) in [
                    ("--heads", headsFlag != nil), ("--d-model", dModelFlag != nil),
                    ("--tokens", tokens != nil),
                ] where given {
                    throw ValidationError(
                        "\(flag) describes the random layer; with --model the model decides (use --text)"
                    )
                }
                if let layer, layer < 0 {
                    throw ValidationError("--layer expects a layer number ≥ 0, got \(layer)")
                }
                return
            }
            if layer != nil {
                throw ValidationError("--layer needs --model (a trained model's layers)")
            }
            try CLIRange.check(heads, in: 1...64, flag: "--heads")
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
            if let model {
                let embedder = try ModelOption.load(model, flag: "--model")
                let figure = try Figures.modelHeads(
                    embedder, text: text ?? Self.defaultText, layer: layer ?? 0,
                    maxTokens: Self.maxTokens, colormap: colormap)
                try options.write(figure, default: "attention_heads.png")
                return
            }
            let figure = try Figures.attentionHeads(
                tokens: try parsedTokens(), dModel: dModel, heads: heads,
                seed: options.seed, colormap: colormap)
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
        @Option(
            help:
                "Comma-separated sequence lengths, each in 1…\(Self.maxSeqLen), at most \(Self.maxPoints)."
        )
        var seqLens = "256,512,1024,2048,4096"
        @Option(
            parsing: .unconditional,
            help: "Keys per query of the sliding-window run, 1…\(Self.maxSeqLen).")
        var window = 256
        @Option(
            parsing: .unconditional,
            help: "Timed repetitions per point, 1…\(CLIRange.repeats.upperBound) (median reported)."
        )
        var repeats = 3

        /// The longest length: the fused dense run at 65536 is about 9 TFLOP (a minute or
        /// two on two cores) per repetition.
        static let maxSeqLen = 1 << 16
        static let maxPoints = 16
        static let maxRepeats = 10

        func validate() throws {
            _ = try parsedSeqLens()
            try CLIRange.check(window, in: 1...Self.maxSeqLen, flag: "--window")
            try CLIRange.check(repeats, in: 1...Self.maxRepeats, flag: "--repeats")
        }

        /// `--seq-lens` as distinct, increasing lengths.
        func parsedSeqLens() throws -> [Int] {
            let values = try CLIRange.integers(
                seqLens, flag: "--seq-lens", range: 1...Self.maxSeqLen, maxCount: Self.maxPoints)
            return Array(Set(values)).sorted()
        }

        func run() throws {
            let points = try ComplexityMeasurement.run(
                seqLens: try parsedSeqLens(), window: window, repeats: repeats, progress: progress)
            progress("")
            try options.write(Figures.complexity(points), default: "complexity.png")
        }
    }
}
