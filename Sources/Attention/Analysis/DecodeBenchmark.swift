import Foundation

/// One decode-step configuration for ``DecodeBenchmark``.
public struct DecodeBenchmarkConfiguration: Sendable {
    /// Cached positions per sequence (one entry per sequence of the batch).
    public var lengths: [Int]
    public var heads: Int, kvHeads: Int, headDim: Int
    /// New query positions per sequence (1 for plain decoding).
    public var queries: Int
    public var dtype: DType
    /// Also time a ``PagedKVCache`` with blocks of this many positions, interleaved with the
    /// contiguous ``KVCache`` (`nil`: the contiguous cache only).
    public var pagedBlock: Int?
    /// Also time the same step through `scaledDotProductAttention` on keys and values as
    /// tensors (bottom-right causal), interleaved: with `backend: .fused` (the flash kernel)
    /// and with the automatic backend (the decode kernel on the tensors, what `attention run`
    /// does). Needs sequences of one length.
    public var compareFlash: Bool

    public init(
        lengths: [Int], heads: Int, kvHeads: Int, headDim: Int, queries: Int = 1,
        dtype: DType = .f32, pagedBlock: Int? = nil, compareFlash: Bool = false
    ) {
        (self.lengths, self.heads, self.kvHeads, self.headDim) = (lengths, heads, kvHeads, headDim)
        (self.queries, self.dtype, self.pagedBlock) = (queries, dtype, pagedBlock)
        self.compareFlash = compareFlash
    }

    /// Bytes of keys and values one step reads: every cached position of every kv head.
    public var cacheBytes: Int {
        lengths.reduce(0, +) * kvHeads * 2 * headDim * dtype.byteSize
    }

    /// About what a run allocates at its peak: the contiguous cache, the paged one when
    /// asked (its pool rounds each sequence up to whole blocks), the plain-read buffer of
    /// ``cacheBytes``, one sequence's keys and values generated in f32 before they are
    /// appended, and with ``compareFlash`` the tensors of the flash step (generated in f32,
    /// then in the cache's dtype).
    public var estimatedBytes: Double {
        let row = Double(kvHeads * 2 * headDim)
        let paged =
            pagedBlock.map { block in
                lengths.reduce(0.0) { $0 + Double(($1 + block - 1) / block * block) } * row
                    * Double(dtype.byteSize)
            } ?? 0
        let generated = Double(lengths.max() ?? 0) * row * 4
        let flash =
            compareFlash
            ? Double(lengths.reduce(0, +)) * row * Double(4 + dtype.byteSize) : 0
        return 2 * Double(cacheBytes) + paged + generated + flash
    }
}

/// One measured configuration (JSON keys as printed by `attention bench --decode --json`).
public struct DecodeBenchmarkResult: Codable, Sendable {
    public var cacheLen: Int
    public var totalPositions: Int
    public var batch: Int, heads: Int, kvHeads: Int, headDim: Int, queries: Int
    public var dtype: String
    /// "contiguous" or "paged/<block>".
    public var layout: String
    public var threads: Int
    public var msPerStep: Double
    /// Cache bytes read per step / step time.
    public var gbPerS: Double
    /// A plain read of a buffer of the same size, same threads, same run.
    public var plainReadGbPerS: Double
    public var bandwidthFraction: Double
    /// The decode kernel: "AVX512-BF16" for a bf16 cache multiplied in bf16 pairs, else the
    /// instruction set of the widening kernel (`nil` in results written before it existed).
    public var kernel: String?
    /// The same step on the flash kernel, when compared (`--vs-flash`).
    public var flashMsPerStep: Double?
    /// The same step through the automatic backend on tensors, when compared (`--vs-flash`).
    public var automaticMsPerStep: Double?
    /// Paged rows: the median over the repetitions of this step's time over the contiguous
    /// cache's step in the same repetition (the two are timed back to back).
    public var pagedOverContiguous: Double?
}

/// Times decode steps against a filled cache next to a plain read of a buffer of the same
/// size (the memory-bandwidth ceiling for this step).
public enum DecodeBenchmark {
    /// Throws ``AttentionError`` `.outOfMemoryBudget` when `config` would not fit in
    /// `budget` (see ``DecodeBenchmarkConfiguration/estimatedBytes``).
    public static func checkFits(_ config: DecodeBenchmarkConfiguration, budget: MemoryBudget)
        throws
    {
        let bytes = config.estimatedBytes
        guard bytes <= Double(budget.bytes) else {
            throw AttentionError(
                .outOfMemoryBudget, argument: "lengths",
                "a cache of \(config.lengths.reduce(0, +)) positions × \(config.kvHeads) key/value heads × head dim \(config.headDim) in \(config.dtype) needs about \(formatBytes(bytes)), more than the memory budget \(budget)"
            )
        }
    }

