import ArgumentParser
import Attention
import Foundation

/// `attention bench --decode`: one decode step against a KV cache (flash-decoding), its
/// cache-read bandwidth next to a plain read of a buffer of the same size.
struct DecodeBenchFlags: ParsableArguments {
    @Flag(
        help:
            "Benchmark decode steps against a KV cache (uses --heads, --kv-heads, --head-dim, --dtype, --half-kernel, --repeats, --threads, --json)."
    )
    var decode = false
    @Option(help: "Decode: comma-separated cache lengths (B = 1 each).") var cacheLens =
        "4096,32768"
    @Option(
        help:
            "Decode: one batch of sequences with these comma-separated lengths (instead of --cache-lens)."
    )
    var batchLens: String?
    @Option(
        parsing: .unconditional,
        help:
            "Decode: also time a paged cache with blocks of this many positions, step by step alternating with the contiguous cache (column ÷ contiguous, JSON pagedOverContiguous: the median ratio)."
    )
    var pagedBlock: Int?
    @Option(parsing: .unconditional, help: "Decode: new query positions per step, 1…16.")
    var queries = 1
    @Flag(
        help:
            "Decode: also time each step through scaledDotProductAttention on tensors, on the flash kernel (backend fused) and with the automatic backend, interleaved."
    )
    var vsFlash = false

    func validate() throws {
        guard decode else { return }
        for lengths in try parsedLengths() where vsFlash && Set(lengths).count > 1 {
            throw ValidationError(
                "--vs-flash needs sequences of one length (the flash kernel takes [B, Hkv, L, D] tensors); --batch-lens has \(Set(lengths).count)"
            )
        }
        if let pagedBlock { try CLIRange.check(pagedBlock, in: 1...65536, flag: "--paged-block") }
        try CLIRange.check(queries, in: 1...16, flag: "--queries")
    }

    /// Each entry is one benchmarked batch of sequence lengths.
    func parsedLengths() throws -> [[Int]] {
        if let batchLens {
            return [
                try CLIRange.integers(
                    batchLens, flag: "--batch-lens", range: 1...(1 << 24), maxCount: 256)
            ]
        }
        return try CLIRange.integers(
            cacheLens, flag: "--cache-lens", range: 1...(1 << 24), maxCount: 16
        )
        .map { [$0] }
    }

    /// Runs every configuration (contiguous, and paged when asked) and prints a table.
    func run(
        heads: Int, kvHeads: Int?, headDim: Int, dtypes: [DType], repeats: Int,
        execution: ExecutionOptions, json: String?
    ) throws {
        let kvHeads = kvHeads ?? heads
        guard heads % kvHeads == 0 else {
            throw ValidationError("--kv-heads must divide --heads (\(heads)), got \(kvHeads)")
        }
        var configurations: [DecodeBenchmarkConfiguration] = []
        for lengths in try parsedLengths() {
            for dtype in dtypes {
                configurations.append(
                    DecodeBenchmarkConfiguration(
                        lengths: lengths, heads: heads, kvHeads: kvHeads, headDim: headDim,
                        queries: queries, dtype: dtype, pagedBlock: pagedBlock,
                        compareFlash: vsFlash))
            }
        }
        // Every configuration must fit before the first one runs.
        let budget = MemoryBudget.current()
        for config in configurations {
            do { try DecodeBenchmark.checkFits(config, budget: budget) } catch let error
                as AttentionError
            {
                throw ValidationError(
                    "refusing to run: \(error.message); lower --cache-lens / --batch-lens, --kv-heads or --head-dim"
                )
            }
        }
        var results: [DecodeBenchmarkResult] = []
        for config in configurations {
            do {
                results.append(
                    contentsOf: try DecodeBenchmark.run(
                        config, repeats: repeats, execution: execution))
            } catch let error as AttentionError {
                throw ValidationError("decode benchmark: \(error)")
            }
        }
        var rows = [
            [
                "layout", "B", "H/Hkv", "D", "Sq", "dtype", "cache", "positions", "threads",
                "ms/step", "cache GB/s", "plain read GB/s", "fraction",
            ] + (vsFlash ? ["flash ms", "decode speed-up", "auto (tensors) ms"] : [])
                + (pagedBlock == nil ? [] : ["÷ contiguous"])
        ]
        for r in results {
            rows.append(
                [
                    r.layout, "\(r.batch)", "\(r.heads)/\(r.kvHeads)", "\(r.headDim)",
                    "\(r.queries)",
                    r.kernel.map { "\(r.dtype) [\($0)]" } ?? r.dtype, "\(r.cacheLen)",
                    "\(r.totalPositions)", "\(r.threads)",
                    String(format: "%.3f", r.msPerStep), String(format: "%.1f", r.gbPerS),
                    String(format: "%.1f", r.plainReadGbPerS),
                    String(format: "%.0f%%", 100 * r.bandwidthFraction),
                ] + (vsFlash ? flashColumns(r) : [])
                    + (pagedBlock == nil
                        ? [] : [r.pagedOverContiguous.map { String(format: "%.2f", $0) } ?? "-"]))
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        print(
            rows.map { row in
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ")
            }.joined(separator: "\n"))
        if let json { try writeJSON(results, to: json) }
    }

    private func flashColumns(_ r: DecodeBenchmarkResult) -> [String] {
        guard let flash = r.flashMsPerStep, let automatic = r.automaticMsPerStep else {
            return ["-", "-", "-"]
        }
        return [
            String(format: "%.3f", flash), String(format: "%.2f×", flash / r.msPerStep),
            String(format: "%.3f", automatic),
        ]
    }
}
