import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention bench --kv-lens`: queries against a different number of keys (cross-attention,
/// a chunk against a longer context). Each --seq-lens length runs against each --kv-lens
/// length; the JSON says both, and density and FLOPs count Sq × Sk.
@Suite struct BenchKeyLengthTests {
    /// Runs a tiny `bench` (B 1, H 2, D 8, one repeat, one thread) and returns its JSON rows.
    func rows(_ extra: [String]) throws -> [[String: Any]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bench-kv-\(UUID()).json"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var command = try AttentionCommand.parseAsRoot(
            [
                "bench", "--batch", "1", "--heads", "2", "--head-dim", "8", "--repeats", "1",
                "--threads", "1", "--no-gemm", "--json", path,
            ] + extra)
        try command.run()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }

    @Test func everyQueryLengthRunsAgainstEveryKeyLength() throws {
        let result = try rows([
            "--seq-lens", "3,40", "--kv-lens", "50,7", "--mask", "causal-bottom-right",
            "--backends", "reference,fused",
        ])
        #expect(result.count == 2 * 2 * 2)
        var seen = Set<[Int]>()
        for row in result {
            let sq = try #require(row["seqLen"] as? Int), sk = try #require(row["keyLen"] as? Int)
            seen.insert([sq, sk])
            // Query i sees keys 0 … i + Sk − Sq: Σ_i clamp(i + Sk − Sq + 1, 0, Sk) / (Sq·Sk).
            let visible = (0..<sq).reduce(0) { $0 + min(sk, max(0, $1 + sk - sq + 1)) }
            let density = try #require(row["density"] as? Double)
            #expect(abs(density - Double(visible) / Double(sq * sk)) < 1e-12, "\(sq)×\(sk)")
            // GFLOP/s = 4·B·H·Sq·Sk·D·density / time.
            let ms = try #require(row["medianMs"] as? Double)
            let gflops = try #require(row["gflops"] as? Double)
            let flops = 4.0 * 2 * Double(sq * sk) * 8 * density
            #expect(abs(gflops - flops / (ms * 1e6)) <= 1e-9 * gflops, "\(sq)×\(sk)")
        }
        #expect(seen == [[3, 50], [3, 7], [40, 50], [40, 7]])
    }

    @Test func withoutTheFlagKeysEqualQueries() throws {
        for row in try rows(["--seq-lens", "12", "--backends", "fused"]) {
            #expect(row["seqLen"] as? Int == 12)
            #expect(row["keyLen"] as? Int == 12)
        }
    }

    @Test func badUsesAreRefusedBeforeAnyWork() {
        for arguments in [
            ["bench", "--kv-lens", "0"], ["bench", "--kv-lens", "5,x"],
            ["bench", "--kv-lens", "64", "--layer"], ["bench", "--kv-lens", "64", "--decode"],
            // A mask that does not fit Sq × Sk names both flags.
            ["bench", "--seq-lens", "8", "--kv-lens", "16", "--mask", "blocks:8"],
        ] {
            do {
                _ = try AttentionCommand.parseAsRoot(arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                let message = AttentionCommand.message(for: error)
                #expect(message.contains("--kv-lens") || message.contains("--mask"), "\(message)")
            }
        }
        do {
            _ = try AttentionCommand.parseAsRoot([
                "bench", "--seq-lens", "8", "--kv-lens", "16", "--mask", "blocks:8",
            ])
            Issue.record("a mask that does not fit Sq × Sk was accepted")
        } catch {
            let message = AttentionCommand.message(for: error)
            #expect(message.contains("--seq-lens 8 --kv-lens 16"), "\(message)")
        }
    }
}
