import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `run` keeps the inputs' dtype (and `--dtype` converts), `bench --dtype` reports it.
extension RunCommandTests {
    @Test func bf16InBF16Out() throws {
        let q = Tensor.randomNormal([1, 2, 9, 8], seed: 1).converted(to: .bf16)
        let k = Tensor.randomNormal([1, 2, 13, 8], seed: 2).converted(to: .bf16)
        let v = Tensor.randomNormal([1, 2, 13, 8], seed: 3).converted(to: .bf16)
        try SafetensorsFile.write(["query": q, "key": k, "value": v], to: path("in.safetensors"))
        try run([
            "run", "--input", path("in.safetensors"), "--output", path("out.safetensors"),
            "--mask", "causal", "--return-lse",
        ])
        let file = try SafetensorsFile(contentsOf: path("out.safetensors"))
        #expect(try file.dtype(of: "output") == .bf16 && file.dtype(of: "lse") == .f32)
        let expected = try scaledDotProductAttention(query: q, key: k, value: v, mask: .causal)
        #expect(try file.tensor(named: "output").bits == expected.bits)

        // --dtype converts first: f16 out, computed from the f16-rounded inputs.
        try run([
            "run", "--input", path("in.safetensors"), "--output", path("f16.safetensors"),
            "--dtype", "f16",
        ])
        let f16 = try SafetensorsFile(contentsOf: path("f16.safetensors"))
        #expect(try f16.dtype(of: "output") == .f16)
        #expect {
            _ = try AttentionCommand.parseAsRoot([
                "run", "--input", "a", "--output", "b", "--dtype", "f8",
            ])
        } throws: { "\($0)".contains("--dtype expects f32, bf16 or f16") }
    }

    @Test func benchReportsDTypeAndKernel() throws {
        let json = path("bench.json")
        try run([
            "bench", "--batch", "1", "--heads", "2", "--head-dim", "8", "--seq-lens", "20",
            "--backends", "fused", "--dtype", "f32,bf16,f16", "--repeats", "1", "--no-gemm",
            "--json", json,
        ])
        let rows = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
                as? [[String: Any]])
        #expect(rows.compactMap { $0["dtype"] as? String } == ["f32", "bf16", "f16"])
        let kernels = rows.compactMap { $0["kernel"] as? String }
        // The default kernel: bf16 on its products (AMX-FP16's bf16 products are AMX-BF16's),
        // f16 widened except on AMX-FP16.
        let best = ReducedPrecisionKernel.supported.last ?? .portable
        #expect(kernels.count == 3)
        #expect(kernels[1] == (best == .amxFP16 ? "AMX-BF16" : best.description))
        #expect(kernels[2] == (best == .amxFP16 ? "AMX-FP16" : "portable"))
        for bad in [["--dtype", "f32,f64"], ["--dtype", "bf16", "--layer"]] {
            #expect(throws: (any Error).self) {
                _ = try AttentionCommand.parseAsRoot(["bench"] + bad)
            }
        }
    }
}
