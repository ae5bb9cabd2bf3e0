import ArgumentParser
import Attention

extension AttentionMask {
    /// The additive tensor of a mask `run` built (a structured part `.and` the file's mask).
    fileprivate var additiveTensor: Tensor? {
        switch self {
        case .additive(let t): return t
        case .and(let a, let b): return a.additiveTensor ?? b.additiveTensor
        default: return nil
        }
    }
}

extension RunCommand {
    /// `run --grad-output`: the backward pass for `gradOutput` under the forward's options.
    /// With `--rope`, the gradients of the rotated query and key are rotated back (the
    /// transposed rotation), so `grad_query`/`grad_key` are with respect to the file's tensors.
    func gradients(
        _ gradOutput: Tensor, query: Tensor, key: Tensor, value: Tensor, result: AttentionResult,
        options: AttentionOptions, rope: RoPE?, inputs: (query: Tensor, key: Tensor)
    ) throws -> [(name: String, tensor: Tensor, dtype: SafetensorsDType)] {
        guard gradOutput.shape == result.output.shape else {
            throw ValidationError(
                "\(input): grad_output has shape \(gradOutput.shape); expected \(result.output.shape) (the output's shape)"
            )
        }
        var options = options
        // The backward follows the backend that ran forward (the reference path when
        // weights were asked for).
        options.backend = result.backend
        if gradMask && options.mask.additiveTensor == nil {
            throw ValidationError("--grad-mask needs an F32 (additive) `mask` tensor in \(input)")
        }
        let g = try scaledDotProductAttentionBackward(
            gradOutput: gradOutput.converted(to: query.dtype), query: query, key: key, value: value,
            output: result.output,
            logSumExp: result.logSumExp!, options: options, returnMaskGradient: gradMask)
        var (gq, gk) = (g.gradQuery, g.gradKey)
        if let rope {
            gq = try rope.backward(
                gq, offset: Swift.max(0, inputs.key.shape[2] - inputs.query.shape[2]))
            gk = try rope.backward(gk)
        }
        return [
            ("grad_query", gq, gq.dtype.safetensorsDType),
            ("grad_key", gk, gk.dtype.safetensorsDType),
            ("grad_value", g.gradValue, g.gradValue.dtype.safetensorsDType),
        ] + (g.gradMask.map { [("grad_mask", $0, .f32)] } ?? [])
    }
}
