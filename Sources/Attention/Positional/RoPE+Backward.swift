extension RoPE {
    /// The backward pass of ``callAsFunction(_:offset:sequenceAxis:)``: for
    /// `gradOutput = ∂L/∂y` returns `∂L/∂x`, the transposed rotation (each pair rotated by
    /// the negated angle, times the same ``attentionScaling``):
    ///
    ///     ∂L/∂x[k-th pair] = a · e^{−i·(offset + s)·scale·θ'_k} · ∂L/∂y[k-th pair]
    ///
    /// Features past ``dimensions`` pass through. Arguments and shapes as for the forward.
    /// - Throws: as ``callAsFunction(_:offset:sequenceAxis:)``.
    public func backward(_ gradOutput: Tensor, offset: Int = 0, sequenceAxis: Int = -2) throws
        -> Tensor
    {
        try rotate(gradOutput, offset: offset, sequenceAxis: sequenceAxis, transposed: true)
    }
}
