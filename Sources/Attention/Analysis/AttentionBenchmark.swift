import Foundation

/// One benchmark configuration of the attention core (or a full layer).
public struct BenchmarkConfiguration: Sendable, Hashable {
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    /// Query positions (`Sq`), and key/value positions too unless ``keyLen`` differs.
    public var seqLen: Int
    /// Key/value positions (`Sk`): cross-attention, or a chunk of queries against a longer
    /// context (attention core only; a layer attends to its own input).
    public var keyLen: Int
    public var headDim: Int
    public var mask: AttentionMask.Name
    public var layer: Bool
    /// Time the backward pass (`scaledDotProductAttentionBackward`) instead of the forward;
    /// the forward output and log-sum-exp it needs are computed once, untimed.
    public var backward: Bool
    /// Element type of query, key and value (attention core only).
    public var dtype: DType

    public init(
        batch: Int, heads: Int, kvHeads: Int? = nil, seqLen: Int, keyLen: Int? = nil,
        headDim: Int, mask: AttentionMask.Name = .none, layer: Bool = false,
        backward: Bool = false, dtype: DType = .f32
    ) {
        self.keyLen = keyLen ?? seqLen
        self.dtype = dtype
        self.backward = backward
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.seqLen = seqLen
        self.headDim = headDim
        self.mask = mask
        self.layer = layer
    }
}

/// The measured outcome of one (configuration, backend) pair. Keys match `attention bench --json`.
public struct BenchmarkResult: Sendable, Codable {
    public var backend: String
    public var batch: Int
    public var heads: Int
    public var kvHeads: Int
    /// Query positions.
    public var seqLen: Int
    /// Key/value positions (`nil` in files written before it existed: `seqLen`).
    public var keyLen: Int?
    public var headDim: Int
    public var causal: Bool
    public var mask: String
    public var layer: Bool
    /// The backward pass was timed; its FLOPs count 2.5× the forward's (FlashAttention-2's
    /// convention: five tile products instead of two).
    public var backward: Bool
    /// Median wall time of the timed runs; `nil` when skipped.
    public var medianMs: Double?
    /// Attention-core FLOPs (visible entries only) / median time.
    public var gflops: Double?
    /// Peak resident memory during the runs (whole process).
    public var peakBytes: Int?
    /// Fraction of the Sq×Sk matrix that is visible.
    public var density: Double
    /// Why the run was skipped, if it was.
    public var skipped: String?
    /// Element type of the inputs (`f32`, `bf16`, `f16`).
    public var dtype: String = "f32"
    /// Which kernel ran: the fp32 instruction set, or for bf16/f16 `AVX512-BF16` or
    /// `portable` (per-tile conversion to the fp32 kernels).
    public var kernel: String? = nil
}

extension AttentionMask {
    /// A mask description usable in a benchmark configuration (hashable, printable).
    public struct Name: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let text: String
        public let mask: AttentionMask
        public init(_ text: String, mask: AttentionMask) { self.text = text; self.mask = mask }
        /// A name in the `--mask` syntax; an unparsable literal is a programming error.
        public init(stringLiteral value: String) {
            self.text = value
            self.mask = try! AttentionMask(parsing: value)
        }
        public static let none: Name = "none"
        public static let causal: Name = "causal"
        public var description: String { text }
        public static func == (a: Name, b: Name) -> Bool { a.text == b.text }
        public func hash(into h: inout Hasher) { h.combine(text) }
        public var isCausal: Bool {
            if case .causal = mask { return true }
            if case .causalFromBottomRight = mask { return true }
            return false
        }
    }
}

/// Runs attention benchmarks: medians of repeated runs, GFLOP/s over visible entries, peak
/// memory, reference runs over the memory limit reported as skipped.
public struct AttentionBenchmark {
    public var repeats: Int
    public var warmup: Int
    public var seed: UInt64
    /// Reference runs whose score matrix would exceed this many bytes are reported as
    /// skipped (default: `execution.memoryLimit`, else
    /// ``AttentionConfiguration/memoryBudget``).
    public var memoryLimit: Int? = nil
    /// How every measured call runs (threads, kernel variant, tile sizes).
    public var execution = ExecutionOptions()

    public init(repeats: Int = 5, warmup: Int = 1, seed: UInt64 = 0) {
        self.repeats = repeats
        self.warmup = warmup
        self.seed = seed
    }

