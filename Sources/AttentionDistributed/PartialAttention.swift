import Attention
import Foundation

/// A rank's running result: the output and log-sum-exp of its query rows over the key
/// blocks merged so far.
///
/// Merging a block's `(o, l)` into the running `(O, L)` is exact:
/// ```
/// L' = log(e^L + e^l)        O' = (e^(L−L')·O + e^(l−L')·o)
/// ```
/// computed with `m = max(L, l)` subtracted; a block row with `l = −∞` (no visible key) is
/// skipped, so a row that never saw a key keeps `O = 0`, `L = −∞`, as the kernel's own
/// result would; NaN propagates.
struct PartialAttention {
    let batch: Int, heads: Int, rows: Int, valueDim: Int
    private(set) var output: [Float]
    private(set) var logSumExp: [Float]

    init(batch: Int, heads: Int, rows: Int, valueDim: Int) {
        (self.batch, self.heads, self.rows, self.valueDim) = (batch, heads, rows, valueDim)
        output = [Float](repeating: 0, count: batch * heads * rows * valueDim)
        logSumExp = [Float](repeating: -.infinity, count: batch * heads * rows)
    }

    /// Merges a block's result for local rows `rowRange` (`output` `[B, H, n, Dv]`,
    /// `logSumExp` `[B, H, n]`), adding `shift[h]` to its log-sum-exp first.
    mutating func merge(
        output block: Tensor, logSumExp blockLSE: Tensor, rows rowRange: Range<Int>,
        shift: [Float]?
    ) {
        let o = block.scalars
        let l = blockLSE.scalars
        let (n, dv) = (rowRange.count, valueDim)
        for b in 0..<batch {
            for h in 0..<heads {
                let c = shift?[h] ?? 0
                for i in 0..<n {
                    let src = (b * heads + h) * n + i
                    let dst = (b * heads + h) * rows + rowRange.lowerBound + i
                    let new = l[src] + c
                    if new == -.infinity { continue }
                    let old = logSumExp[dst]
                    let (ob, db) = (src * dv, dst * dv)
                    if new.isNaN || old.isNaN {
                        logSumExp[dst] = .nan
                        for d in 0..<dv { output[db + d] = .nan }
                        continue
                    }
                    let m = Swift.max(old, new)
                    let wOld = old == -.infinity ? 0 : Foundation.exp(old - m)
                    let wNew = Foundation.exp(new - m)
                    let total = wOld + wNew
                    let (a, bw) = (wOld / total, wNew / total)
                    for d in 0..<dv { output[db + d] = a * output[db + d] + bw * o[ob + d] }
                    logSumExp[dst] = m + Foundation.log(total)
                }
            }
        }
    }

    /// The result as tensors: output `[B, H, rows, Dv]`, log-sum-exp `[B, H, rows]`.
    func tensors() throws -> (output: Tensor, logSumExp: Tensor) {
        (
            try Tensor(shape: [batch, heads, rows, valueDim], scalars: output),
            try Tensor(shape: [batch, heads, rows], scalars: logSumExp)
        )
    }
}

/// Sums of gradient rows over the blocks of a ring step.
struct RowAccumulator {
    /// `[B, H, rows, D]`.
    let shape: [Int]
    private(set) var values: [Float]

    init(shape: [Int]) {
        self.shape = shape
        values = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Adds `block` (`[B, H, n, D]`) into local rows `rowRange`.
    mutating func add(_ block: Tensor, rows rowRange: Range<Int>) {
        let src = block.scalars
        let (outer, rows, d, n) = (shape[0] * shape[1], shape[2], shape[3], rowRange.count)
        for o in 0..<outer {
            let s = o * n * d
            let t = (o * rows + rowRange.lowerBound) * d
            for x in 0..<(n * d) { values[t + x] += src[s + x] }
        }
    }

    /// Adds a whole tensor of the same shape.
    mutating func add(_ tensor: Tensor) { add(tensor, rows: 0..<shape[2]) }

    func tensor() throws -> Tensor { try Tensor(shape: shape, scalars: values) }
}
