/// A layer with named parameters, loadable from and savable to safetensors files.
///
/// Names follow PyTorch's `state_dict` convention: `"q_proj.weight"`, `"out_proj.bias"`.
public protocol Module {
    /// All parameters by name.
    func parameters() -> [String: Tensor]
    /// Replaces parameters by name; every name must exist and keep its shape.
    /// - Throws: ``AttentionError`` for an unknown name or a shape mismatch.
    mutating func update(parameters: [String: Tensor]) throws
}

extension Module {
    /// Checks that `new` may replace `old` under `name`.
    static func checkReplacement(_ name: String, old: Tensor, new: Tensor) throws {
        guard old.shape == new.shape else {
            throw AttentionError.shape(name, expected: "\(old.shape)", actual: new.shape)
        }
    }
}
