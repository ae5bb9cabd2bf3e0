import ArgumentParser

extension AttentionCommand {
    /// `ring` exists only in a build with the package's `MPI` trait.
    static var distributedSubcommands: [ParsableCommand.Type] {
        #if MPI
            [RingCommand.self]
        #else
            [RingUnavailableCommand.self]
        #endif
    }
}

#if !MPI
    /// `attention ring` in a build without the `MPI` trait: says how to get it, whatever
    /// arguments follow (instead of "Unknown option '--seq-len'").
    struct RingUnavailableCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ring",
            abstract: "Ring attention over MPI (not in this build: needs --traits MPI).")

        @Argument(parsing: .allUnrecognized) var arguments: [String] = []

        func run() throws {
            throw ValidationError(
                "ring needs a build with the MPI trait: swift build --traits MPI (Open MPI installed), then mpirun -np P .build/debug/attention ring …"
            )
        }
    }
#endif

#if MPI
    import Attention
    import AttentionDistributed
    import Foundation

    /// `mpirun -np P attention ring`: ring (context-parallel) attention over MPI on random
    /// inputs, with per-rank timings and an optional check against the single-process kernel.
    struct RingCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ring",
            abstract: "Ring (context-parallel) attention over MPI: run under mpirun -np P.",
            discussion: """
                Every rank generates its shard of query/key/value (batch B, H heads, S/P positions; \
                seeded, so the full tensors are reproducible) and runs the sharded forward (and \
                with --backward the backward). Prints per-rank compute time, time waiting for \
                transfers, the transfer time measured alone, and the share of it hidden behind compute. \
                --check gathers everything on rank 0 and compares with the single-process fused kernel.
                """)

        @Option(parsing: .unconditional, help: "Sequence length S (whole, across ranks).")
        var seqLen: Int
        @Option(parsing: .unconditional, help: "Query heads.") var heads = 8
        @Option(parsing: .unconditional, help: "Key/value heads (default: --heads).")
        var kvHeads: Int?
        @Option(parsing: .unconditional, help: "Features per head.") var headDim = 64
        @Option(parsing: .unconditional, help: "Batch size.") var batch = 1
        @Flag(help: "Causal mask (zig-zag shards).") var causal = false
        @Option(help: "Sliding window L,R (keys i−L … i+R; contiguous shards); not with --causal.")
        var window: String?
        @Option(help: "ALiBi biases: causal or symmetric.") var alibi: String?
        @Flag(help: "Also run the backward pass (random gradient of the output).") var backward =
            false
        @Option(
            parsing: .unconditional,
            help:
                "Element type of query/key/value: f32, bf16 or f16 (K/V shards travel in it; the backward runs in fp32)."
        )
        var dtype = "f32"
        @Flag(
            help:
                "Gather on rank 0 and compare with the single-process kernel (≤ 1e-6 relative; bf16/f16: 8 roundings)."
        )
        var check = false
        @Option(parsing: .unconditional, help: "Seed of the random inputs.") var seed: UInt64 = 0
        @Option(
            parsing: .unconditional,
            help: "Threads per rank, 1…1024 (default 1: one rank per core).")
        var threads: Int?

        func validate() throws {
            try CLIRange.check(seqLen, in: 1...(1 << 30), flag: "--seq-len")
            for (value, flag) in [(heads, "--heads"), (headDim, "--head-dim"), (batch, "--batch")] {
                try CLIRange.check(value, in: 1...(1 << 20), flag: flag)
            }
            if let kvHeads, kvHeads <= 0 || heads % kvHeads != 0 {
                throw ValidationError("--kv-heads must divide --heads (\(heads)), got \(kvHeads)")
            }
            if let threads { try CLIRange.check(threads, in: 1...1024, flag: "--threads") }
            _ = try elementType()
            if window != nil && causal {
                throw ValidationError("--window and --causal exclude each other (use --window L,0)")
            }
            _ = try windowMask()
            if let alibi, ALiBi.Form(name: alibi) == nil {
                throw ValidationError("--alibi expects symmetric or causal, got '\(alibi)'")
            }
            if alibi == "symmetric", case .slidingWindow(let left, let right) = try windowMask(),
                left > 0 && right > 0
            {
                throw ValidationError(
                    "--alibi symmetric needs a one-sided --window (L,0 or 0,R) in ring attention")
            }
        }

        /// Checks that one rank's tensors fit: about 8 tensors of `B·H·(S/P)·D` floats in the
        /// forward, 16 with --backward (rank 0 holds the full ones with --check).
        func checkMemory(ranks: Int) throws {
            let rows = check ? seqLen : (seqLen + ranks - 1) / ranks
            let tensors = backward ? 16 : 8
            var bytes = 4 * tensors
            for factor in [batch, heads, rows, headDim] {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: factor)
                bytes = overflow ? Int.max : product
            }
            // The budget is the machine's: ranks started on the same machine share it.
            let local = Self.ranksOnThisMachine(ProcessInfo.processInfo.environment) ?? 1
            let budget = AttentionConfiguration.memoryBudget / max(1, min(local, ranks))
            guard bytes <= budget else {
                throw ValidationError(
                    "--seq-len \(seqLen) needs about \(formatBytes(Double(bytes))) per rank with \(ranks) ranks\(check ? " (--check gathers everything on rank 0)" : ""); the memory budget is \(formatBytes(Double(budget))) per rank\(local > 1 ? " (\(local) ranks share this machine's)" : "")"
                )
            }
        }

        /// How many ranks mpirun started on this machine (Open MPI's
        /// `OMPI_COMM_WORLD_LOCAL_SIZE`, MPICH's `MPI_LOCALNRANKS`), if it says.
        static func ranksOnThisMachine(_ environment: [String: String]) -> Int? {
            ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"].lazy
                .compactMap { environment[$0].flatMap { Int($0) } }.first { $0 >= 1 }
        }

        func elementType() throws -> DType {
            guard let type = DType(rawValue: dtype) else {
                throw ValidationError("--dtype expects f32, bf16 or f16, got '\(dtype)'")
            }
            return type
        }

        func windowMask() throws -> AttentionMask? {
            guard let window else { return nil }
            let parts = window.split(separator: ",").map { Int($0) }
            guard parts.count == 2, let left = parts[0], let right = parts[1], left >= 0,
                right >= 0, left <= 1 << 30, right <= 1 << 30
            else {
                throw ValidationError(
                    "--window expects L,R with 0 ≤ L, R ≤ \(1 << 30) (the longest --seq-len), got '\(window)'"
                )
            }
            return .slidingWindow(left: left, right: right)
        }

        var options: AttentionOptions {
            get throws {
                var options = AttentionOptions(
                    mask: causal ? .causal : (try windowMask() ?? .none))
                if let alibi {
                    options.alibi = try ALiBi(
                        heads: heads, form: ALiBi.Form(name: alibi)!, alignment: .topLeft)
                }
                options.execution = ExecutionOptions(threads: threads ?? 1)
                return options
            }
        }

        func run() throws {
            let comm = try MPICommunicator()
            do {
                try run(comm)
            } catch {
                // One rank's failure must not leave the others waiting in a transfer.
                FileHandle.standardError.write(
                    Data("Error: rank \(comm.rank): \(error)\n".utf8))
                comm.abort(code: 1)
            }
            comm.finalize()
        }

        private func run(_ comm: MPICommunicator) throws {
            try checkMemory(ranks: comm.size)
            let ring = try RingAttention(
                sequenceLength: seqLen, ranks: comm.size, options: try options)
            let inputs = RingInputs(command: self, layout: ring.layout, dtype: try elementType())
            let (q, k, v) = (
                inputs.shard(heads, seed: seed, rank: comm.rank),
                inputs.shard(kvHeads ?? heads, seed: seed &+ 1, rank: comm.rank),
                inputs.shard(kvHeads ?? heads, seed: seed &+ 2, rank: comm.rank)
            )
            let transfer = try measureTransfer(comm, ring: ring, key: k, value: v)
            comm.barrier()
            let start = DispatchTime.now()
            let forward = try ring.forward(query: q, key: k, value: v, communicator: comm)
            let forwardWall = seconds(since: start)
            var statistics = [("forward", forward.statistics, forwardWall)]
            var gradients: AttentionGradients?
            if backward {
                let dO = inputs.shard(heads, seed: seed &+ 3, rank: comm.rank)
                comm.barrier()
                let start = DispatchTime.now()
                let result = try ring.backward(
                    gradOutput: dO, query: q, key: k, value: v, output: forward.output,
                    logSumExp: forward.logSumExp, communicator: comm)
                statistics.append(("backward", result.statistics, seconds(since: start)))
                gradients = result.gradients
            }
            try report(comm, ring: ring, statistics: statistics, transfer: transfer)
            if check {
                try checkAgainstSingleProcess(
                    comm, ring: ring, inputs: inputs, output: forward.output,
                    logSumExp: forward.logSumExp, gradients: gradients)
            }
        }

        /// Seconds for one ring step's key/value transfer with nothing to overlap (median of 3).
        private func measureTransfer(
            _ comm: MPICommunicator, ring: RingAttention, key: Tensor, value: Tensor
        ) throws -> Double {
            guard comm.size > 1 else { return 0 }
            let wire = WireFormat(dtype: key.dtype)  // as the ring sends them
            let (next, previous) = (
                (comm.rank + 1) % comm.size, (comm.rank + comm.size - 1) % comm.size
            )
            let length = ring.layout.length(rank: previous)
            var times = [Double]()
            for _ in 0..<3 {
                comm.barrier()
                let start = DispatchTime.now()
                let shape = wire.wireShape([batch, kvHeads ?? heads, length, headDim])
                _ = try comm.exchange(
                    sending: [(try wire.encode(key), next), (try wire.encode(value), next)],
                    receiving: [(shape, previous), (shape, previous)]
                ) { _ in }
                times.append(seconds(since: start))
            }
            return times.sorted()[1]
        }

        private func report(
            _ comm: MPICommunicator, ring: RingAttention,
            statistics: [(String, RingStatistics, Double)], transfer: Double
        ) throws {
            let peak = Double(MemoryProbe.peakBytes ?? 0)
            for (name, stats, wall) in statistics {
                let exchanged = Double(stats.exchanges) * transfer * (name == "backward" ? 2 : 1)
                let row = [
                    wall, stats.computeSeconds, stats.waitSeconds, exchanged, Double(stats.blocks),
                    Double(stats.skippedShards), peak,
                ]
                guard let rows = comm.gather(row) else { continue }
                print(
                    "\(name): S=\(seqLen) P=\(comm.size) \(ring.layout.sharding) B=\(batch) H=\(heads)/\(kvHeads ?? heads) D=\(headDim) \(dtype) mask=\(try options.mask) threads/rank=\(threads ?? 1)"
                )
                print(
                    "  rank   wall ms  compute ms  wait ms  transfer ms  hidden  blocks  skipped  peak RSS"
                )
                for (r, x) in rows.enumerated() {
                    let hidden = x[3] > 0 ? max(0, min(1, 1 - x[2] / x[3])) * 100 : 100
                    print(
                        String(
                            format: "  %4d %9.1f %11.1f %8.1f %12.1f %6.0f%% %7.0f %8.0f  %@", r,
                            x[0] * 1e3, x[1] * 1e3, x[2] * 1e3, x[3] * 1e3, hidden, x[4], x[5],
                            formatBytes(x[6])))
                }
            }
            if comm.rank == 0 {
                print(
                    "  transfer ms: one key/value shard exchange measured alone (×2 per backward step for dK/dV); hidden = 1 − wait/transfer"
                )
            }
        }

        private func checkAgainstSingleProcess(
            _ comm: MPICommunicator, ring: RingAttention, inputs: RingInputs, output: Tensor,
            logSumExp: Tensor, gradients: AttentionGradients?
        ) throws {
            var parts = [output, logSumExp]
            if let gradients {
                parts += [gradients.gradQuery, gradients.gradKey, gradients.gradValue]
            }
            let gathered = parts.map { comm.gather($0.scalars) }
            guard comm.rank == 0 else { return }
            let kv = kvHeads ?? heads
            let (q, k, v) = (
                inputs.full(heads, seed: seed), inputs.full(kv, seed: seed &+ 1),
                inputs.full(kv, seed: seed &+ 2)
            )
            var options = try options
            options.returnLogSumExp = true
            options.execution = ExecutionOptions(threads: threads)
            let single = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            var references = [single.output, single.logSumExp!]
            if gradients != nil {
                // The fused backward is fp32: on the widened (exact) bf16/f16 values, as the ring's.
                let wide = { (t: Tensor) in t.converted(to: .f32) }
                let g = try scaledDotProductAttentionBackward(
                    gradOutput: wide(inputs.full(heads, seed: seed &+ 3)), query: wide(q),
                    key: wide(k), value: wide(v), output: wide(single.output),
                    logSumExp: single.logSumExp!, options: options)
                references += [g.gradQuery, g.gradKey, g.gradValue]
            }
            let names = ["output", "logSumExp", "gradQuery", "gradKey", "gradValue"]
            let exact: Float = self.alibi == nil ? 1e-6 : 1e-5
            // bf16/f16: ring and single-process outputs are each about one rounding (u = 2⁻⁹,
            // 2⁻¹²) from the exact result, the ring's blocks adding one more rounding each:
            // 8u allows both sides and the blocks with margin. The fp32 log-sum-exps agree
            // as in f32 (1e-5).
            let type = try elementType()
            let rounded: Float = type == .bf16 ? 8 * 0x1p-9 : 8 * 0x1p-12
            func tolerance(_ name: String) -> Float {
                if type == .f32 { return exact }
                return name == "logSumExp" ? 1e-5 : rounded
            }
            var failed = [String]()
            for (i, reference) in references.enumerated() {
                let shards = try (0..<comm.size).map { r in
                    var shape = reference.shape
                    shape[2] = ring.layout.length(rank: r)
                    return try Tensor(shape: shape, scalars: gathered[i]![r])
                }
                let full = try ring.layout.unshard(shards)
                let (x, y) = (full.scalars, reference.scalars)
                let scale = y.reduce(0) { max($0, abs($1)) }
                let diff = zip(x, y).reduce(0) { max($0, abs($1.0 - $1.1)) }
                let relative = scale > 0 ? diff / scale : diff
                let ok = relative <= tolerance(names[i])
                if !ok { failed.append(names[i]) }
                print(
                    String(
                        format: "check %@: max |ring − single| / max |single| = %.2e (≤ %.1e) %@",
                        names[i], relative, tolerance(names[i]), ok ? "ok" : "FAILED"))
            }
            if !failed.isEmpty {
                throw ValidationError(
                    "ring result differs from the single-process kernel: \(failed.joined(separator: ", "))"
                )
            }
        }
    }

    /// The command's random inputs, generated per position so a rank builds only its shard
    /// and rank 0 can rebuild the whole tensor for --check.
    struct RingInputs {
        let batch: Int, length: Int, headDim: Int
        let layout: RingLayout
        /// The tensors' dtype (the normal draws rounded to it).
        let dtype: DType

        init(command: RingCommand, layout: RingLayout, dtype: DType) {
            (batch, length, headDim, self.layout, self.dtype) = (
                command.batch, command.seqLen, command.headDim, layout, dtype
            )
        }

        /// `[B, heads, rows of rank, D]`: element (b, h, position, d) is the normal draw
        /// number `((b·heads + h)·S + position)·D + d` of `seed`.
        func shard(_ heads: Int, seed: UInt64, rank: Int) -> Tensor {
            rows(heads, seed: seed, positions: layout.chunks(rank: rank).flatMap { Array($0) })
        }

        func full(_ heads: Int, seed: UInt64) -> Tensor {
            rows(heads, seed: seed, positions: Array(0..<length))
        }

        private func rows(_ heads: Int, seed: UInt64, positions: [Int]) -> Tensor {
            let rng = CounterRNG(seed: seed)
            var values = [Float]()
            values.reserveCapacity(batch * heads * positions.count * headDim)
            for bh in 0..<batch * heads {
                for p in positions {
                    let base = UInt64((bh * length + p) * headDim)
                    for d in 0..<headDim { values.append(rng.normal(at: base + UInt64(d))) }
                }
            }
            return try! Tensor(
                shape: [batch, heads, positions.count, headDim], scalars: values, dtype: dtype)
        }
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
#endif