    /// Bytes one run allocates besides the reference path's score matrix: the inputs and the
    /// output (core), or the input, the four projections' outputs and weights and the head
    /// layout copies (layer). Computed in `Double`, so absurd sizes cannot overflow.
    public static func estimatedBytes(_ c: BenchmarkConfiguration) -> Double {
        let (b, h, kv, s, sk, d) = (
            Double(c.batch), Double(c.heads), Double(c.kvHeads), Double(c.seqLen),
            Double(c.keyLen), Double(c.headDim)
        )
        if c.layer {
            let dims = h * d
            // x, Q, K, V, attention output, head-layout copies (2), projected output; 4 weights.
            return 4 * (8 * b * s * dims + 4 * dims * dims + 4 * dims)
        }
        // Q, output (and for the backward dO, dQ) per query head; K, V (and dK, dV) per kv head.
        return 4 * (c.backward ? 2 : 1) * (2 * b * h * s * d + 2 * b * kv * sk * d)
    }

    /// Throws when a run would not fit in `budget` (before anything is allocated).
    /// - Throws: ``AttentionError`` (`.outOfMemoryBudget`) with the estimate and the budget.
    public static func checkFits(_ c: BenchmarkConfiguration, budget: MemoryBudget) throws {
        let bytes = estimatedBytes(c)
        guard bytes <= Double(budget.bytes) else {
            throw AttentionError(
                .outOfMemoryBudget, argument: "size",
                "batch \(c.batch), heads \(c.heads), seq \(c.seqLen)\(c.keyLen == c.seqLen ? "" : ", keys \(c.keyLen)"), head dim \(c.headDim)\(c.layer ? " (layer)" : ""): needs about \(formatBytes(bytes)), more than the memory budget \(budget)"
            )
        }
    }

    /// Measures one configuration with one backend.
    /// - Throws: ``AttentionError`` `.outOfMemoryBudget` when the tensors would not fit in
    ///   ``MemoryBudget/current()`` (checked before allocating); ``AttentionError`` naming
    ///   `keyLen` for a layer whose `keyLen` differs from `seqLen`.
    public func run(_ c: BenchmarkConfiguration, backend: AttentionBackend) throws
        -> BenchmarkResult
    {
        try Self.checkFits(c, budget: .current())
        if c.layer && c.keyLen != c.seqLen {
            throw AttentionError.argument(
                "keyLen",
                "a layer attends to its own input: keyLen must equal seqLen (\(c.seqLen)), got \(c.keyLen)"
            )
        }
        let mask = c.mask.mask
        let (sq, sk) = (c.seqLen, c.keyLen)
        let density =
            sq <= 4096 && sk <= 4096
            ? mask.density(queries: sq, keys: sk) : estimatedDensity(mask, queries: sq, keys: sk)
        var result = BenchmarkResult(
            backend: backend.rawValue, batch: c.batch, heads: c.heads, kvHeads: c.kvHeads,
            seqLen: sq, keyLen: sk,
            headDim: c.headDim, causal: c.mask.isCausal, mask: c.mask.text, layer: c.layer,
            backward: c.backward, medianMs: nil,
            gflops: nil, peakBytes: nil, density: density, skipped: nil)
        result.dtype = c.dtype.rawValue
        var execution = self.execution
        let resolved = try execution.resolved()
        result.kernel =
            c.backward && !c.layer
            ? backend == .reference
                ? (c.dtype == .f32 ? "" : "widened, ") + resolved.instructionSet.description
                : FlashBackward.kernelDescription(
                    dtype: c.dtype, headDim: c.headDim, valueDim: c.headDim, execution: resolved)
            : c.dtype == .f32
                ? resolved.instructionSet.description
                : resolved.half.kernel.productsDescription(c.dtype)
        execution.memoryLimit =
            memoryLimit ?? execution.memoryLimit ?? AttentionConfiguration.memoryBudget
        if backend == .reference, let limit = execution.memoryLimit {
            let bytes = AttentionComplexity.scoreMatrixBytes(
                batch: c.batch, heads: c.heads, queries: sq, keys: sk)
            if bytes > Double(limit) {
                result.skipped =
                    "needs \(formatBytes(bytes)) for scores (limit \(formatBytes(Double(limit))))"
                return result
            }
        }
        let body: () throws -> Void
        var flops = AttentionComplexity.flops(
            batch: c.batch, heads: c.heads, queries: sq, keys: sk,
            headDim: c.headDim, density: density)
        if c.layer {
            let dims = c.heads * c.headDim
            // No biases, as the seed's layers and PyTorch's `nn.Linear(…, bias=False)` ×4.
            let layer = try MultiHeadAttention(
                dimensions: dims, numHeads: c.heads, bias: false, seed: seed)
            let x = Tensor.randomNormal([c.batch, c.seqLen, dims], seed: seed &+ 1)
            flops += 4 * 2 * Double(c.batch * c.seqLen) * Double(dims * dims)  // four projections
            body = { _ = try layer(x, mask: mask, backend: backend, execution: execution) }
        } else {
            let q = Tensor.randomNormal([c.batch, c.heads, c.seqLen, c.headDim], seed: seed)
                .converted(to: c.dtype)
            let k = Tensor.randomNormal([c.batch, c.kvHeads, sk, c.headDim], seed: seed &+ 1)
                .converted(to: c.dtype)
            let v = Tensor.randomNormal([c.batch, c.kvHeads, sk, c.headDim], seed: seed &+ 2)
                .converted(to: c.dtype)
            var options = AttentionOptions(mask: mask, backend: backend, execution: execution)
            if c.backward {
                options.returnLogSumExp = true
                let forward = try scaledDotProductAttention(
                    query: q, key: k, value: v, options: options)
                let gradOutput = Tensor.randomNormal(forward.output.shape, seed: seed &+ 3)
                    .converted(to: c.dtype)
                flops *= 2.5
                body = {
                    _ = try scaledDotProductAttentionBackward(
                        gradOutput: gradOutput, query: q, key: k, value: v,
                        output: forward.output, logSumExp: forward.logSumExp!, options: options)
                }
            } else {
                body = {
                    _ = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
                }
            }
        }
        MemoryProbe.resetPeak()
        let times = try Timing.measure(repeats: repeats, warmup: warmup, body)
        let median = Timing.median(times)
        result.medianMs = median
        result.gflops = flops / (median * 1e6)
        result.peakBytes = MemoryProbe.peakBytes
        return result
    }

