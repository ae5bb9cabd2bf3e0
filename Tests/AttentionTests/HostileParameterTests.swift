import Foundation
import Testing

@testable import Attention

/// Numbers a hostile caller can pass: each is a thrown ``AttentionError`` naming the argument,
/// never an arithmetic trap or a huge allocation.
@Suite struct HostileParameterTests {
    static let big = Int.max

    @Test(arguments: [
        "window:\(big),\(big)", "window:\(big)", "dilated:window=\(big),dilation=\(big)",
        "dilated:window=3000000,dilation=3000000", "bigbird-blocks:block=\(big)",
        "bigbird:window=\(big),global=\(big),random=1", "strided:\(big)",
        "sparse-fixed:block=\(big),summary=0", "blocks:\(big),\(big),\(big)", "prefix:\(big)",
        "longformer:window=\(big)", "longformer:window=2,global=[0,\(big)]",
        "window:123456789012345678901234567890",
    ])
    func parsedParametersAreBounded(text: String) {
        let error = #expect(throws: AttentionError.self) { try AttentionMask(parsing: text) }
        #expect(error?.argument == "--mask")
        #expect(
            error?.message.contains("2^40") == true
                || error?.message.contains("out of range") == true, "\(error?.message ?? "")")
    }

    @Test func constructedParametersAreBounded() {
        let masks: [AttentionMask] = [
            .slidingWindow(left: .max, right: .max), .dilatedWindow(window: .max, dilation: .max),
            .bigBirdBlocks(blockSize: .max, seed: 0), .prefixLM(prefixLength: .max),
            .blockDiagonal(lengths: [.max, .max]), .strided(stride: .max),
            .and(.causal, .slidingWindow(left: 0, right: .max)),
        ]
        for mask in masks {
            let error = #expect(throws: AttentionError.self) {
                try mask.validate(batch: 1, heads: 1, queries: 8, keys: 8)
            }
            #expect(error?.argument == "mask")
        }
        // At the bound a window is valid, and its evaluation cannot overflow.
        let wide = AttentionMask.slidingWindow(
            left: AttentionMask.maxParameter, right: AttentionMask.maxParameter)
        #expect(throws: Never.self) { try wide.validate(batch: 1, heads: 1, queries: 8, keys: 8) }
        #expect(wide.density(queries: 8, keys: 8) == 1)
    }

    /// A leading count is kept as a count: 2^40 globals cost nothing until validation, which
    /// refuses them against the sequence length.
    @Test func hugeLongformerGlobalsAreValidatedNotBuilt() throws {
        let mask = try AttentionMask(parsing: "longformer:window=4,global=1099511627776")
        let error = #expect(throws: AttentionError.self) {
            try mask.validate(batch: 1, heads: 1, queries: 8, keys: 8)
        }
        #expect(
            error?.message == "longformer needs global ≤ max(queries, keys) (8), got 1099511627776")
        // Leading counts and the equivalent list are the same set, with the same visibility.
        let leading = AttentionMask.GlobalTokens.leading(3),
            list: AttentionMask.GlobalTokens = [2, 0, 1]
        #expect(leading == list && leading.positions == [0, 1, 2])
        let a = AttentionMask.longformer(window: 2, globalTokens: leading)
        let b = AttentionMask.longformer(window: 2, globalTokens: [0, 1, 2, 5])
        for i in 0..<8 {
            for j in 0..<8 {
                let inWindow = abs(i - j) <= 1
                #expect(
                    a.isVisible(query: i, key: j, queries: 8, keys: 8)
                        == (inWindow || i < 3 || j < 3))
                #expect(
                    b.isVisible(query: i, key: j, queries: 8, keys: 8)
                        == (inWindow || [0, 1, 2, 5].contains(i) || [0, 1, 2, 5].contains(j)))
            }
        }
    }

    @Test func nestingAndCombinationsAreBounded() {
        let deep =
            String(repeating: "(", count: 100_000) + "causal"
            + String(repeating: ")", count: 100_000)
        #expect(throws: AttentionError.self) { try AttentionMask(parsing: deep) }
        let long = Array(repeating: "causal", count: 300).joined(separator: "+")
        #expect(throws: AttentionError.self) { try AttentionMask(parsing: long) }
        #expect(throws: Never.self) {
            try AttentionMask(
                parsing: Array(repeating: "causal", count: 200).joined(separator: "+"))
        }
    }

    @Test func publicInitializersThrowInsteadOfTrapping() {
        #expect(throws: AttentionError.self) { try Tensor(shape: [-1, 2], repeating: 0) }
        #expect(throws: AttentionError.self) { try Tensor(shape: [.max, 2], repeating: 0) }
        #expect(throws: AttentionError.self) { try Tensor(shape: [1 << 32, 1 << 32], scalars: []) }
        #expect(throws: AttentionError.self) { try Linear(0, 3) }
        #expect(throws: AttentionError.self) { try Linear(3, -1) }
        #expect(throws: AttentionError.self) { try Linear(.max, 2) }
        #expect(throws: AttentionError.self) { try ALiBi.slopes(heads: -1) }
        #expect(throws: AttentionError.self) { try ALiBi.slopes(heads: .max) }
        #expect(throws: AttentionError.self) { try ALiBi(heads: .max, form: .causal) }
        #expect(throws: AttentionError.self) {
            try SinusoidalPositionalEncoding(dimensions: .max, maxLength: 4)
        }
        #expect(throws: AttentionError.self) {
            try LearnedPositionalEncoding(dimensions: 1 << 40, maxLength: 1 << 40)
        }
    }
}

