import ArgumentParser
import Attention
import AttentionModels
import AttentionPlot
import Foundation

/// `attention demo`: the walkthrough a newcomer runs. Sections [1]–[8] and a summary, with
/// measured numbers, and the figures written into `--output-dir`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Walk through standard, fused and sparse attention, position encodings and ALiBi; benchmark; write figures."
    )

    @Option(help: "Folder for the figures (created if missing).") var outputDir = "attention-output"
    @Option(parsing: .unconditional, help: "Seed for every random tensor and figure.") var seed:
        UInt64 = 0
    @Option(
        parsing: .unconditional,
        help: "Timed repetitions per benchmark configuration, 1…\(CLIRange.repeats.upperBound).")
    var repeats = 3
    @OptionGroup var execution: ExecutionFlags
    @Option(
        help:
            "Model folder for [8]'s heads (default: all-MiniLM-L6-v2 from scripts/fetch-minilm.sh when present, else a random layer)."
    )
    var model: String?

    /// The figures the walkthrough writes into `--output-dir`.
    static let figureNames = [
        "complexity.png", "attention_masks.png", "position_encodings.png", "attention_heads.png",
    ]

    func validate() throws {
        try CLIRange.check(repeats, in: CLIRange.repeats, flag: "--repeats")
        guard !outputDir.isEmpty else { throw ValidationError("--output-dir must not be empty") }
        if let model, !SentenceEmbedder.isModelDirectory(model) {
            throw ValidationError(
                "--model \(model): no model files there (config.json, model.safetensors, vocab.txt); run scripts/fetch-minilm.sh"
            )
        }
    }

    func run() throws {
        // Before any work: the folder exists (or is created) and every figure can be written.
        try OutputPath.makeDirectory(outputDir, flag: "--output-dir")
        for name in Self.figureNames {
            try OutputPath.check(
                URL(fileURLWithPath: outputDir).appendingPathComponent(name).path,
                flag: "--output-dir")
        }
        var demo = Demo(
            outputDir: outputDir, seed: seed, repeats: repeats,
            execution: execution.options)
        demo.modelDirectory = model
        // The trained model's figure before any work: a broken folder (or one the figure
        // cannot show) fails now, not after minutes of benchmarks and half the figures.
        let directory = model ?? SentenceEmbedder.defaultDirectory
        if model != nil || SentenceEmbedder.isModelDirectory(directory) {
            let embedder = try ModelOption.load(
                directory, flag: model == nil ? "the model folder" : "--model")
            let layer = min(Demo.modelHeadsLayer, embedder.encoder.configuration.layerCount - 1)
            demo.modelHeads = (
                embedder, layer,
                try Figures.modelHeads(
                    embedder, text: Demo.headsText, layer: layer, maxTokens: 128)
            )
        }
        let start = Date()
        try demo.standardAttention()
        try demo.efficientAttention()
        try demo.complexity()
        try demo.sparsePatterns()
        try demo.positionEncodings()
        try demo.alibiAttention()
        try demo.benchmark()
        try demo.visualization()
        demo.summary(elapsed: Date().timeIntervalSince(start))
    }
}

/// The walkthrough's state: what each section measured, for the summary.
struct Demo {
    let outputDir: String
    let seed: UInt64
    let repeats: Int
    /// How every measured call runs (`--threads`).
    let execution: ExecutionOptions
    /// `--model`: the trained model whose heads [8] draws (`nil`: the default folder if the
    /// files are there, else a random layer).
    var modelDirectory: String? = nil
    /// The trained model, the layer [8] draws and its figure (loaded before any work).
    var modelHeads: (model: SentenceEmbedder, layer: Int, figure: Figure)? = nil
    var figures: [String] = []
    var highlights: [String] = []

    func path(_ name: String) -> String {
        URL(fileURLWithPath: outputDir).appendingPathComponent(name).path
    }

    static func section(_ n: Int, _ title: String) {
        print("\n[\(n)] \(title)")
        print(String(repeating: "─", count: title.count + 4))
    }

