import Attention

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the measurements behind `complexity.png` (``Figures/complexity(_:)``).
///
/// After one discarded warm-up run, for each sequence length `S`, in this order (least
/// memory first, so one run's freed memory cannot hide the next one's growth):
/// 1. fused attention restricted to a sliding window of `window` keys
///    (`slidingWindow(left: window / 2, right: window − 1 − window / 2)`, exactly `window`
///    keys per query away from the edges), named ``ComplexityPoint/slidingWindow(_:)``;
/// 2. fused attention over all keys (``ComplexityPoint/fused``);
/// 3. standard attention (``ComplexityPoint/reference``) — skipped (a point with no values)
///    past `referenceMaxLen` or when its `[B, H, S, S]` scores exceed the memory limit
///    (`execution.memoryLimit`, default ``AttentionConfiguration/memoryBudget``).
///
/// Shapes: query, key and value `[B, H, S, D]` with `B = batch`, `H = heads`, `D = headDim`.
///
/// **Memory.** ``AttentionBenchmark/run(_:backend:)`` resets the process's peak resident
/// memory (``MemoryProbe/resetPeak()``) just before timing and reports the process's peak.
/// That peak includes everything already resident (the program, earlier allocations), so
/// each point's ``ComplexityPoint/peakBytes`` is that peak minus the resident memory
/// (``MemoryProbe/residentBytes``) read right before the run, after returning freed heap
/// memory to the system (`malloc_trim` on glibc): what the run itself added — its inputs,
/// output, score matrices or tiles, and allocator overhead. Memory the allocator kept from
/// an earlier run and reuses is not counted, so small values are approximate; a difference
/// that is not positive (or a platform without the probe) gives `nil`.
enum ComplexityMeasurement {
    /// Measures every configuration and returns the points in measurement order.
    ///
    /// - Parameters:
    ///   - seqLens: sequence lengths `S`, each ≥ 1.
    ///   - batch: `B`.
    ///   - heads: `H`.
    ///   - headDim: `D`.
    ///   - window: keys per query of the sliding-window run (≥ 1).
    ///   - referenceMaxLen: longest `S` the reference path runs at.
    ///   - repeats: timed runs per point (the median is reported), after one warm-up.
    ///   - execution: threads and kernel variant of every run (default: the machine's).
    ///   - progress: receives a short line before each run.
    ///   - measure: runs one configuration with one backend (default: ``measure(repeats:)``,
    ///     the real benchmark; tests pass a stand-in to check the plan and the bookkeeping).
    /// - Throws: ``AttentionError`` naming the bad argument, or from the attention calls.
    static func run(
        seqLens: [Int], batch: Int = 1, heads: Int = 8, headDim: Int = 64, window: Int = 256,
        referenceMaxLen: Int = 4096, repeats: Int = 3,
        execution: ExecutionOptions = ExecutionOptions(), progress: (String) -> Void = { _ in },
        measure: Measure? = nil
    ) throws -> [ComplexityPoint] {
        for (name, value) in [
            ("batch", batch), ("heads", heads), ("headDim", headDim),
            ("window", window), ("repeats", repeats),
        ] where value < 1 {
            throw AttentionError(.invalidArgument, argument: name, "must be ≥ 1, got \(value)")
        }
        if let bad = seqLens.first(where: { $0 < 1 }) {
            throw AttentionError(
                .invalidArgument, argument: "seqLens", "lengths must be ≥ 1, got \(bad)")
        }
        let left = window / 2, right = window - 1 - window / 2
        let windowMask = AttentionMask.Name(
            "window:\(left),\(right)", mask: .slidingWindow(left: left, right: right))
        let runs: [(name: String, backend: AttentionBackend, mask: AttentionMask.Name)] = [
            (ComplexityPoint.slidingWindow(window), .fused, windowMask),
            (ComplexityPoint.fused, .fused, .none),
            (ComplexityPoint.reference, .reference, .none),
        ]
        let measure = measure ?? Self.measure(repeats: repeats, execution: execution)
        // One discarded run first, so one-time costs (worker threads, their scratch tiles)
        // do not land in the first measured point's memory.
        if let first = seqLens.first {
            _ = try measure(
                BenchmarkConfiguration(
                    batch: batch, heads: heads, seqLen: first, headDim: headDim, mask: windowMask),
                .fused)
        }
        var points: [ComplexityPoint] = []
        let total = seqLens.count * runs.count
        for s in seqLens {
            for run in runs {
                progress("[\(points.count + 1)/\(total)] \(run.name), S = \(s)")
                var point = ComplexityPoint(
                    backend: run.name, seqLen: s, milliseconds: nil, peakBytes: nil)
                if run.backend == .reference && s > referenceMaxLen {
                    points.append(point)
                    continue
                }
                let config = BenchmarkConfiguration(
                    batch: batch, heads: heads, seqLen: s, headDim: headDim, mask: run.mask)
                let sample = try measure(config, run.backend)
                point.milliseconds = sample.milliseconds
                if let peak = sample.peakBytes, let baseline = sample.baselineBytes,
                    peak > baseline
                {
                    point.peakBytes = Double(peak - baseline)
                }
                points.append(point)
            }
        }
        return points
    }

    /// What one run reports: its median time and the process's peak resident memory during
    /// it, with the resident memory just before it (`nil` where unknown).
    struct Sample {
        var milliseconds: Double?
        var peakBytes: Int?
        var baselineBytes: Int?
    }

    /// Runs one configuration with one backend.
    typealias Measure = (BenchmarkConfiguration, AttentionBackend) throws -> Sample

    /// The real measurement: the resident memory after a trim, then
    /// ``AttentionBenchmark/run(_:backend:)`` with `repeats` timed runs.
    static func measure(repeats: Int, execution: ExecutionOptions) -> Measure {
        var benchmark = AttentionBenchmark(repeats: repeats)
        benchmark.execution = execution
        return { config, backend in
            let baseline = residentAfterTrim()
            let result = try benchmark.run(config, backend: backend)
            return Sample(
                milliseconds: result.medianMs, peakBytes: result.peakBytes,
                baselineBytes: baseline)
        }
    }

    /// Resident bytes after handing freed heap memory back to the system where possible.
    static func residentAfterTrim() -> Int? {
        _ = mallocTrim?(0)
        return MemoryProbe.residentBytes
    }

    /// glibc's `malloc_trim(pad)`, looked up at run time (the Glibc module does not export
    /// it); `nil` on other C libraries.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim")
            else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()
}
