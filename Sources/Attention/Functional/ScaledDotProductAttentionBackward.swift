/// The gradients of scaled dot-product attention with respect to its three inputs.
public struct AttentionGradients: Sendable {
    /// ∂L/∂query, `[B, H, Sq, D]`.
    public var gradQuery: Tensor
    /// ∂L/∂key, `[B, Hkv, Sk, D]`: with grouped-query attention, summed over the query heads
    /// that share each key/value head.
    public var gradKey: Tensor
    /// ∂L/∂value, `[B, Hkv, Sk, Dv]`, summed over each group like ``gradKey``.
    public var gradValue: Tensor
    /// The backend that ran.
    public var backend: AttentionBackend
    /// ∂L/∂mask for the additive mask, the shape of its tensor (summed over the axes it
    /// broadcasts along), when `returnMaskGradient` was asked for; otherwise `nil`.
    public var gradMask: Tensor? = nil
}

/// The backward pass of ``scaledDotProductAttention(query:key:value:options:)``: given
/// `gradOutput = ∂L/∂output`, returns `∂L/∂query`, `∂L/∂key` and `∂L/∂value`.
///
/// With `S = scale·Q·Kᵀ + mask + ALiBi`, `P = softmax(S)` (row-wise), `W = dropout(P)` and
/// `O = W·V`, per (batch, head):
/// ```
/// dV = Wᵀ·dO                 dP = dropout(dO·Vᵀ)        (same entries dropped, kept ×1/(1−p))
/// D  = rowsum(dO ∘ O)        dS = P ∘ (dP − D)
/// dQ = scale · dS·K          dK = scale · dSᵀ·Q
/// ```
/// `P` is recomputed from `logSumExp` (`P = exp(S − LSE)`, natural log, as the forward's
/// ``AttentionOptions/returnLogSumExp`` returns it) by the fused backend, which visits only
/// the tiles the mask leaves visible and never allocates anything of size `Sq × Sk`; the
/// `.reference` backend materializes the scores and softmax-normalizes each row whose LSE
/// is its own. Where `|LSE| ≥ 1024` the float LSE is too coarse to subtract, and a row whose
/// LSE is, to 8 of its float spacings, that of this call's scores gets `P = exp(S − m)/l`
/// from its own maximum `m` and sum `l` instead (one extra pass over those rows' tiles). An
/// LSE over more keys than the call holds (as ring attention passes per shard) is used as
/// given by both backends. Rows that saw no
/// key get zero gradients. With `returnMaskGradient`, the additive mask's gradient
/// `∂L/∂M = dS = P ∘ (dP − D)` is returned too, summed over the axes the mask broadcasts along
/// (computed in row blocks of 32 queries, never `Sq × Sk` at once).
///
/// Non-finite values follow the forward's rule (docs/KERNELS.md, "Non-finite values") and
/// propagate as autograd would through it: a row whose output is NaN (a NaN or ±inf in its
/// query, or in the key or value of a key it sees; a NaN or `+inf` visible score) gets a NaN
/// `gradQuery` row and makes `gradKey` and `gradValue` NaN for every key it sees (and the
/// mask gradient NaN along that row); other rows and keys are unaffected. A row with no
/// finite visible score gets zero gradients.
///
/// Precision: `query`, `key`, `value`, `gradOutput` and `output` share one ``DType`` (f32,
/// bf16 or f16) and the three gradients come back in it, as PyTorch's autograd returns
/// them; `logSumExp` is f32 (as the forward returns it) and so is ``AttentionGradients/gradMask``.
/// Sums, softmax recomputation and `D` are fp32. The fused backend reads bf16/f16 arguments
/// in place, tile by tile, and makes no fp32 copy of them: with bf16 and a tile-product
/// kernel (``ReducedPrecisionKernel/avx512BF16``, ``ReducedPrecisionKernel/arm64BF16``)
/// and both head widths multiples of 16 it multiplies in bf16 with fp32 accumulation, as
/// PyTorch's and FlashAttention's bf16 backward do: `Q·Kᵀ` and `dO·Vᵀ` on the inputs as given,
/// and `dropout(P)` and `dS` rounded to bf16 (nearest, ties to even) for `dV = Wᵀ·dO`,
/// `dK = dSᵀ·Q`, `dQ = dS·K`; otherwise (f16, the portable kernel, other widths) each tile
/// is widened exactly to fp32 and multiplied in fp32. Each gradient is summed in fp32 and
/// rounded once (nearest, ties to even) into the inputs' dtype. The `.reference` backend and
/// `returnMaskGradient` compute on fp32 copies of the five arguments instead (2× their
/// bytes, alive for the call) and round the gradients at the end.
///
/// Shapes (`B` batch, `H` query heads, `Hkv` key/value heads):
/// - `gradOutput`, `output` `[B, H, Sq, Dv]`; `logSumExp` `[B, H, Sq]`
/// - `query` `[B, H, Sq, D]`, `key` `[B, Hkv, Sk, D]`, `value` `[B, Hkv, Sk, Dv]`
///
/// ```swift
/// var options = AttentionOptions(mask: .causal, returnLogSumExp: true)
/// let forward = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
/// let grads = try scaledDotProductAttentionBackward(
///     gradOutput: dO, query: q, key: k, value: v, output: forward.output,
///     logSumExp: forward.logSumExp!, options: options)
/// ```
/// - Parameters:
///   - returnMaskGradient: also return ``AttentionGradients/gradMask``; `options.mask` must
///     hold exactly one additive tensor.
///   - options: the forward call's options (mask, scale, ALiBi, dropout and its seed must
///     be the same); `backend` `.automatic` or `.fused` runs the fused backward,
///     `.reference` the materialized one; `execution` as for the forward (left to the
///     library, the fused backward's tiles are its own tuned 96 × 96).
/// - Throws: ``AttentionError`` naming the argument for shapes or dtypes that do not fit
///   (`query`, `key`, `value`, `gradOutput`, `output`, `logSumExp`), invalid options as the forward
///   does, or a reference run over the memory limit.
public func scaledDotProductAttentionBackward(
    gradOutput: Tensor, query: Tensor, key: Tensor, value: Tensor, output: Tensor,
    logSumExp: Tensor, options: AttentionOptions = AttentionOptions(),
    returnMaskGradient: Bool = false
) throws -> AttentionGradients {
    let additive = options.mask.additiveTensors
    if returnMaskGradient && additive.count != 1 {
        throw AttentionError.argument(
            "returnMaskGradient",
            "needs exactly one additive tensor in the mask, found \(additive.count)")
    }
    let dtype = query.dtype
    for (name, tensor) in [
        ("key", key), ("value", value), ("gradOutput", gradOutput), ("output", output),
    ] where tensor.dtype != dtype {
        throw AttentionError.argument(
            name,
            "dtype \(tensor.dtype) differs from the query's \(dtype) (query, key, value, gradOutput and output must share one dtype: f32, bf16 or f16)"
        )
    }
    guard logSumExp.dtype == .f32 else {
        throw AttentionError.argument(
            "logSumExp",
            "expected f32 (the forward's returnLogSumExp is always f32), got \(logSumExp.dtype)")
    }
    // bf16/f16: the fused backward reads the 2-byte operands tile by tile and returns
    // gradients in their dtype. The reference backward and the mask gradient compute on
    // widened fp32 copies (exact) instead, and the gradients are rounded at the end.
    let widened = dtype != .f32 && (options.backend == .reference || returnMaskGradient)
    let target: DType = widened ? .f32 : dtype
    let (query, key, value) = (
        query.converted(to: target), key.converted(to: target), value.converted(to: target)
    )
    let (gradOutput, output) = (gradOutput.converted(to: target), output.converted(to: target))
    let problem = try AttentionProblem(
        query: query, key: key, value: value, options: FlashBackward.tiled(options))
    let (b, h, sq, dv) = (problem.batch, problem.heads, problem.queries, problem.valueDim)
    for (name, tensor) in [("gradOutput", gradOutput), ("output", output)]
    where tensor.shape != [b, h, sq, dv] {
        throw AttentionError.shape(
            name, expected: "[\(b), \(h), \(sq), \(dv)] (the attention output's shape)",
            actual: tensor.shape)
    }
    guard logSumExp.shape == [b, h, sq] else {
        throw AttentionError.shape(
            "logSumExp", expected: "[\(b), \(h), \(sq)] (the forward's returnLogSumExp)",
            actual: logSumExp.shape)
    }
    let inputs = BackwardInputs(
        problem, gradOutput: gradOutput, output: output, logSumExp: logSumExp)
    var gradients: AttentionGradients
    switch options.backend {
    case .reference:
        gradients = try ReferenceAttentionBackward.gradients(problem, options, inputs)
    case .fused, .automatic:
        gradients = FlashBackward.gradients(problem, options, inputs).gradients
    }
    if returnMaskGradient {
        gradients.gradMask = MaskGradient.gradient(of: additive[0], problem, options, inputs)
    }
    if widened {
        gradients.gradQuery = gradients.gradQuery.converted(to: dtype)
        gradients.gradKey = gradients.gradKey.converted(to: dtype)
        gradients.gradValue = gradients.gradValue.converted(to: dtype)
    }
    return gradients
}
