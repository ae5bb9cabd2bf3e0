import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention bench --decode`: flags are checked before any work; a tiny run writes the
/// documented JSON keys.
@Suite struct DecodeBenchTests {
    @Test func badFlagsAreRefused() {
        for arguments in [
            ["bench", "--decode", "--dtype", "float8"], ["bench", "--decode", "--queries", "17"],
            ["bench", "--decode", "--cache-lens", "0"],
            ["bench", "--decode", "--paged-block", "0"],
            ["bench", "--decode", "--batch-lens", "5,x"],
            ["bench", "--decode", "--batch-lens", "40,50", "--vs-flash"],
        ] {
            #expect(throws: (any Error).self, "\(arguments)") {
                _ = try AttentionCommand.parseAsRoot(arguments)
            }
        }
    }

    /// Runs a tiny `bench --decode` (4 heads, 2 KV heads, D = 16, a 40-position bf16 cache,
    /// one repeat, one thread) with `extra` flags and returns its JSON rows.
    func decodeRows(_ extra: [String]) throws -> [[String: Any]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "decode-\(UUID()).json"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var command = try AttentionCommand.parseAsRoot(
            [
                "bench", "--decode", "--heads", "4", "--kv-heads", "2", "--head-dim", "16",
                "--cache-lens", "40", "--dtype", "bf16", "--repeats", "1", "--threads", "1",
                "--json", path,
            ] + extra)
        try command.run()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }

    @Test func jsonHasTheDocumentedKeys() throws {
        let rows = try decodeRows(["--paged-block", "16"])
        #expect(rows.count == 2)  // contiguous and paged
        for row in rows {
            for key in ["cacheLen", "gbPerS", "bandwidthFraction", "msPerStep", "layout", "kernel"]
            {
                #expect(row[key] != nil, "\(key)")
            }
            #expect(row["cacheLen"] as? Int == 40)
        }
        // Only the paged row compares itself with the contiguous one, timed alternately.
        #expect(rows.map { $0["layout"] as? String } == ["contiguous", "paged/16"])
        #expect(rows[0]["pagedOverContiguous"] == nil)
        // One repetition: the median ratio is the ratio of the two rows' step times.
        let ratio = try #require(rows[1]["pagedOverContiguous"] as? Double)
        let ms = rows.map { $0["msPerStep"] as? Double ?? .nan }
        #expect(abs(ratio - ms[1] / ms[0]) <= 1e-9 * ratio, "\(ratio) vs \(ms)")
    }

    /// The memory estimate, in closed form: a 40-position bf16 cache (2 KV heads, D = 16:
    /// 40·2·2·16·2 = 5120 bytes), its plain-read buffer of the same size, one sequence
    /// generated in f32 (40·2·2·16·4 = 10240), and with blocks of 16 a paged copy rounded to
    /// 48 positions (6144) that lives next to the contiguous one.
    @Test func estimatedBytesCountsBothCaches() {
        var config = DecodeBenchmarkConfiguration(
            lengths: [40], heads: 4, kvHeads: 2, headDim: 16, dtype: .bf16)
        #expect(config.cacheBytes == 5120)
        #expect(config.estimatedBytes == 2 * 5120 + 10240)
        config.pagedBlock = 16
        #expect(config.estimatedBytes == 2 * 5120 + 6144 + 10240)
    }

    /// A cache larger than the memory budget is refused before anything is allocated (it
    /// used to be allocated and filled: an abort, or the OOM killer). 16M positions × 8 KV
    /// heads × D = 128 in f32 is 128 GB.
    @Test func cachesOverTheMemoryBudgetAreRefused() throws {
        var command = try AttentionCommand.parseAsRoot([
            "bench", "--decode", "--heads", "32", "--kv-heads", "8", "--head-dim", "128",
            "--cache-lens", "16000000", "--repeats", "1", "--threads", "1",
        ])
        #expect {
            try command.run()
        } throws: { error in
            "\(error)".contains("refusing to run") && "\(error)".contains("--cache-lens")
        }
        // In decode mode the message is about the cache, not the plain bench's --seq-lens.
        var wide = try AttentionCommand.parseAsRoot([
            "bench", "--decode", "--heads", "4096", "--kv-heads", "4096", "--head-dim", "4096",
            "--cache-lens", "4096",
        ])
        #expect {
            try wide.run()
        } throws: { error in
            "\(error)".contains("--cache-lens") && !"\(error)".contains("--seq-lens")
        }
        let config = DecodeBenchmarkConfiguration(
            lengths: [16_000_000], heads: 32, kvHeads: 8, headDim: 128)
        #expect(throws: AttentionError.self) {
            try DecodeBenchmark.run(config, repeats: 1, execution: ExecutionOptions(threads: 1))
        }
    }

    /// `--vs-flash` times the flash kernel on the same step (contiguous rows only).
    @Test func vsFlashAddsTheFlashKernelsTime() throws {
        let rows = try decodeRows(["--vs-flash", "--paged-block", "16"])
        #expect(rows.count == 2)
        for key in ["flashMsPerStep", "automaticMsPerStep"] {
            let ms = rows.map { $0[key] as? Double }
            #expect(ms[0].map { $0 > 0 } == true, "contiguous \(key): \(rows[0])")
            #expect(ms[1] == nil, "paged \(key): \(rows[1])")
        }
        #expect(try decodeRows([]).first?["flashMsPerStep"] == nil)
    }

    /// `--half-kernel` reaches the decode benchmark: portable widens a bf16 cache (the row
    /// names the instruction set), AVX512-BF16 multiplies in pairs.
    @Test func halfKernelChoosesTheDecodePath() throws {
        var kernels: [String: String] = [:]
        for choice in ["portable"]
            + (ReducedPrecisionKernel.supported.contains(.avx512BF16) ? ["avx512-bf16"] : [])
        {
            kernels[choice] = try decodeRows(["--half-kernel", choice]).first?["kernel"] as? String
        }
        #expect(kernels["portable"] != nil && kernels["portable"] != "AVX512-BF16")
        if kernels.count == 2 { #expect(kernels["avx512-bf16"] == "AVX512-BF16") }
    }
}
