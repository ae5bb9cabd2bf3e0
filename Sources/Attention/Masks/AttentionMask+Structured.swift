// Visibility and block classification of the position-only (structured) mask kinds.
extension AttentionMask {
    func isVisibleStructured(query i: Int, key j: Int, queries: Int, keys: Int) -> Bool {
        switch self {
        case .slidingWindow(let left, let right):
            return j >= i - left && j <= i + right
        default:
            preconditionFailure("\(self) is not a structured mask")
        }
    }

    func classifyStructured(queryRange q: Range<Int>, keyRange k: Range<Int>, queries: Int, keys: Int) -> BlockKind {
        switch self {
        case .slidingWindow(let left, let right):
            let qLast = q.upperBound - 1, kLast = k.upperBound - 1
            // Empty when the block lies wholly right of the last row's window or left of the first row's.
            if k.lowerBound > qLast + right || kLast < q.lowerBound - left { return .empty }
            // Full when every row's window covers the whole key block.
            if k.lowerBound >= qLast - left && kLast <= q.lowerBound + right { return .full }
            return .partial
        default:
            preconditionFailure("\(self) is not a structured mask")
        }
    }

    func validateStructure(queries: Int, keys: Int) throws {
        switch self {
        case .slidingWindow(let left, let right):
            guard left >= 0, right >= 0 else {
                throw AttentionError.argument("mask", "slidingWindow needs left ≥ 0 and right ≥ 0, got left \(left), right \(right)")
            }
        case .and(let a, let b), .or(let a, let b):
            try a.validateStructure(queries: queries, keys: keys)
            try b.validateStructure(queries: queries, keys: keys)
        default:
            break
        }
    }
}
