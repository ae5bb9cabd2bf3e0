import ArgumentParser
import Attention
import Foundation

/// `attention run`: attention on tensors from a safetensors file, for checking against PyTorch.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Evaluate attention on query/key/value (and optional mask) from a .safetensors file.",
        discussion: """
            IN holds `query` [B, H, Sq, D], `key` [B, Hkv, Sk, D], `value` [B, Hkv, Sk, Dv] and optionally \
            `mask` (BOOL/U8: 1 = may attend, or F32: added to the scores), broadcastable to [B, H, Sq, Sk]. \
            OUT gets `output` [B, H, Sq, Dv], plus `weights` with --return-weights and `lse` with --return-lse. \
            The output keeps the inputs' element type (F32, BF16 or F16; --dtype converts them first); \
            weights and lse are F32. \
            With --grad-output, IN also holds `grad_output` [B, H, Sq, Dv] (∂L/∂output) and OUT \
            gets `grad_query`, `grad_key`, `grad_value` (the backward pass, same options, in the inputs' \
            element type; `grad_output` is converted to it), and \
            `grad_mask` for an F32 mask with --grad-mask.
            """)

    @Option(help: "Input .safetensors file.") var input: String
    @Option(help: "Output .safetensors file (written atomically).") var output: String
    @Option(
        help:
            "Structured mask: none, causal, causal-bottom-right, window:L,R, window-bottom-right:L,R, … (combined with a `mask` tensor if present)."
    )
    var mask = "none"
    @Option(parsing: .unconditional, help: "Score scale (default 1/sqrt(D)).") var scale: Float?
    @Option(help: "Backend: reference, fused or auto.") var backend = "auto"
    @Flag(help: "Also write the attention weights [B, H, Sq, Sk] (reference path).")
    var returnWeights = false
    @Flag(name: .customLong("return-lse"), help: "Also write the per-row log-sum-exp [B, H, Sq].")
    var returnLSE = false
    @Option(parsing: .unconditional, help: "Dropout probability on the weights.") var dropout:
        Float = 0
    @Option(parsing: .unconditional, help: "Dropout seed (with --dropout; default 0).") var seed:
        UInt64?
    @Option(help: "ALiBi biases: symmetric or causal.") var alibi: String?
    @Option(help: "Rotary embedding on query and key: half or interleaved.") var rope: String?
    @Option(parsing: .unconditional, help: "RoPE base (with --rope; default 10000).") var ropeBase:
        Float?
    @Option(
        help:
            "RoPE scaling (with --rope): linear:F, ntk:F,orig=N, yarn:F,orig=N or llama3:F,orig=N,low=L,high=H."
    )
    var ropeScaling: String?
    @Option(
        help:
            "Convert query, key and value to f32, bf16 or f16 before attending (default: keep the file's type)."
    )
    var dtype: String?
    @Flag(help: "Read `grad_output` from IN; write grad_query, grad_key, grad_value.")
    var gradOutput = false
    @Flag(help: "With --grad-output and an F32 `mask` in IN: also write grad_mask (its shape).")
    var gradMask = false
    @OptionGroup var execution: ExecutionFlags

    func validate() throws {
        guard ["reference", "fused", "auto"].contains(backend) else {
            throw ValidationError("--backend expects reference, fused or auto, got '\(backend)'")
        }
        if returnWeights && backend == "fused" {
            throw ValidationError(
                "--return-weights needs --backend reference or auto (the fused backend never materializes the weights)"
            )
        }
        if let scale { try CLIRange.checkFinite(scale, flag: "--scale") }
        guard dropout >= 0 && dropout < 1 else {
            throw ValidationError("--dropout expects a probability in [0, 1), got \(dropout)")
        }
        if seed != nil && dropout == 0 {
            throw ValidationError("--seed only applies with --dropout > 0")
        }
        if let alibi, ALiBi.Form(name: alibi) == nil {
            throw ValidationError("--alibi expects symmetric or causal, got '\(alibi)'")
        }
        if let rope, !["half", "interleaved"].contains(rope) {
            throw ValidationError("--rope expects half or interleaved, got '\(rope)'")
        }
        if rope == nil {
            if ropeScaling != nil { throw ValidationError("--rope-scaling needs --rope") }
            if ropeBase != nil { throw ValidationError("--rope-base needs --rope") }
        }
        if gradMask && !gradOutput { throw ValidationError("--grad-mask needs --grad-output") }
        if let ropeBase {
            guard ropeBase.isFinite && ropeBase > 1 else {
                throw ValidationError("--rope-base expects a finite number > 1, got \(ropeBase)")
            }
        }
        if let dtype, DType(rawValue: dtype) == nil {
            throw ValidationError("--dtype expects f32, bf16 or f16, got '\(dtype)'")
        }
        _ = try MaskOption.parse(mask)
        if let ropeScaling { _ = try RoPEScalingOption.parse(ropeScaling) }
        try OutputPath.check(output, flag: "--output")
    }

    func run() throws {
        let file = try SafetensorsFile(contentsOf: input)
        for name in ["query", "key", "value"] where !file.names.contains(name) {
            throw ValidationError(
                "\(input): no tensor named \"\(name)\" (found: \(file.names.joined(separator: ", ")))"
            )
        }
        if gradOutput && !file.names.contains("grad_output") {
            throw ValidationError(
                "\(input): --grad-output needs a tensor named \"grad_output\" (found: \(file.names.joined(separator: ", ")))"
            )
        }
        var query = try file.tensor(named: "query"), key = try file.tensor(named: "key")
        var value = try file.tensor(named: "value")
        if let dtype = dtype.flatMap(DType.init(rawValue:)) {
            (query, key, value) = (
                query.converted(to: dtype), key.converted(to: dtype), value.converted(to: dtype)
            )
        }
        let inputs = (query: query, key: key)
        var rotation: RoPE? = nil
        var attentionMask = try MaskOption.parse(mask).mask
        if file.names.contains("mask") {
            let t = try file.tensor(named: "mask")
            let tensorMask: AttentionMask =
                try file.dtype(of: "mask").isFloatingPoint ? .additive(t) : .dense(t)
            attentionMask = attentionMask.isNone ? tensorMask : .and(attentionMask, tensorMask)
        }
        if let rope {
            guard query.rank == 4, key.rank == 4 else {
                throw ValidationError(
                    "--rope needs rank-4 query and key, got \(query.shape) and \(key.shape)")
            }
            let scaling = try ropeScaling.map(RoPEScalingOption.parse) ?? RoPE.Scaling.none
            let r = try RoPE(
                dimensions: query.shape[3], traditional: rope == "interleaved",
                base: ropeBase ?? 10_000,
                scaling: scaling)
            query = try r(query, offset: Swift.max(0, key.shape[2] - query.shape[2]))
                .converted(to: query.dtype)
            key = try r(key).converted(to: key.dtype)
            rotation = r
        }
        var options = AttentionOptions(
            mask: attentionMask, scale: scale, dropout: dropout, dropoutSeed: seed ?? 0,
            backend: backend == "auto" ? .automatic : AttentionBackend(rawValue: backend)!,
            returnWeights: returnWeights, returnLogSumExp: returnLSE || gradOutput,
            execution: execution.options)
        if let alibi {
            guard query.rank == 4 else {
                throw ValidationError("--alibi needs a rank-4 query, got \(query.shape)")
            }
            options.alibi = try ALiBi(heads: query.shape[1], form: ALiBi.Form(name: alibi)!)
        }
        let result = try scaledDotProductAttention(
            query: query, key: key, value: value, options: options)
        var tensors: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] = [
            ("output", result.output, result.output.dtype.safetensorsDType)
        ]
        if let w = result.weights { tensors.append(("weights", w, .f32)) }
        if returnLSE, let l = result.logSumExp { tensors.append(("lse", l, .f32)) }
        if gradOutput {
            tensors += try gradients(
                file.tensor(named: "grad_output"), query: query, key: key, value: value,
                result: result, options: options, rope: rotation, inputs: inputs)
        }
        try SafetensorsFile.write(
            tensors, metadata: ["backend": result.backend.rawValue, "reason": result.reason],
            to: output)
        print("\(result.backend.rawValue): \(LibraryWording.translate(result.reason))")
        print(
            "wrote \(output): output \(result.output.shape)"
                + (result.weights.map { ", weights \($0.shape)" } ?? "")
                + (returnLSE ? result.logSumExp.map { ", lse \($0.shape)" } ?? "" : "")
                + (gradOutput ? ", grad_query, grad_key, grad_value" : ""))
    }
}