    func time(_ body: () throws -> Void) rethrows -> Double {
        Timing.median(try Timing.measure(repeats: repeats, warmup: 1, body))
    }

    mutating func write(_ figure: Figure, _ name: String) throws {
        try figure.write(to: path(name))
        figures.append(path(name))
        print("  wrote \(path(name)) (\(figure.pixelWidth)×\(figure.pixelHeight))")
    }

    // MARK: [1]

    mutating func standardAttention() throws {
        Self.section(1, "Standard multi-head attention")
        var mha = try MultiHeadAttention(dimensions: 512, numHeads: 8, bias: false, seed: seed)
        mha.execution = execution
        let x = Tensor.randomNormal([2, 10, 512], seed: seed &+ 1)
        let (out, weights) = try mha.attentionWithWeights(x)
        let rowSums = stride(from: 0, to: weights.count, by: 10).map {
            weights.scalars[$0..<($0 + 10)].reduce(0, +)
        }
        print(
            "  MultiHeadAttention(dimensions: 512, numHeads: 8, bias: false): head dim \(mha.headDimensions), \(mha.parameters().values.reduce(0) { $0 + $1.count }) parameters"
        )
        print("  input  \(x.shape)  [batch, seq, d_model]")
        print("  output \(out.shape)")
        print("  weights \(weights.shape)  [batch, heads, query, key]")
        print(
            String(
                format: "  every weight row sums to 1: max |sum − 1| = %.2e",
                rowSums.map { abs($0 - 1) }.max() ?? 0))
        let ms = try time { _ = try mha.attentionWithWeights(x) }
        print(String(format: "  forward pass (reference path, weights materialized): %.2f ms", ms))
    }

    // MARK: [2]

    mutating func efficientAttention() throws {
        Self.section(2, "Efficient multi-head attention (fused, FlashAttention-style)")
        var mha = try MultiHeadAttention(dimensions: 512, numHeads: 8, bias: false, seed: seed)
        mha.execution = execution
        let x = Tensor.randomNormal([2, 128, 512], seed: seed &+ 2)
        let reference = try mha(x, isCausal: true, backend: .reference)
        let fused = try mha(x, isCausal: true, backend: .fused)
        let q = Tensor.randomNormal([2, 8, 128, 64], seed: seed &+ 3)
        let result = try scaledDotProductAttention(
            query: q, key: q, value: q, options: .init(mask: .causal, execution: execution))
        print(
            "  scaledDotProductAttention(…, mask: .causal) chose .\(result.backend.rawValue): \(result.reason)"
        )
        print(
            "  kernels: \(execution.instructionSet ?? AttentionConfiguration.defaultInstructionSet), \(execution.threads ?? AttentionConfiguration.defaultThreadCount) thread(s)"
        )
        print(
            String(
                format: "  causal layer, [2, 128, 512]: max |fused − reference| = %.2e",
                fused.maxAbsDifference(reference)))
        let tRef = try time { _ = try mha(x, isCausal: true, backend: .reference) }
        let tFused = try time { _ = try mha(x, isCausal: true, backend: .fused) }
        print(
            String(
                format:
                    "  reference %.2f ms, fused %.2f ms (%.2f×); fused never allocates the [B, H, S, S] matrix",
                tRef, tFused, tRef / tFused))
    }

    // MARK: [3]

