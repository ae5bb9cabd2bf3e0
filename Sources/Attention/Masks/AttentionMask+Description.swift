// The string form of a mask: what `--mask` accepts (see `init(parsing:)`) and what
// `description` prints; every structured mask round-trips.
extension AttentionMask: CustomStringConvertible {
    /// The mask in the `--mask` syntax (``init(parsing:)``), e.g. `causal+window:128,0`.
    /// Tensor masks print as `dense[shape]` / `additive[shape]`, which does not parse.
    public var description: String {
        switch self {
        case .none: return "none"
        case .causal: return "causal"
        case .causalFromBottomRight: return "causal-bottom-right"
        case .dense(let t): return "dense\(t.shape)"
        case .additive(let t): return "additive\(t.shape)"
        case .slidingWindow(let left, let right): return "window:\(left),\(right)"
        case .slidingWindowFromBottomRight(let left, let right):
            return "window-bottom-right:\(left),\(right)"
        case .dilatedWindow(let window, let dilation):
            return "dilated:window=\(window),dilation=\(dilation)"
        case .longformer(let window, let globals):
            let g =
                globals.isLeading
                ? "\(globals.count)"
                : "[" + globals.positions.map(String.init).joined(separator: ",") + "]"
            return "longformer:window=\(window),global=\(g)"
        case .strided(let stride): return "strided:\(stride)"
        case .sparseTransformerStrided(let stride): return "sparse-strided:\(stride)"
        case .sparseTransformerFixed(let block, let summary):
            return "sparse-fixed:block=\(block),summary=\(summary)"
        case .bigBird(let window, let global, let random, let seed):
            return "bigbird:window=\(window),global=\(global),random=\(random),seed=\(seed)"
        case .bigBirdBlocks(let block, let window, let global, let random, let seed):
            return
                "bigbird-blocks:block=\(block),window=\(window),global=\(global),random=\(random),seed=\(seed)"
        case .blockDiagonal(let segments):
            return "blocks:" + segments.lengths.map(String.init).joined(separator: ",")
        case .prefixLM(let prefix): return "prefix:\(prefix)"
        case .and(let a, let b):
            // `+` binds tighter than `|`, so an `.or` inside an `.and` needs parentheses.
            func operand(_ m: AttentionMask) -> String {
                if case .or = m { return "(\(m))" }
                return m.description
            }
            return operand(a) + "+" + operand(b)
        case .or(let a, let b): return "\(a)|\(b)"
        }
    }
}
