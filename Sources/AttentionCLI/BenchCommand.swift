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

    // Numbers parse `.unconditional`ly so `--batch -1` is a range error, not "missing value".
    @Option(parsing: .unconditional, help: "Batch size.") var batch = 8
    @Option(parsing: .unconditional, help: "Query heads.") var heads = 8
    @Option(
        parsing: .unconditional,
        help: "Key/value heads (GQA/MQA when fewer than --heads; not with --layer).")
    var kvHeads: Int?
    @Option(parsing: .unconditional, help: "Features per head.") var headDim = 64
    @Option(
        help: "Comma-separated sequence lengths, each in 1…\(Self.seqLenRange.upperBound).")
    var seqLens = "256,512,1024"
    @Option(
        help:
            "Comma-separated key/value lengths (Sk), each run against every --seq-lens query length (default: Sk = Sq; not with --layer or --decode; --causal is top-left, use --mask causal-bottom-right for the last query to see every key)."
    )
    var kvLens: String?
    @Option(help: "Causal mask: false, true or both (default: false).") var causal: String?
    @Option(help: "Mask for sparse runs (e.g. window:128,127); instead of --causal.") var mask:
        String?
    @Option(help: "Comma-separated backends: reference, fused.") var backends = "reference,fused"
    @Flag(
        help:
            "Time the backward pass (gradients of Q, K, V) instead of the forward; GFLOP/s count 2.5× the forward's FLOPs."
    ) var backward = false
    @Flag(help: "Benchmark the full MultiHeadAttention layer (projections included).") var layer =
        false
    @OptionGroup var execution: ExecutionFlags
    @OptionGroup var decodeFlags: DecodeBenchFlags
    @Option(
        parsing: .unconditional,
        help:
            "Timed repetitions per configuration, 1…\(CLIRange.repeats.upperBound) (median reported)."
    )
    var repeats = 5
    @Option(help: "Write results as a JSON array to this path (checked before the runs).")
    var json: String?
    @Flag(help: "Skip measuring the GEMM ceiling.") var noGemm = false
    @Option(
        help:
            "Comma-separated element types of query/key/value: f32, bf16, f16 (default f32); several run back to back per configuration."
    )
    var dtype = "f32"
    @Option(
        help:
            "Kernel for bf16/f16: portable, avx512-bf16, arm64-bf16, amx-bf16 or amx-fp16 (default: the best this CPU has)."
    )
    var halfKernel: String?
    @Option(help: ArgumentHelp("Fused tile size QxK (tuning).", visibility: .hidden)) var tile:
        String?

    static let sizeRange = 1...(1 << 20)
    static let seqLenRange = 1...(1 << 30)

    func validate() throws {
        try CLIRange.check(batch, in: Self.sizeRange, flag: "--batch")
        try CLIRange.check(heads, in: Self.sizeRange, flag: "--heads")
        if let kvHeads, kvHeads <= 0 || heads % kvHeads != 0 {
            throw ValidationError("--kv-heads must divide --heads (\(heads)), got \(kvHeads)")
        }
        if backward && layer {
            throw ValidationError(
                "--backward cannot be used with --layer (the layer backward is not benchmarked yet)"
            )
        }
        if kvLens != nil && (layer || decodeFlags.decode) {
            throw ValidationError(
                layer
                    ? "--kv-lens cannot be used with --layer (the layer attends to its own input)"
                    : "--kv-lens cannot be used with --decode (use --cache-lens)")
        }
        if kvHeads != nil && layer {
            throw ValidationError(
                "--kv-heads cannot be used with --layer (the layer has one key/value head per query head)"
            )
        }
        try CLIRange.check(headDim, in: Self.sizeRange, flag: "--head-dim")
        try CLIRange.check(repeats, in: CLIRange.repeats, flag: "--repeats")
        if causal != nil && mask != nil {
            throw ValidationError("--causal and --mask cannot be used together (--mask causal+…)")
        }
        if tile != nil { _ = try parsedTile() }
        let dtypes = try parsedDTypes()
        if layer && dtypes != [.f32] {
            throw ValidationError(
                "--dtype \(dtype) cannot be used with --layer (only the attention forward and backward run in bf16/f16)"
            )
        }
        _ = try parsedHalfKernel()
        let lens = try parsedSeqLens(), masks = try parsedMasks()
        _ = try parsedBackends()
        let budget = MemoryBudget.current()
        for s in lens {
            for sk in try parsedKeyLens() ?? [s] {
                let at = "--seq-lens \(s)" + (kvLens == nil ? "" : " --kv-lens \(sk)")
                for m in masks {
                    do {
                        try m.mask.validate(batch: batch, heads: heads, queries: s, keys: sk)
                    } catch let error as AttentionError {
                        throw ValidationError("--mask '\(m)' at \(at): \(error.message)")
                    }
                }
                // (--decode checks its own configurations: DecodeBenchFlags.run.)
                if decodeFlags.decode { continue }
                do {
                    try AttentionBenchmark.checkFits(
                        configuration(seqLen: s, keyLen: sk, mask: .none), budget: budget)
                } catch let error as AttentionError {
                    throw ValidationError(
                        "refusing to run: \(error.message); lower --batch, --heads, --head-dim, --seq-lens or --kv-lens"
                    )
                }
            }
        }
        if let json { try OutputPath.check(json, flag: "--json") }
    }

    func configuration(
        seqLen: Int, keyLen: Int? = nil, mask: AttentionMask.Name, dtype: DType = .f32
    ) -> BenchmarkConfiguration {
        BenchmarkConfiguration(
            batch: batch, heads: heads, kvHeads: kvHeads, seqLen: seqLen, keyLen: keyLen,
            headDim: headDim, mask: mask, layer: layer, backward: backward, dtype: dtype)
    }

    func parsedDTypes() throws -> [DType] {
        let list = try dtype.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let t = DType(rawValue: $0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError(
                    "--dtype expects f32, bf16 and/or f16 separated by commas, got '\(dtype)'")
            }
            return t
        }
        guard Set(list).count == list.count else {
            throw ValidationError("--dtype lists a type twice: '\(dtype)'")
        }
        return list
    }

    func parsedHalfKernel() throws -> ReducedPrecisionKernel? {
        guard let halfKernel else { return nil }
        let kernel: ReducedPrecisionKernel
        switch halfKernel {
        case "portable": kernel = .portable
        case "avx512-bf16": kernel = .avx512BF16
        case "arm64-bf16": kernel = .arm64BF16
        case "amx-bf16": kernel = .amxBF16
        case "amx-fp16": kernel = .amxFP16
        default:
            throw ValidationError(
                "--half-kernel expects portable, avx512-bf16, arm64-bf16, amx-bf16 or amx-fp16, got '\(halfKernel)'"
            )
        }
        guard ReducedPrecisionKernel.supported.contains(kernel) else {
            throw ValidationError(
                "--half-kernel \(halfKernel): this CPU lacks it (it has: \(ReducedPrecisionKernel.supported.map(\.description).joined(separator: ", ")))"
            )
        }
        return kernel
    }

    func parsedSeqLens() throws -> [Int] {
        try CLIRange.integers(seqLens, flag: "--seq-lens", range: Self.seqLenRange, maxCount: 64)
    }

    /// The `--kv-lens` list, or nil when every run has Sk = Sq.
    func parsedKeyLens() throws -> [Int]? {
        try kvLens.map {
            try CLIRange.integers($0, flag: "--kv-lens", range: Self.seqLenRange, maxCount: 64)
        }
    }

    func parsedBackends() throws -> [AttentionBackend] {
        let names = backends.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let list = try names.map { name in
            guard let b = AttentionBackend(rawValue: name), b != .automatic else {
                throw ValidationError(
                    "--backends expects reference and/or fused separated by commas, got '\(backends)'"
                )
            }
            return b
        }
        guard Set(list).count == list.count else {
            throw ValidationError("--backends lists a backend twice: '\(backends)'")
        }
        return list
    }

    func parsedMasks() throws -> [AttentionMask.Name] {
        if let mask { return [try MaskOption.parse(mask)] }
        switch causal ?? "false" {
        case "false": return [.none]
        case "true": return [.causal]
        case "both": return [.none, .causal]
        default: throw ValidationError("--causal expects false, true or both, got '\(causal!)'")
        }
    }

    func parsedTile() throws -> (Int, Int)? {
        guard let tile else { return nil }
        let parts = tile.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let q = parts[0], let k = parts[1], (1...4096).contains(q),
            q % 12 == 0, (1...4096).contains(k), k % 32 == 0
        else {
            throw ValidationError(
                "--tile expects QxK with Q a multiple of 12 and K of 32 (each ≤ 4096), got '\(tile)'"
            )
        }
        return (q, k)
    }

    func run() throws {
        var execution = self.execution.options
        execution.reducedPrecisionKernel = try parsedHalfKernel()
        if decodeFlags.decode {
            return try decodeFlags.run(
                heads: heads, kvHeads: kvHeads, headDim: headDim, dtypes: try parsedDTypes(),
                repeats: repeats, execution: execution, json: json)
        }
        let dtypes = try parsedDTypes()
        if let (q, k) = try parsedTile() {
            (execution.queryBlock, execution.keyBlock) = (q, k)
        }
        var bench = AttentionBenchmark(repeats: repeats)
        bench.execution = execution
        let lens = try parsedSeqLens(), backendList = try parsedBackends(),
            masks = try parsedMasks(), keyLens = try parsedKeyLens()
        print(
            "SwiftAttention benchmark — \(execution.threads ?? AttentionConfiguration.defaultThreadCount) thread(s), kernels: \(AttentionConfiguration.defaultInstructionSet)"
                + (dtypes == [.f32]
                    ? ""
                    : ", bf16/f16 kernel: \(execution.reducedPrecisionKernel ?? ReducedPrecisionKernel.supported.last!)")
        )
        if !noGemm {
            let gemm = try AttentionBenchmark.gemmGFLOPs(execution: execution)
            print(String(format: "GEMM ceiling (1024³ float32 matmul): %.1f GFLOP/s", gemm))
            if dtypes.contains(.bf16) {
                let rows = 8192, dims = 512
                let f32 = try AttentionBenchmark.linearGFLOPs(
                    rows: rows, dims: dims, execution: execution)
                let bf16 = try AttentionBenchmark.linearGFLOPs(
                    rows: rows, dims: dims, execution: execution, weightDType: .bf16)
                print(
                    String(
                        format:
                            "Linear [%d, %d]×[%d, %d]: %.1f GFLOP/s with bf16 weights (%@), %.1f fp32",
                        rows, dims, dims, dims, bf16,
                        (execution.reducedPrecisionKernel ?? ReducedPrecisionKernel.supported.last!)
                            .description, f32))
            }
            if layer {
                let dims = heads * headDim
                for s in lens {
                    let rows = batch * s
                    let linear = try AttentionBenchmark.linearGFLOPs(
                        rows: rows, dims: dims, repeats: repeats, execution: execution)
                    print(
                        String(
                            format:
                                "Linear [%d, %d]×[%d, %d] (the layer's projections): %.1f GFLOP/s",
                            rows, dims, dims, dims, linear))
                }
            }
        }
        var results: [BenchmarkResult] = []
        let total =
            lens.count * (keyLens?.count ?? 1) * masks.count * backendList.count * dtypes.count
        for m in masks {
            for s in lens {
                for sk in keyLens ?? [s] {
                    for backend in backendList {
                        for t in dtypes {
                            let config = configuration(seqLen: s, keyLen: sk, mask: m, dtype: t)
                            progress(
                                "[\(results.count + 1)/\(total)] \(backend.rawValue) \(t) seq \(s)\(sk == s ? "" : "×\(sk)") mask \(m)…"
                            )
                            results.append(try bench.run(config, backend: backend))
                        }
                    }
                }
            }
        }
        progress("")
        print(BenchTable.render(results))
        if let json { try writeJSON(results, to: json) }
    }
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
                $0.backend == "reference" && $0.seqLen == r.seqLen && $0.keyLen == r.keyLen
                    && $0.mask == r.mask && $0.medianMs != nil && $0.dtype == "f32"
            }
            let speedup =
                (reference?.medianMs).flatMap { ref in
                    r.medianMs.map { String(format: "%.2f×", ref / $0) }
                } ?? "–"
            let precision = r.dtype == "f32" ? "" : " \(r.dtype) [\(r.kernel ?? "?")]"
            rows.append([
                r.backend + precision + (r.layer ? " (layer)" : "")
                    + (r.backward ? " (backward)" : ""),
                "\(r.batch)", "\(r.heads)/\(r.kvHeads)",
                r.keyLen.map { $0 == r.seqLen ? "\(r.seqLen)" : "\(r.seqLen)×\($0)" }
                    ?? "\(r.seqLen)", "\(r.headDim)",
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
