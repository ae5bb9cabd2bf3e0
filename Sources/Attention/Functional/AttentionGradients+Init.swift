extension AttentionGradients {
    /// Gradients computed elsewhere in the package (ring attention sums them over shards).
    package static func assembled(
        query: Tensor, key: Tensor, value: Tensor, backend: AttentionBackend
    ) -> AttentionGradients {
        AttentionGradients(gradQuery: query, gradKey: key, gradValue: value, backend: backend)
    }
}