    /// Density from a sample of rows, for lengths where counting every entry is slow.
    func estimatedDensity(_ mask: AttentionMask, queries sq: Int, keys sk: Int) -> Double {
        let blocks = BlockMask(
            mask: mask, queries: sq, keys: sk, queryBlockSize: 256, keyBlockSize: 256)
        var visible = 0.0
        let rows = Array(stride(from: 0, to: sq, by: Swift.max(1, sq / 64)))
        for i in rows {
            for (kb, _) in blocks.visits(forQueryBlock: i / 256) {
                for j in (kb * 256)..<Swift.min(sk, kb * 256 + 256)
                where mask.isVisible(query: i, key: j, queries: sq, keys: sk) {
                    visible += 1
                }
            }
        }
        return visible / Double(rows.count * sk)
    }

    /// GFLOP/s of a square float32 matrix multiply under `execution`: the machine's
    /// ceiling the attention figures can be read against.
    public static func gemmGFLOPs(
        size n: Int = 1024, repeats: Int = 5, execution: ExecutionOptions = ExecutionOptions()
    ) throws -> Double {
        let a = Tensor.randomNormal([n, n], seed: 1), b = Tensor.randomNormal([n, n], seed: 2)
        let times = try Timing.measure(repeats: repeats) {
            _ = try a.matmul(b, execution: execution)
        }
        return 2 * Double(n) * Double(n) * Double(n) / (Timing.median(times) * 1e6)
    }

    /// GFLOP/s of a `Linear(dims, dims)` layer without bias on `rows` rows (`[rows, dims] ×
    /// [dims, dims]`): the projections of a `MultiHeadAttention` layer, to set beside a BLAS
    /// on the same shape (scripts/bench_pytorch_layer.py).
    /// With `weightDType: .bf16` the layer holds bf16 weights (the AVX512-BF16 GEMM where the
    /// call runs it).
    public static func linearGFLOPs(
        rows: Int, dims: Int, repeats: Int = 5, execution: ExecutionOptions = ExecutionOptions(),
        weightDType: DType = .f32
    ) throws -> Double {
        let f32 = try Linear(dims, dims, bias: false, seed: 1)
        let layer = try Linear(weight: f32.weight.converted(to: weightDType))
        let x = Tensor.randomNormal([rows, dims], seed: 2)
        let times = try Timing.measure(repeats: repeats) {
            _ = try layer(x, execution: execution)
        }
        return 2 * Double(rows) * Double(dims) * Double(dims) / (Timing.median(times) * 1e6)
    }
}