/// The memory budget: the smallest of half the RAM and the headroom under each limit.
@Suite struct MemoryBudgetTests {
    static let gb: UInt64 = 1 << 30

    @Test func smallestLimitWins() {
        let free = MemoryBudget(
            physicalMemory: 16 * Self.gb, addressSpace: nil, data: nil, cgroup: nil)
        #expect(free.bytes == Int(8 * Self.gb) && free.source.hasPrefix("half of physical memory"))
        let ulimit = MemoryBudget(
            physicalMemory: 16 * Self.gb, addressSpace: .init(limit: 3 * Self.gb, used: Self.gb),
            data: nil, cgroup: nil)
        #expect(ulimit.bytes == Int(2 * Self.gb) && ulimit.source.hasPrefix("ulimit -v"))
        let data = MemoryBudget(
            physicalMemory: 16 * Self.gb, addressSpace: .init(limit: 3 * Self.gb, used: Self.gb),
            data: .init(limit: Self.gb, used: Self.gb / 2), cgroup: nil)
        #expect(data.bytes == Int(Self.gb / 2) && data.source.hasPrefix("ulimit -d"))
        let cgroup = MemoryBudget(
            physicalMemory: 16 * Self.gb, addressSpace: nil, data: nil,
            cgroup: .init(limit: 2 * Self.gb, used: 3 * Self.gb))
        #expect(cgroup.bytes == 0 && cgroup.source.hasPrefix("the cgroup memory limit"))
    }

    /// What a KV cache page may never exceed: the physical memory, or a lower cgroup limit
    /// (the limit, not its headroom).
    @Test func allocationCeiling() {
        let free = MemoryBudget.ceiling(physicalMemory: 16 * Self.gb, cgroup: nil)
        #expect(free.bytes == 16 * Self.gb && free.description.hasPrefix("physical memory"))
        let container = MemoryBudget.ceiling(
            physicalMemory: 16 * Self.gb, cgroup: .init(limit: 4 * Self.gb, used: 3 * Self.gb))
        #expect(container.bytes == 4 * Self.gb)
        #expect(container.description.hasPrefix("the cgroup memory limit"))
        let loose = MemoryBudget.ceiling(
            physicalMemory: 16 * Self.gb, cgroup: .init(limit: 64 * Self.gb, used: 0))
        #expect(loose.bytes == 16 * Self.gb)
        #expect(MemoryBudget.allocationCeiling().bytes <= ProcessInfo.processInfo.physicalMemory)
    }

    @Test func cgroupFiles() {
        #expect(
            MemoryBudget.cgroupLimit(v2Max: "max\n", v2Current: "5", v1Limit: nil, v1Usage: nil)
                == nil)
        #expect(
            MemoryBudget.cgroupLimit(
                v2Max: "1073741824\n", v2Current: "1000\n", v1Limit: nil, v1Usage: nil)
                == .init(limit: 1 << 30, used: 1000))
        #expect(
            MemoryBudget.cgroupLimit(
                v2Max: nil, v2Current: nil, v1Limit: "9223372036854771712", v1Usage: "1") == nil)
        #expect(
            MemoryBudget.cgroupLimit(v2Max: nil, v2Current: nil, v1Limit: "2048", v1Usage: "1024")
                == .init(limit: 2048, used: 1024))
    }

    @Test func benchmarkSizesAreCheckedBeforeAllocating() throws {
        let budget = MemoryBudget(
            physicalMemory: 2 * Self.gb, addressSpace: nil, data: nil, cgroup: nil)
        // 4 · (2·B·H·S·D + 2·B·Hkv·S·D) bytes: 16 MiB for 8·8·256·64.
        let small = BenchmarkConfiguration(batch: 8, heads: 8, seqLen: 256, headDim: 64)
        #expect(AttentionBenchmark.estimatedBytes(small) == 16 * 1_048_576)
        // Sq ≠ Sk: Q and O per query position, K and V per key position (GQA: per kv head),
        // doubled for the backward: 4 · 2 · (2·2·4·64·32 + 2·2·1·1000·32) bytes.
        let keys = BenchmarkConfiguration(
            batch: 2, heads: 4, kvHeads: 1, seqLen: 64, keyLen: 1000, headDim: 32,
            backward: true)
        #expect(AttentionBenchmark.estimatedBytes(keys) == 4 * 2 * (32_768 + 128_000))
        try AttentionBenchmark.checkFits(small, budget: budget)
        for c in [
            BenchmarkConfiguration(batch: .max, heads: .max, seqLen: .max, headDim: .max),
            BenchmarkConfiguration(
                batch: 1000, heads: 64, seqLen: 4096, headDim: 1024, layer: true),
        ] {
            let error = #expect(throws: AttentionError.self) {
                try AttentionBenchmark.checkFits(c, budget: budget)
            }
            #expect(error?.kind == .outOfMemoryBudget)
            #expect(
                error?.message.contains("memory budget 1.0 GiB") == true, "\(error?.message ?? "")")
        }
    }
}
