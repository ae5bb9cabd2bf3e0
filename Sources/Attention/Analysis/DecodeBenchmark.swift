import Foundation

/// One decode-step configuration for ``DecodeBenchmark``.
public struct DecodeBenchmarkConfiguration: Sendable {
    /// Cached positions per sequence (one entry per sequence of the batch).
    public var lengths: [Int]
    public var heads: Int, kvHeads: Int, headDim: Int
    /// New query positions per sequence (1 for plain decoding).
    public var queries: Int
    public var dtype: DType
    /// Block size of a ``PagedKVCache``, or `nil` for a contiguous ``KVCache``.
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

    /// About what a run allocates at its peak: the cache (a paged pool rounds each sequence
    /// up to whole blocks), the plain-read buffer of the same size, one sequence's keys and
    /// values generated in f32 before they are appended, and with ``compareFlash`` the
    /// tensors of the flash step (generated in f32, then in the cache's dtype).
    public var estimatedBytes: Double {
        let row = Double(kvHeads * 2 * headDim)
        let positions = lengths.reduce(0.0) { total, n in
            total + Double(pagedBlock.map { (n + $0 - 1) / $0 * $0 } ?? n)
        }
        let cache = positions * row * Double(dtype.byteSize)
        let generated = Double(lengths.max() ?? 0) * row * 4
        let flash =
            compareFlash
            ? Double(lengths.reduce(0, +)) * row * Double(4 + dtype.byteSize) : 0
        return 2 * cache + generated + flash
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

    /// Builds the cache of `config` (random keys and values), then times `repeats` steps
    /// and `repeats` plain reads, interleaved; returns the medians.
    /// - Throws: ``AttentionError`` for configurations the cache or kernel refuse.
    public static func run(
        _ config: DecodeBenchmarkConfiguration, repeats: Int, execution: ExecutionOptions
    ) throws -> DecodeBenchmarkResult {
        try checkFits(config, budget: .current())
        let resolved = try execution.resolved()
        let b = config.lengths.count
        let q = Tensor.randomNormal([b, config.heads, config.queries, config.headDim], seed: 1)
        let options = DecodeOptions(execution: execution)
        let step: () throws -> Void
        if let block = config.pagedBlock {
            let blocks = config.lengths.reduce(0) { $0 + ($1 + block - 1) / block }
            var cache = try PagedKVCache(
                kvHeads: config.kvHeads, headDim: config.headDim, blockSize: block,
                blockCount: blocks, dtype: config.dtype)
            var ids: [Int] = []
            for (i, n) in config.lengths.enumerated() {
                ids.append(cache.addSequence())
                let (k, v) = randomKV(config, length: n, seed: UInt64(i))
                try cache.append(keys: k, values: v, sequence: ids[i])
            }
            let c = cache
            step = { _ = try decodeAttention(query: q, cache: c, sequences: ids, options: options) }
        } else {
            var cache = try KVCache(
                batch: b, kvHeads: config.kvHeads, headDim: config.headDim,
                capacity: config.lengths.max() ?? 0, dtype: config.dtype)
            for (i, n) in config.lengths.enumerated() {
                let (k, v) = randomKV(config, length: n, seed: UInt64(i))
                try cache.append(keys: k, values: v, sequence: i)
            }
            let c = cache
            step = { _ = try decodeAttention(query: q, cache: c, options: options) }
        }
        let compared =
            try config.compareFlash ? tensorSteps(config, query: q, execution: execution) : nil
        let plain = ReadBandwidthBuffer(bytes: config.cacheBytes)
        let threads = resolved.threads
        var steps: [Double] = [], reads: [Double] = [], flashes: [Double] = []
        var automatics: [Double] = []
        try step()
        try compared?.flash()
        try compared?.automatic()
        plain.read(threads: threads, execution: resolved)
        for _ in 0..<Swift.max(1, repeats) {
            steps += try Timing.measure(repeats: 1, warmup: 0) { try step() }
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
        let ms = Timing.median(steps), readMs = Timing.median(reads)
        let gb = Double(config.cacheBytes) / 1e9
        return DecodeBenchmarkResult(
            cacheLen: config.lengths.max() ?? 0, totalPositions: config.lengths.reduce(0, +),
            batch: b, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim,
            queries: config.queries, dtype: config.dtype.rawValue,
            layout: config.pagedBlock.map { "paged/\($0)" } ?? "contiguous", threads: threads,
            msPerStep: ms, gbPerS: gb / (ms / 1e3), plainReadGbPerS: gb / (readMs / 1e3),
            bandwidthFraction: readMs / ms,
            kernel: config.dtype == .bf16 && resolved.half.decodesInPairs
                // the AVX512-BF16 pair kernel, also under the AMX kernels (a step needs no tiles)
                ? ReducedPrecisionKernel.avx512BF16.description : "\(resolved.instructionSet)",
            flashMsPerStep: flashes.isEmpty ? nil : Timing.median(flashes),
            automaticMsPerStep: automatics.isEmpty ? nil : Timing.median(automatics))
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
