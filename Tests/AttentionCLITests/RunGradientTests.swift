import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention run --grad-output` against PyTorch's autograd (committed fixtures written by
/// `scripts/backward_vs_pytorch.py --write-fixtures Tests/Fixtures`: PyTorch 2.15, float64
/// gradients of float32 inputs through `F.scaled_dot_product_attention`), and its RoPE
/// path against a directional finite difference.
@Suite struct RunGradientTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "run-gradient-tests-\(UUID())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    func run(_ arguments: [String]) throws {
        var command = try AttentionCommand.parseAsRoot(arguments)
        try command.run()
    }

    static func normwise(_ a: Tensor, _ b: Tensor) -> Double {
        let x = a.scalars.map(Double.init), y = b.scalars.map(Double.init)
        let diff = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let norm = y.reduce(0) { $0 + $1 * $1 }
        return (diff / norm).squareRoot()
    }

    /// Normwise relative error ≤ 1e-5 for every output and gradient (measured: ≤ 2.6e-7),
    /// on both backends: no mask with GQA, causal (Sq = Sk), an additive mask with a custom
    /// scale (and its gradient, `--grad-mask`), a boolean mask.
    @Test(arguments: ["plain_gqa", "causal", "additive_scale", "bool_mask"])
    func matchesPyTorch(_ name: String) throws {
        let fixture = Self.fixtures.appendingPathComponent("backward_\(name).safetensors").path
        let file = try SafetensorsFile(contentsOf: fixture)
        let flags = try JSONDecoder().decode(
            [String].self, from: Data((file.metadata["flags"] ?? "[]").utf8))
        for backend in ["fused", "reference"] {
            let out = path("\(name)-\(backend).safetensors")
            try run(
                ["run", "--input", fixture, "--output", out, "--grad-output", "--backend", backend]
                    + flags)
            let result = try SafetensorsFile(contentsOf: out)
            for tensor in ["output", "grad_query", "grad_key", "grad_value", "grad_mask"]
            where file.names.contains("expected_\(tensor)") {
                let got = try result.tensor(named: tensor)
                let want = try file.tensor(named: "expected_\(tensor)")
                #expect(got.shape == want.shape, "\(name) \(backend) \(tensor)")
                let error = Self.normwise(got, want)
                #expect(error <= 1e-5, "\(name) \(backend) \(tensor): normwise error \(error)")
            }
        }
    }

    /// With `--rope`, `grad_query`/`grad_key` are with respect to the file's (unrotated)
    /// tensors: `⟨grad_query, δ⟩` matches the central difference of `L = Σ dO ∘ O` along a
    /// random direction δ (the forward run through `attention run` itself, ε = 1e-2;
    /// tolerance 1e-3 relative: Float rounding and the ε² term).
    @Test func ropeGradientsAreForTheUnrotatedInputs() throws {
        let (q, k, v) = (
            Tensor.randomNormal([1, 2, 5, 8], seed: 1), Tensor.randomNormal([1, 2, 7, 8], seed: 2),
            Tensor.randomNormal([1, 2, 7, 8], seed: 3)
        )
        let dO = Tensor.randomNormal([1, 2, 5, 8], seed: 4)
        let flags = ["--rope", "half", "--mask", "causal-bottom-right", "--threads", "1"]
        func loss(_ q: Tensor, _ k: Tensor) throws -> Double {
            try SafetensorsFile.write(
                [("query", q, .f32), ("key", k, .f32), ("value", v, .f32)],
                to: path("l.safetensors"))
            try run(
                ["run", "--input", path("l.safetensors"), "--output", path("lo.safetensors")]
                    + flags)
            let o = try SafetensorsFile(contentsOf: path("lo.safetensors")).tensor(named: "output")
            return zip(o.scalars, dO.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        try SafetensorsFile.write(
            [("query", q, .f32), ("key", k, .f32), ("value", v, .f32), ("grad_output", dO, .f32)],
            to: path("g.safetensors"))
        try run(
            [
                "run", "--input", path("g.safetensors"), "--output", path("go.safetensors"),
                "--grad-output",
            ]
                + flags)
        let grads = try SafetensorsFile(contentsOf: path("go.safetensors"))
        let eps: Float = 1e-2
        for (name, seed) in [("grad_query", UInt64(5)), ("grad_key", 6)] {
            let isQuery = name == "grad_query"
            let delta = Tensor.randomNormal(isQuery ? q.shape : k.shape, seed: seed)
            let base = isQuery ? q : k
            let plus = try base + delta * eps, minus = try base - delta * eps
            let numeric =
                (try (isQuery ? loss(plus, k) : loss(q, plus))
                    - (isQuery ? loss(minus, k) : loss(q, minus))) / Double(2 * eps)
            let g = try grads.tensor(named: name)
            let analytic = zip(g.scalars, delta.scalars).reduce(0) {
                $0 + Double($1.0) * Double($1.1)
            }
            #expect(
                abs(analytic - numeric) <= 1e-3 * abs(numeric) + 1e-4,
                "\(name): ⟨g, δ⟩ \(analytic) vs finite difference \(numeric)")
        }
    }

    @Test func missingOrMisshapenGradOutputIsAnError() throws {
        let (q, k, v) = (
            Tensor.randomNormal([1, 2, 5, 8], seed: 1), Tensor.randomNormal([1, 2, 7, 8], seed: 2),
            Tensor.randomNormal([1, 2, 7, 8], seed: 3)
        )
        try SafetensorsFile.write(
            [("query", q, .f32), ("key", k, .f32), ("value", v, .f32)], to: path("n.safetensors"))
        let missing = CLIProcess.errorLine(
            try CLIProcess.run([
                "run", "--input", path("n.safetensors"), "--output", path("x.safetensors"),
                "--grad-output",
            ]))
        #expect(missing?.contains("--grad-output needs a tensor named \"grad_output\"") == true)
        try SafetensorsFile.write(
            [
                ("query", q, .f32), ("key", k, .f32), ("value", v, .f32),
                ("grad_output", Tensor.zeros([1, 2, 7, 8]), .f32),
            ], to: path("m.safetensors"))
        let misshapen = CLIProcess.errorLine(
            try CLIProcess.run([
                "run", "--input", path("m.safetensors"), "--output", path("x.safetensors"),
                "--grad-output",
            ]))
        #expect(
            misshapen?.contains("grad_output has shape [1, 2, 7, 8]; expected [1, 2, 5, 8]") == true
        )
        #expect(!FileManager.default.fileExists(atPath: path("x.safetensors")))
    }
}

extension CLIProcess {
    /// The single `Error: …` line of a failed run (`nil` if it succeeded or printed otherwise).
    static func errorLine(_ outcome: Outcome) -> String? {
        outcome.status != 0 && !outcome.signaled ? outcome.errorLine : nil
    }
}