    mutating func complexity() throws {
        Self.section(3, "Complexity analysis")
        let dModel = 512, heads = 8, seqLens = [128, 256, 512, 1024, 2048, 4096]
        print(
            "  The seed's model, analyze_complexity(seq_lengths, d_model=\(dModel), num_heads=\(heads)):"
        )
        print("  time_ops = n²·d_model, memory_gb = n²·num_heads·4 / 1024³ (the attention matrix)")
        for line in Self.seedComplexityTable(seqLens: seqLens, dModel: dModel, numHeads: heads) {
            print("  " + line)
        }
        print(
            "\n  Measured here (batch 1, \(heads) heads, head dim \(dModel / heads)): attention-core FLOPs, time, extra resident memory"
        )
        print("  seq_len     GFLOP   standard ms  standard MiB   fused ms  fused MiB")
        var claim = ""
        for s in seqLens {
            let q = Tensor.randomNormal([1, heads, s, dModel / heads], seed: seed &+ UInt64(s))
            let flops = AttentionComplexity.flops(
                batch: 1, heads: heads, queries: s, keys: s, headDim: dModel / heads)
            let (tr, mr) = try measure {
                _ = try scaledDotProductAttention(
                    query: q, key: q, value: q,
                    options: .init(backend: .reference, execution: execution))
            }
            let (tf, mf) = try measure {
                _ = try scaledDotProductAttention(
                    query: q, key: q, value: q,
                    options: .init(backend: .fused, execution: execution))
            }
            print(
                String(
                    format: "  %7d  %8.2f  %12.2f  %12.1f  %9.2f  %9.1f", s, flops / 1e9, tr,
                    mr / 1_048_576, tf, mf / 1_048_576))
            if s == 4096 {
                // GB as the seed counts them (1024³ bytes), to compare with its table.
                let gb = 1024.0 * 1024 * 1024
                claim = String(
                    format:
                        "seq 4096, 8 heads: standard %.2f GB (the seed's model: %.2f), fused %.3f GB (measured)",
                    mr / gb, Double(s * s * heads * 4) / gb, mf / gb)
            }
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        let limit = Int((memory / (4 * Double(heads))).squareRoot())
        print(
            "  standard attention needs 4·H·S² bytes for the scores alone: on this machine (\(formatBytes(memory)))"
        )
        print(
            "  it runs out of memory beyond S ≈ \(limit) for \(heads) heads; the fused kernel's memory grows as S·D."
        )
        print("  \(claim)")
        highlights.append(claim)

        progress("  measuring time and memory vs sequence length for complexity.png…")
        let points = try ComplexityMeasurement.run(
            seqLens: [256, 512, 1024, 2048, 4096, 8192], batch: 1, heads: 8, headDim: 64,
            window: 256, referenceMaxLen: 4096, repeats: 1, execution: execution,
            progress: { progress("  " + $0) })
        progress("")
        try write(Figures.complexity(points), "complexity.png")
    }

    /// The seed's complexity table, line by line: `analyze_complexity(seq_lengths, d_model,
    /// num_heads)` with `time_ops = n²·d_model` in millions (2 decimals) and
    /// `memory_gb = n²·num_heads·4 / 1024³` (4 decimals), under the header
    /// `Sequence Length | Time Ops (M) | Memory (GB)`, each value right-aligned in its column.
    static func seedComplexityTable(seqLens: [Int], dModel: Int, numHeads: Int) -> [String] {
        let header = ["Sequence Length", "Time Ops (M)", "Memory (GB)"]
        let title = header.joined(separator: " | ")
        var lines = [title, String(repeating: "-", count: title.count)]
        for n in seqLens {
            let square = Double(n) * Double(n)
            let timeOps = square * Double(dModel)
            let memoryGB = square * Double(numHeads) * 4 / (1024 * 1024 * 1024)
            let cells = [
                String(n), String(format: "%.2f", timeOps / 1e6), String(format: "%.4f", memoryGB),
            ]
            lines.append(
                zip(header, cells).map { title, cell in
                    String(repeating: " ", count: Swift.max(0, title.count - cell.count)) + cell
                }.joined(separator: " | "))
        }
        return lines
    }

    /// Median time (ms) and the resident memory the runs added (bytes).
    func measure(_ body: () throws -> Void) throws -> (Double, Double) {
        let before = Double(MemoryProbe.residentBytes ?? 0)
        MemoryProbe.resetPeak()
        let ms = try time(body)
        let peak = Double(MemoryProbe.peakBytes ?? 0)
        return (ms, Swift.max(0, peak - before))
    }

    // MARK: [4]

    mutating func sparsePatterns() throws {
        Self.section(4, "Sparse attention patterns")
        let patterns: [(String, AttentionMask)] = [
            ("local window 16", .slidingWindow(left: 8, right: 8)),
            ("strided 8", .strided(stride: 8)), ("causal", .causal),
            ("BigBird 16/2/3", .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: seed)),
        ]
        print("  64×64 masks (materialized only for this table and the figure):")
        for (name, mask) in patterns {
            print(
                "  " + name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: " density %.3f   ", mask.density(queries: 64, keys: 64))
                    + mask.description)
        }
        try write(Figures.maskPatterns(size: 64, seed: seed), "attention_masks.png")

