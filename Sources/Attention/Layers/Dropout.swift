/// Zeroes each element with probability `p` in training and scales the kept ones by
/// `1/(1 − p)`, so expectations are unchanged; the identity in evaluation.
///
/// Decisions come from ``CounterRNG``: element `n` of a call with seed `s` is dropped iff
/// `CounterRNG(seed: s).uniform(at: n) < p` — the same on every machine and thread schedule.
public struct Dropout: Sendable {
    public let probability: Float

    /// - Throws: ``AttentionError`` unless `0 ≤ probability < 1`.
    public init(probability: Float) throws {
        guard probability >= 0 && probability < 1 else {
            throw AttentionError.argument(
                "probability", "expected a probability in [0, 1), got \(probability)")
        }
        self.probability = probability
    }

    /// `x` with dropout applied when `training` (any shape).
    public func callAsFunction(_ x: Tensor, training: Bool, seed: UInt64 = 0) -> Tensor {
        guard training && probability > 0 else { return x }
        let rng = CounterRNG(seed: seed), keep = 1 / (1 - probability), p = probability
        let values = x.scalars
        return Tensor(
            unchecked: x.shape,
            storage: values.indices.map {
                rng.uniform(at: UInt64($0)) < p ? 0 : values[$0] * keep
            })
    }
}