extension ALiBi.Form {
    init?(name: String) {
        switch name {
        case "symmetric": self = .symmetric
        case "causal": self = .causal
        default: return nil
        }
    }
}

extension AttentionMask {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

/// Parses `--rope-scaling`.
enum RoPEScalingOption {
    static func parse(_ text: String) throws -> RoPE.Scaling {
        let usage =
            "--rope-scaling expects linear:F, ntk:F,orig=N, yarn:F,orig=N or llama3:F,orig=N,low=L,high=H, got '\(text)'"
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ValidationError(usage) }
        let fields = parts[1].split(separator: ",").map(String.init)
        guard let factor = fields.first.flatMap(Float.init), factor > 0, factor.isFinite else {
            throw ValidationError(usage)
        }
        var named: [String: String] = [:]
        for f in fields.dropFirst() {
            let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw ValidationError(usage) }
            named[kv[0]] = kv[1]
        }
        func int(_ key: String, _ fallback: Int?) throws -> Int {
            guard let v = named[key].map({ Int($0) }) ?? fallback, v > 0 else {
                throw ValidationError(usage)
            }
            return v
        }
        func float(_ key: String, _ fallback: Float) throws -> Float {
            guard let s = named[key] else { return fallback }
            guard let v = Float(s), v.isFinite else { throw ValidationError(usage) }
            return v
        }
        switch parts[0] {
        case "linear": return .linear(factor: factor)
        case "ntk": return .dynamicNTK(factor: factor, originalMaxPositions: try int("orig", 2048))
        case "yarn": return .yarn(factor: factor, originalMaxPositions: try int("orig", 4096))
        case "llama3":
            return .llama3(
                factor: factor, lowFrequencyFactor: try float("low", 1),
                highFrequencyFactor: try float("high", 4),
                originalMaxPositions: try int("orig", 8192))
        default: throw ValidationError(usage)
        }
    }
}