        let s = 4096
        let q = Tensor.randomNormal([1, 8, s, 64], seed: seed &+ 7)
        print("\n  Fused kernel at S = \(s), 8 heads: tiles the mask hides are never visited")
        print("  mask                                      density  visited tiles     ms   speedup")
        var dense = 0.0
        for (name, mask) in [
            ("none (dense)", AttentionMask.none),
            ("window:128,127", .slidingWindow(left: 128, right: 127)),
            ("bigbird-blocks 64: 3 window, 2 global, 3 random", .bigBirdBlocks(seed: seed)),
            ("causal+window:256,0", .and(.causal, .slidingWindow(left: 256, right: 0))),
        ] {
            let blocks = try BlockMask.forFusedKernel(
                mask: mask, queries: s, keys: s, execution: execution)
            let (bq, bk) = (blocks.queryBlockSize, blocks.keyBlockSize)
            let total = ((s + bq - 1) / bq) * ((s + bk - 1) / bk)
            let ms = try time {
                _ = try scaledDotProductAttention(
                    query: q, key: q, value: q,
                    options: .init(mask: mask, backend: .fused, execution: execution))
            }
            if dense == 0 { dense = ms }
            print(
                "  " + name.padding(toLength: 42, withPad: " ", startingAt: 0)
                    + String(
                        format: " %7.3f  %6d/%-6d %8.2f  %6.1f×", mask.density(queries: s, keys: s),
                        blocks.visitedBlockCount, total, ms, dense / ms))
        }
    }

    // MARK: [5]

    mutating func positionEncodings() throws {
        Self.section(5, "Position encodings")
        let pe = try SinusoidalPositionalEncoding(dimensions: 64, maxLength: 100)
        print(
            "  sinusoidal table \(pe.table.shape): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…)"
        )
        print(
            String(
                format: "  PE[1, 0…3] = %.4f %.4f %.4f %.4f", pe.table[1, 0], pe.table[1, 1],
                pe.table[1, 2], pe.table[1, 3]))
        let rope = try RoPE(dimensions: 64)
        let a = Tensor.randomNormal([1, 1, 1, 64], seed: seed &+ 11),
            b = Tensor.randomNormal([1, 1, 1, 64], seed: seed &+ 12)
        func score(_ p: Int, _ q: Int) throws -> Float {
            zip(try rope(a, offset: p).scalars, try rope(b, offset: q).scalars).reduce(0) {
                $0 + $1.0 * $1.1
            }
        }
        print(
            String(
                format:
                    "  RoPE: q·k depends on the distance only: positions (3, 7) → %.5f, (1003, 1007) → %.5f",
                try score(3, 7), try score(1003, 1007)))
        let slopes = try ALiBi.slopes(heads: 8)
        print(
            "  ALiBi slopes for 8 heads: "
                + slopes.map { "1/\(Int((1 / $0).rounded()))" }.joined(separator: ", "))
        try write(
            Figures.positionEncodings(positions: 100, dimensions: 64, heads: 8),
            "position_encodings.png")
    }

    // MARK: [6]

    mutating func alibiAttention() throws {
        Self.section(6, "ALiBi attention")
        var layer = try ALiBiMultiHeadAttention(
            dimensions: 512, numHeads: 8, form: .symmetric, bias: false, seed: seed)
        layer.execution = execution
        let x = Tensor.randomNormal([2, 256, 512], seed: seed &+ 13)
        let fused = try layer(x)
        let (reference, weights) = try layer.attentionWithWeights(x)
        print(
            "  ALiBiMultiHeadAttention(dimensions: 512, numHeads: 8, bias: false): bias −m_h·|i − j| computed inside the kernel"
        )
        print(
            String(
                format: "  [2, 256, 512]: max |fused − reference| = %.2e; weights ",
                fused.maxAbsDifference(reference)) + "\(weights.shape)")
        // How far each head looks: mean |i − j| under its weights, head 0 (steepest) vs head 7.
        func reach(_ h: Int) -> Double {
            var total = 0.0
            for i in 0..<256 {
                for j in 0..<256 { total += Double(weights[0, h, i, j]) * Double(abs(i - j)) }
            }
            return total / 256
        }
        print(
            String(
                format:
                    "  mean attention distance: head 0 (slope 1/2) %.1f tokens, head 7 (slope 1/256) %.1f tokens",
                reach(0), reach(7)))
        let ms = try time { _ = try layer(x) }
        print(String(format: "  fused forward: %.2f ms", ms))
    }

    // MARK: [7]

    mutating func benchmark() throws {
        Self.section(
            7, "Benchmark: standard vs efficient attention layer (batch 8, d_model 512, 8 heads)")
        var bench = AttentionBenchmark(repeats: repeats, seed: seed)
        bench.execution = execution
        var results: [BenchmarkResult] = []
        for s in [256, 512, 1024] {
            for backend in [AttentionBackend.reference, .fused] {
                progress("  seq \(s), \(backend.rawValue)…")
                results.append(
                    try bench.run(
                        BenchmarkConfiguration(
                            batch: 8, heads: 8, seqLen: s, headDim: 64, layer: true),
                        backend: backend))
            }
        }
        progress("")
        print(
            BenchTable.render(results).split(separator: "\n").map { "  " + $0 }.joined(
                separator: "\n"))
        if let r = results.last(where: { $0.backend == "reference" })?.medianMs,
            let f = results.last?.medianMs
        {
            highlights.append(
                String(format: "layer at seq 1024: fused %.1f× faster than standard", r / f))
        }
        print(
            "  GFLOP/s counts the attention core plus the four projections; run `attention bench` for the kernel alone."
        )
    }

    // MARK: [8]

    mutating func visualization() throws {
        Self.section(8, "Attention visualization")
        let text = Self.headsText
        let directory = modelDirectory ?? SentenceEmbedder.defaultDirectory
        if let (model, layer, figure) = modelHeads {
            print("  trained weights, not a random layer: the BERT model in \(directory)")
            print(
                "  tokens: \(model.tokenizer.tokenTexts(model.tokenizer.encode(text)).joined(separator: " "))"
            )
            print(
                "  layer \(layer) of \(model.encoder.configuration.layerCount), \(model.encoder.configuration.headCount) heads (see `attention plot heads --model DIR --layer L`)"
            )
            print(
                "  look for heads that follow the next or the previous token (diagonals) and heads that park on [CLS]"
            )
            try write(figure, "attention_heads.png")
            return
        }
        print("  no trained model found at \(directory) (scripts/fetch-minilm.sh); a random layer:")
        let tokens = text.split(separator: " ").map(String.init)
        print("  tokens: \(tokens.joined(separator: " "))")
        try write(
            Figures.attentionHeads(tokens: tokens, dModel: 64, heads: 8, seed: seed),
            "attention_heads.png")
    }

    /// The trained model's layer [8] draws (its last one if it has fewer).
    static let modelHeadsLayer = 1
    /// The sentence [8] draws the heads over.
    static let headsText = "The cat sat on the mat and then left ."

    func summary(elapsed: Double) {
        print("\nSummary")
        print("───────")
        for h in highlights { print("  • \(h)") }
        print(
            "  • figures: "
                + figures.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
                + " in \(outputDir)/")
        print(String(format: "  • finished in %.1f s", elapsed))
    }
}
