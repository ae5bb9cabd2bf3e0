import ArgumentParser
import Attention
import AttentionPlot
import Foundation

/// `attention bench`: standard (reference) vs fused attention, core or full layer.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmark reference (materialized) vs fused attention: median ms, GFLOP/s, speedup, peak memory."
    )

    @Option(help: "Batch size.") var batch = 8
    @Option(help: "Query heads.") var heads = 8
    @Option(help: "Key/value heads (GQA/MQA when fewer than --heads).") var kvHeads: Int?
    @Option(help: "Features per head.") var headDim = 64
    @Option(help: "Comma-separated sequence lengths.") var seqLens = "256,512,1024"
    @Option(help: "Causal mask: false, true or both.") var causal = "false"
    @Option(help: "Mask for sparse runs (e.g. window:128,127); overrides --causal.") var mask:
        String?
    @Option(help: "Comma-separated backends: reference, fused.") var backends = "reference,fused"
    @Flag(help: "Benchmark the full MultiHeadAttention layer (projections included).") var layer =
        false
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Timed repetitions per configuration (median reported).") var repeats = 5
    @Option(help: "Write results as a JSON array to this path.") var json: String?
    @Flag(help: "Skip measuring the GEMM ceiling.") var noGemm = false
    @Option(help: ArgumentHelp("Fused tile size QxK (tuning).", visibility: .hidden)) var tile:
        String?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
        guard heads > 0 else { throw ValidationError("--heads must be ≥ 1, got \(heads)") }
        if let kvHeads, kvHeads <= 0 || heads % kvHeads != 0 {
            throw ValidationError("--kv-heads must divide --heads (\(heads)), got \(kvHeads)")
        }
        guard headDim > 0 else { throw ValidationError("--head-dim must be ≥ 1, got \(headDim)") }
        guard repeats > 0 else { throw ValidationError("--repeats must be ≥ 1, got \(repeats)") }
        if let threads, threads <= 0 {
            throw ValidationError("--threads must be ≥ 1, got \(threads)")
        }
        _ = try parsedSeqLens()
        _ = try parsedBackends()
        _ = try parsedMasks()
    }

    func parsedSeqLens() throws -> [Int] {
        let values = seqLens.split(separator: ",").map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError(
                "--seq-lens expects positive integers separated by commas, got '\(seqLens)'")
        }
        return values.map { $0! }
    }

    func parsedBackends() throws -> [AttentionBackend] {
        try backends.split(separator: ",").map {
            guard let b = AttentionBackend(rawValue: String($0)), b != .automatic else {
                throw ValidationError("--backends expects reference and/or fused, got '\($0)'")
            }
            return b
        }
    }

    func parsedMasks() throws -> [AttentionMask.Name] {
        if let mask { return [try MaskOption.parse(mask)] }
        switch causal {
        case "false": return [.none]
        case "true": return [.causal]
        case "both": return [.none, .causal]
        default: throw ValidationError("--causal expects false, true or both, got '\(causal)'")
        }
    }

    func run() throws {
        var execution = ExecutionOptions(threads: threads)
        if let tile {
            let parts = tile.split(separator: "x").compactMap { Int($0) }
            let largest = ExecutionOptions.maximumBlock
            guard parts.count == 2, (1...largest).contains(parts[0]), parts[0] % 12 == 0,
                (1...largest).contains(parts[1]), parts[1] % 32 == 0
            else {
                throw ValidationError(
                    "--tile expects QxK with Q a multiple of 12 and K of 32, both ≤ \(largest), got '\(tile)'"
                )
            }
            (execution.queryBlock, execution.keyBlock) = (parts[0], parts[1])
        }
        var bench = AttentionBenchmark(repeats: repeats)
        bench.execution = execution
        let lens = try parsedSeqLens(), backendList = try parsedBackends(),
            masks = try parsedMasks()
        print(
            "SwiftAttention benchmark — \(threads ?? AttentionConfiguration.defaultThreadCount) thread(s), kernels: \(AttentionConfiguration.defaultInstructionSet)"
        )
        if !noGemm {
            let gemm = try AttentionBenchmark.gemmGFLOPs(execution: execution)
            print(String(format: "GEMM ceiling (1024³ float32 matmul): %.1f GFLOP/s", gemm))
        }
        var results: [BenchmarkResult] = []
        let total = lens.count * masks.count * backendList.count
        for m in masks {
            for s in lens {
                for backend in backendList {
                    let config = BenchmarkConfiguration(
                        batch: batch, heads: heads, kvHeads: kvHeads, seqLen: s,
                        headDim: headDim, mask: m, layer: layer)
                    progress(
                        "[\(results.count + 1)/\(total)] \(backend.rawValue) seq \(s) mask \(m)…")
                    results.append(try bench.run(config, backend: backend))
                }
            }
        }
        progress("")
        print(BenchTable.render(results))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try AtomicFile.write(Array(try encoder.encode(results)), to: json)
            } catch let error as FileIOError {
                throw ValidationError("--json: \(error)")
            }
            print("wrote \(json)")
        }
    }
}

/// Writes a transient progress line on stderr (cleared by the next one).
func progress(_ text: String) {
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
}

/// Formats benchmark results as an aligned text table with speedups against the reference.
enum BenchTable {
    static func render(_ results: [BenchmarkResult]) -> String {
        var rows = [
            [
                "backend", "B", "H/Hkv", "seq", "D", "mask", "density", "ms (median)", "GFLOP/s",
                "speedup", "peak mem",
            ]
        ]
        for r in results {
            let reference = results.first {
                $0.backend == "reference" && $0.seqLen == r.seqLen && $0.mask == r.mask
                    && $0.medianMs != nil
            }
            let speedup =
                (reference?.medianMs).flatMap { ref in
                    r.medianMs.map { String(format: "%.2f×", ref / $0) }
                } ?? "–"
            rows.append([
                r.backend + (r.layer ? " (layer)" : ""), "\(r.batch)", "\(r.heads)/\(r.kvHeads)",
                "\(r.seqLen)", "\(r.headDim)",
                r.mask, String(format: "%.3f", r.density),
                r.medianMs.map { String(format: "%.2f", $0) } ?? "skipped",
                r.gflops.map { String(format: "%.1f", $0) } ?? "–", speedup,
                r.skipped ?? r.peakBytes.map { formatBytes(Double($0)) } ?? "–",
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(
                separator: "  ")
        }.joined(separator: "\n")
    }
}
