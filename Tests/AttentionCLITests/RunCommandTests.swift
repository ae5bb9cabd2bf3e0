import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention run` end to end on files in a temporary folder, and `bench`/`demo` parsing.
@Suite struct RunCommandTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "run-tests-\(UUID())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func run(_ arguments: [String]) throws {
        var command = try AttentionCommand.parseAsRoot(arguments)
        try command.run()
    }

    @Test func computesWhatTheLibraryComputes() throws {
        let q = Tensor.randomNormal([2, 4, 9, 8], seed: 1),
            k = Tensor.randomNormal([2, 2, 13, 8], seed: 2)
        let v = Tensor.randomNormal([2, 2, 13, 5], seed: 3)
        var mask = try Tensor(shape: [9, 13], repeating: 1)
        mask[3, 0] = 0
        try SafetensorsFile.write(
            [("query", q, .f32), ("key", k, .f32), ("value", v, .f32), ("mask", mask, .bool)],
            to: path("in.safetensors"))
        for backend in ["fused", "reference"] {
            try run([
                "run", "--input", path("in.safetensors"), "--output",
                path("out-\(backend).safetensors"),
                "--mask", "causal-bottom-right", "--backend", backend, "--return-lse",
            ])
            let file = try SafetensorsFile(contentsOf: path("out-\(backend).safetensors"))
            let expected = try scaledDotProductAttention(
                query: q, key: k, value: v,
                options: .init(
                    mask: .and(.causalFromBottomRight, .dense(mask)),
                    backend: backend == "fused" ? .fused : .reference))
            #expect(try file.tensor(named: "output").maxAbsDifference(expected.output) <= 1e-6)
            #expect(try file.shape(of: "lse") == [2, 4, 9])
            #expect(file.metadata["backend"] == backend)
        }
        try run([
            "run", "--input", path("in.safetensors"), "--output", path("w.safetensors"),
            "--return-weights",
            "--alibi", "symmetric", "--rope", "interleaved", "--rope-scaling", "yarn:4,orig=8",
        ])
        #expect(
            try SafetensorsFile(contentsOf: path("w.safetensors")).shape(of: "weights") == [
                2, 4, 9, 13,
            ])
    }

    /// A few queries against many keys run on the decode kernel with the default backend
    /// (the metadata says so) and agree with the reference and flash backends.
    @Test(arguments: [DType.f32, .bf16])
    func fewQueriesRunOnTheDecodeKernel(_ dtype: DType) throws {
        let q = Tensor.randomNormal([1, 8, 3, 16], seed: 4).converted(to: dtype)
        let k = Tensor.randomNormal([1, 2, 300, 16], seed: 5).converted(to: dtype)
        let v = Tensor.randomNormal([1, 2, 300, 16], seed: 6).converted(to: dtype)
        let input = path("few-\(dtype).safetensors")
        try SafetensorsFile.write(["query": q, "key": k, "value": v], to: input)
        var outputs: [String: SafetensorsFile] = [:]
        for backend in ["auto", "fused", "reference"] {
            let output = path("few-\(dtype)-\(backend).safetensors")
            try run([
                "run", "--input", input, "--output", output, "--mask", "causal-bottom-right",
                "--alibi", "causal", "--backend", backend, "--return-lse",
            ])
            outputs[backend] = try SafetensorsFile(contentsOf: output)
        }
        #expect(outputs["auto"]?.metadata["reason"]?.contains("decode kernel") == true)
        #expect(outputs["fused"]?.metadata["reason"]?.contains("decode kernel") == false)
        let reference = try outputs["reference"]!.tensor(named: "output").converted(to: .f32)
        let lse = try outputs["reference"]!.tensor(named: "lse")
        // bf16: each output rounded once (2⁻⁸ relative to values of magnitude ≲ 3).
        let tolerance: Float = dtype == .f32 ? 1e-5 : 2e-2
        for backend in ["auto", "fused"] {
            let file = outputs[backend]!
            #expect(try file.dtype(of: "output") == dtype.safetensorsDType)
            let out = try file.tensor(named: "output").converted(to: .f32)
            #expect(out.maxAbsDifference(reference) <= tolerance, "\(backend)")
            #expect(try file.tensor(named: "lse").maxAbsDifference(lse) <= 1e-4, "\(backend)")
        }
    }

    @Test func lyingFilesFailWithoutWritingOutput() throws {
        // Header length far beyond the file.
        var bytes = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(1_000_000).littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
        bytes += Array(#"{"query":{}}"#.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path("lying.safetensors")))
        #expect(throws: (any Error).self) {
            try run([
                "run", "--input", path("lying.safetensors"), "--output", path("never.safetensors"),
            ])
        }
        #expect(!FileManager.default.fileExists(atPath: path("never.safetensors")))
        // A valid file without `value`.
        try SafetensorsFile.write(
            ["query": Tensor.zeros([1, 1, 2, 2]), "key": Tensor.zeros([1, 1, 2, 2])],
            to: path("partial.safetensors"))
        #expect {
            try run([
                "run", "--input", path("partial.safetensors"), "--output",
                path("never.safetensors"),
            ])
        } throws: {
            AttentionCommand.message(for: $0).contains("value")
        }
        #expect(!FileManager.default.fileExists(atPath: path("never.safetensors")))
    }

    @Test func badFlagsAreRejectedWhileParsing() {
        for arguments in [
            ["run", "--input", "a", "--output", "b", "--backend", "gpu"],
            ["run", "--input", "a", "--output", "b", "--mask", "window:x"],
            ["run", "--input", "a", "--output", "b", "--dropout", "1.5"],
            ["run", "--input", "a", "--output", "b", "--rope-scaling", "magic:2"],
            ["bench", "--seq-lens", "0,12"], ["bench", "--causal", "maybe"],
            ["bench", "--kv-heads", "3"],
            ["bench", "--mask", "bigbird:window=x"], ["demo", "--repeats", "0"],
        ] {
            #expect(throws: (any Error).self, "\(arguments)") {
                _ = try AttentionCommand.parseAsRoot(arguments)
            }
        }
        #expect(throws: Never.self) {
            _ = try AttentionCommand.parseAsRoot([
                "bench", "--seq-lens", "256,512", "--mask", "window:128,127",
            ])
        }
    }
}

@Suite struct BenchCommandTests {
    @Test func jsonHasTheDocumentedKeysAndSkipsOversizedReferenceRuns() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bench-\(UUID()).json"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var command = try AttentionCommand.parseAsRoot([
            "bench", "--batch", "1", "--heads", "2", "--kv-heads", "1", "--head-dim", "8",
            "--seq-lens", "16,33",
            "--causal", "both", "--repeats", "1", "--no-gemm", "--json", path,
        ])
        try command.run()
        let rows = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                as? [[String: Any]])
        #expect(rows.count == 2 * 2 * 2)  // masks × lengths × backends
        for row in rows {
            for key in [
                "backend", "batch", "heads", "kvHeads", "seqLen", "headDim", "causal", "mask",
                "medianMs", "gflops", "peakBytes",
            ] {
                #expect(row[key] != nil, "missing \(key)")
            }
            #expect((row["medianMs"] as? Double ?? 0) > 0)
        }
        #expect(Set(rows.compactMap { $0["backend"] as? String }) == ["reference", "fused"])
        #expect(
            rows.contains { ($0["causal"] as? Bool) == true }
                && rows.contains { ($0["causal"] as? Bool) == false })

        // A reference run over the memory limit is reported as skipped, not run.
        var bench = AttentionBenchmark(repeats: 1)
        bench.memoryLimit = 1000
        let result = try bench.run(
            BenchmarkConfiguration(batch: 1, heads: 2, seqLen: 64, headDim: 8), backend: .reference)
        #expect(result.medianMs == nil && result.skipped?.contains("needs") == true)
    }

    /// A reduced-precision backward row names the backward's kernel (not the forward's): the
    /// bf16 tile-product kernel when the backward multiplies in bf16 pairs, otherwise
    /// "widened, <instruction set>" (its tiles are widened to fp32).
    @Test func backwardRowsNameTheBackwardKernel() throws {
        var bench = AttentionBenchmark(repeats: 1)
        let config = BenchmarkConfiguration(
            batch: 1, heads: 2, seqLen: 40, headDim: 16, backward: true, dtype: .bf16)
        bench.execution = ExecutionOptions(reducedPrecisionKernel: .portable)
        #expect(try bench.run(config, backend: .fused).kernel?.hasPrefix("widened, ") == true)
        var f16 = config
        f16.dtype = .f16
        bench.execution = ExecutionOptions()
        #expect(try bench.run(f16, backend: .fused).kernel?.hasPrefix("widened, ") == true)
        if let tiles = ReducedPrecisionKernel.supported.first(where: { $0 != .portable }) {
            bench.execution = ExecutionOptions(reducedPrecisionKernel: tiles)
            #expect(try bench.run(config, backend: .fused).kernel == tiles.description)
            var odd = config  // D = 8: not a multiple of 16, so widened
            odd.headDim = 8
            #expect(try bench.run(odd, backend: .fused).kernel?.hasPrefix("widened, ") == true)
        }
    }

    @Test func backwardRunsAreTimedAndFlagged() throws {
        let bench = AttentionBenchmark(repeats: 1)
        let config = BenchmarkConfiguration(
            batch: 1, heads: 2, kvHeads: 1, seqLen: 40, headDim: 8, mask: .causal, backward: true)
        for backend in [AttentionBackend.reference, .fused] {
            let result = try bench.run(config, backend: backend)
            #expect(result.backward && (result.medianMs ?? 0) > 0, "\(backend)")
        }
        // Twice the tensors of a forward run: dO, dQ, dK, dV besides Q, K, V and the output.
        let forward = BenchmarkConfiguration(batch: 1, heads: 2, seqLen: 40, headDim: 8)
        var backward = forward
        backward.backward = true
        #expect(
            AttentionBenchmark.estimatedBytes(backward)
                == 2 * AttentionBenchmark.estimatedBytes(forward))
        #expect {
            _ = try AttentionCommand.parseAsRoot(["bench", "--backward", "--layer"])
        } throws: { "\($0)".contains("--backward cannot be used with --layer") }
    }
}