    /// Builds the cache of `config` (random keys and values; with ``DecodeBenchmarkConfiguration/pagedBlock``
    /// a paged cache of the same contents too), then times `repeats` rounds of: a step on
    /// each cache (in alternating order), the ``DecodeBenchmarkConfiguration/compareFlash``
    /// steps, and a plain read. Returns the medians: the contiguous cache's row, then the
    /// paged one's.
    /// - Throws: ``AttentionError`` for configurations the cache or kernel refuse.
    public static func run(
        _ config: DecodeBenchmarkConfiguration, repeats: Int, execution: ExecutionOptions
    ) throws -> [DecodeBenchmarkResult] {
        try checkFits(config, budget: .current())
        let resolved = try execution.resolved()
        let b = config.lengths.count
        let q = Tensor.randomNormal([b, config.heads, config.queries, config.headDim], seed: 1)
        let options = DecodeOptions(execution: execution)
        var cache = try KVCache(
            batch: b, kvHeads: config.kvHeads, headDim: config.headDim,
            capacity: config.lengths.max() ?? 0, dtype: config.dtype)
        var pagedCache = try config.pagedBlock.map { block in
            try PagedKVCache(
                kvHeads: config.kvHeads, headDim: config.headDim, blockSize: block,
                blockCount: config.lengths.reduce(0) { $0 + ($1 + block - 1) / block },
                dtype: config.dtype)
        }
        var ids: [Int] = []
        for (i, n) in config.lengths.enumerated() {
            let (k, v) = randomKV(config, length: n, seed: UInt64(i))
            try cache.append(keys: k, values: v, sequence: i)
            if let id = pagedCache?.addSequence() {
                ids.append(id)
                try pagedCache?.append(keys: k, values: v, sequence: id)
            }
        }
        let (contiguous, paged) = (cache, pagedCache)
        var steps: [() throws -> Void] = [
            { _ = try decodeAttention(query: q, cache: contiguous, options: options) }
        ]
        if let paged {
            steps.append {
                _ = try decodeAttention(query: q, cache: paged, sequences: ids, options: options)
            }
        }
        let compared =
            try config.compareFlash ? tensorSteps(config, query: q, execution: execution) : nil
        let plain = ReadBandwidthBuffer(bytes: config.cacheBytes)
        let threads = resolved.threads
        var times = [[Double]](repeating: [], count: steps.count)
        var reads: [Double] = [], flashes: [Double] = [], automatics: [Double] = []
        for step in steps { try step() }
        try compared?.flash()
        try compared?.automatic()
        plain.read(threads: threads, execution: resolved)
        for r in 0..<Swift.max(1, repeats) {
            for i in 0..<steps.count {
                let s = r % 2 == 0 ? i : steps.count - 1 - i  // alternate which goes first
                times[s] += try Timing.measure(repeats: 1, warmup: 0) { try steps[s]() }
            }
            if let compared {
                flashes += try Timing.measure(repeats: 1, warmup: 0) { try compared.flash() }
                automatics += try Timing.measure(repeats: 1, warmup: 0) {
                    try compared.automatic()
                }
            }
            reads += Timing.measure(repeats: 1, warmup: 0) {
                plain.read(threads: threads, execution: resolved)
            }
        }
        let readMs = Timing.median(reads)
        let gb = Double(config.cacheBytes) / 1e9
        return times.indices.map { s in
            let ms = Timing.median(times[s])
            return DecodeBenchmarkResult(
                cacheLen: config.lengths.max() ?? 0, totalPositions: config.lengths.reduce(0, +),
                batch: b, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim,
                queries: config.queries, dtype: config.dtype.rawValue,
                layout: s == 0 ? "contiguous" : "paged/\(config.pagedBlock!)", threads: threads,
                msPerStep: ms, gbPerS: gb / (ms / 1e3), plainReadGbPerS: gb / (readMs / 1e3),
                bandwidthFraction: readMs / ms,
                kernel: config.dtype == .bf16 && resolved.half.decodesInPairs
                    // the AVX512-BF16 pair kernel, also under the AMX kernels (a step needs no tiles)
                    ? ReducedPrecisionKernel.avx512BF16.description : "\(resolved.instructionSet)",
                flashMsPerStep: s > 0 || flashes.isEmpty ? nil : Timing.median(flashes),
                automaticMsPerStep: s > 0 || automatics.isEmpty ? nil : Timing.median(automatics),
                pagedOverContiguous: s == 0
                    ? nil : Timing.median(zip(times[s], times[0]).map { $0 / $1 }))
        }
    }

    /// The step of `config` through `scaledDotProductAttention` on the cache's shape as
    /// `[B, Hkv, L, D]` tensors of its dtype, bottom-right causal: on the flash kernel, and
    /// with the automatic backend.
    private static func tensorSteps(
        _ config: DecodeBenchmarkConfiguration, query: Tensor, execution: ExecutionOptions
    ) throws -> (flash: () throws -> Void, automatic: () throws -> Void) {
        guard let n = config.lengths.first, config.lengths.allSatisfy({ $0 == n }) else {
            throw AttentionError.argument(
                "compareFlash", "the flash kernel takes sequences of one length")
        }
        let b = config.lengths.count, shape = [b, config.kvHeads, n, config.headDim]
        let k = Tensor.randomNormal(shape, seed: 10).converted(to: config.dtype)
        let v = Tensor.randomNormal(shape, seed: 11).converted(to: config.dtype)
        let q = query.converted(to: config.dtype)
        let flash = AttentionOptions(
            mask: .causalFromBottomRight, backend: .fused, execution: execution)
        var automatic = flash
        automatic.backend = .automatic
        return (
            { _ = try scaledDotProductAttention(query: q, key: k, value: v, options: flash) },
            { _ = try scaledDotProductAttention(query: q, key: k, value: v, options: automatic) }
        )
    }

    private static func randomKV(_ c: DecodeBenchmarkConfiguration, length: Int, seed: UInt64)
        -> (Tensor, Tensor)
    {
        (
            Tensor.randomNormal([c.kvHeads, length, c.headDim], seed: 2 * seed + 10),
            Tensor.randomNormal([c.kvHeads, length, c.headDim], seed: 2 * seed + 11)
        )
    }
}
