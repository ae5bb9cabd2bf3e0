/// One measurement behind `complexity.png`: a backend at one sequence length.
///
/// `backend` names the series: ``reference`` (standard attention, materialized scores),
/// ``fused`` (FlashAttention-style), or a sparse variant such as
/// ``slidingWindow(_:)`` (`"sliding window 256"`). Other names are drawn too, after these.
struct ComplexityPoint: Sendable {
    /// Series name.
    var backend: String
    /// Sequence length `S` (queries = keys).
    var seqLen: Int
    /// Median wall time in ms, or `nil` when the run was skipped.
    var milliseconds: Double?
    /// Memory the run itself needed, in bytes (peak minus the resident memory just before),
    /// or `nil` when skipped or not measurable.
    var peakBytes: Double?

    /// Standard attention: the reference path, which materializes `[B, H, S, S]` scores.
    static let reference = "reference"
    /// Fused attention over all keys.
    static let fused = "fused"

    /// Fused attention restricted to a sliding window of `window` keys.
    static func slidingWindow(_ window: Int) -> String { "sliding window \(window)" }
}
