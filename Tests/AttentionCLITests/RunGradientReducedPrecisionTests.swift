import ArgumentParser
import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention run --grad-output --dtype bf16|f16`: the gradients are written in the inputs'
/// element type and are exactly the library's backward on the same converted tensors (the
/// library's bf16/f16 accuracy is checked in ReducedPrecisionBackwardTests).
@Suite struct RunGradientReducedPrecisionTests {
    @Test(arguments: [DType.bf16, .f16])
    func gradientsKeepTheDtype(_ dtype: DType) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "run-gradient-rp-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (q, k, v) = (
            Tensor.randomNormal([1, 2, 9, 8], seed: 1),
            Tensor.randomNormal([1, 1, 11, 8], seed: 2),
            Tensor.randomNormal([1, 1, 11, 8], seed: 3)
        )
        let dO = Tensor.randomNormal([1, 2, 9, 8], seed: 4)
        let input = folder.appendingPathComponent("in.safetensors").path
        let output = folder.appendingPathComponent("out.safetensors").path
        try SafetensorsFile.write(
            [("query", q, .f32), ("key", k, .f32), ("value", v, .f32), ("grad_output", dO, .f32)],
            to: input)
        var command = try AttentionCommand.parseAsRoot([
            "run", "--input", input, "--output", output, "--grad-output", "--mask", "causal",
            "--dtype", dtype.rawValue,
        ])
        try command.run()
        let file = try SafetensorsFile(contentsOf: output)

        let (qr, kr, vr) = (q.converted(to: dtype), k.converted(to: dtype), v.converted(to: dtype))
        let options = AttentionOptions(mask: .causal, returnLogSumExp: true)
        let forward = try scaledDotProductAttention(query: qr, key: kr, value: vr, options: options)
        let want = try scaledDotProductAttentionBackward(
            gradOutput: dO.converted(to: dtype), query: qr, key: kr, value: vr,
            output: forward.output, logSumExp: forward.logSumExp!, options: options)
        for (name, expected) in [
            ("grad_query", want.gradQuery), ("grad_key", want.gradKey),
            ("grad_value", want.gradValue),
        ] {
            #expect(try file.dtype(of: name) == dtype.safetensorsDType, "\(dtype) \(name)")
            #expect(try file.tensor(named: name).bits == expected.bits, "\(dtype) \(name)")
        }
    }
}
