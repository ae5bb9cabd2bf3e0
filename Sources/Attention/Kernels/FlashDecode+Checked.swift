import Foundation
import _AttentionKernels

/// Non-finite values in decoding (docs/KERNELS.md, "Non-finite values"): the same rule as the
/// fused and reference paths, without a pass over the cache on every step.
///
/// The fast kernels flag an item instead of screening the cache: a visible score that is NaN
/// or ±inf makes `decode_partial` set that row's running sum to NaN, and a NaN or ±inf in
/// the accumulator (a value that is not finite, even under a zero weight) shows after the
/// call. Either can only come from a non-finite query, key or value, from scores that
/// overflow, or from an unnormalized sum of large finite values that overflows, so a flagged
/// item is recomputed here, plainly: scores `scale·q·k` in natural-log units (no `log2 e`
/// factor to overflow), a bad query row or key/value row makes its scores NaN, a visible NaN
/// or `+inf` score makes the row NaN, `−inf` weighs 0, and the sum is kept normalized.
extension FlashDecode {
    /// Where one item's keys and values are: its runs, in the cache's element type.
    struct ItemRuns {
        let runs: UnsafePointer<ak_kv_run>
        let count: Int
        let dtype: DType
        /// This CPU's conversion kernels (looked up once per item).
        let table = HalfConversion.machine

        /// Row `t` of the keys (`keys`) or values of run `r`, as Float, into `out`.
        func read(run r: Int, row t: Int, keys: Bool, into out: inout [Float]) {
            out.withUnsafeMutableBufferPointer {
                KVRows.readRow(
                    of: runs[r], row: t, keys: keys, dim: $0.count, as: dtype,
                    into: $0.baseAddress!, using: table)
            }
        }
    }

    /// Whether a partial `m, l, acc` of `rows` rows came out of the fast kernel clean: no
    /// row flagged (NaN sum) and a finite accumulator (one vector pass, `scan_rows`: element
    /// by element this check cost more than the kernel at short caches).
    static func partialIsClean(
        _ state: UnsafePointer<Float>, rows: Int, dv: Int, kernels: ak_table
    ) -> Bool {
        for r in 0..<rows where state[rows + r].isNaN { return false }
        var bad: UInt8 = 0
        _ = kernels.scan_rows(1, rows * dv, state + 2 * rows, rows * dv, &bad)
        return bad == 0
    }

    /// Recomputes one item's partial in natural-log units: `m` the largest finite visible
    /// score, `l = Σ e^(s − m)`, and — unlike the kernels' partials — the *normalized*
    /// `acc = Σ e^(s − m)·v / l` (finite values stay finite however many add up); a NaN row
    /// has `l` and `acc` NaN.
    /// - Parameters:
    ///   - query: row `r = g·Sq + s` of the group is query `s` of head `hk·G + g`; element
    ///     `i` of it is `query(r)[i]` (D contiguous).
    ///   - visible: the absolute positions each row sees.
    ///   - qpos: each row's aligned position for ALiBi.
    static func checkedPartial(
        _ p: DecodeProblem, item: Item, query: (Int) -> UnsafePointer<Float>,
        visible: [Range<Int>], qpos: (Int) -> Int, runs: ItemRuns,
        into state: UnsafeMutablePointer<Float>
    ) {
        let (g, sq, d, dv) = (p.group, p.queries, p.headDim, p.valueDim)
        let rows = g * sq
        var qs = [Float](repeating: 0, count: d), acc = [Double](repeating: 0, count: dv)
        var key = [Float](repeating: 0, count: d), value = [Float](repeating: 0, count: dv)
        for r in 0..<rows {
            let h = item.hk * g + r / sq
            let src = query(r)
            var queryBad = false
            for i in 0..<d {
                queryBad = queryBad || !src[i].isFinite
                qs[i] = p.scale * src[i]
            }
            let range = visible[r].clamped(to: item.lo..<item.hi)
            var m = -Double.infinity, l = 0.0, nan = false
            for i in 0..<dv { acc[i] = 0 }
            scan: for run in 0..<runs.count {
                let first = runs.runs[run].first
                let span = (first..<(first + runs.runs[run].count)).clamped(to: range)
                for j in span {
                    runs.read(run: run, row: j - first, keys: true, into: &key)
                    runs.read(run: run, row: j - first, keys: false, into: &value)
                    if queryBad || !key.allSatisfy(\.isFinite) || !value.allSatisfy(\.isFinite) {
                        nan = true
                        break scan
                    }
                    var dot = 0.0
                    for i in 0..<d { dot += Double(qs[i]) * Double(key[i]) }
                    var s = Float(dot)
                    if let alibi = p.alibi {
                        let dist = qpos(r) - j
                        s = s - alibi.slopes[h] * Float(alibi.form == .symmetric ? abs(dist) : dist)
                    }
                    if s.isNaN || s == .infinity {
                        nan = true
                        break scan
                    }
                    if s == -.infinity { continue }
                    let x = Double(s)
                    if x > m {
                        let shrink = exp(m - x)
                        l *= shrink
                        for i in 0..<dv { acc[i] *= shrink }
                        m = x
                    }
                    let w = exp(x - m)
                    l += w
                    for i in 0..<dv { acc[i] += w * Double(value[i]) }
                }
            }
            state[r] = nan ? 0 : Float(m)
            state[rows + r] = nan ? .nan : Float(l)
            for i in 0..<dv {
                state[2 * rows + r * dv + i] = nan ? .nan : l == 0 ? 0 : Float(acc[i] / l)
            }
        }
    }

    /// The log-sum-exp merge of one output row in natural-log units, for a group with a
    /// recomputed item: a fast item's base-2 `m` is converted (`2^m = e^(m·ln 2)`); any NaN
    /// partial makes the row NaN.
    static func mergeNatural(
        row r: Int, rows: Int, dv: Int, items: Range<Int>, partials: UnsafePointer<Float>,
        checked: UnsafePointer<Bool>, into o: UnsafeMutablePointer<Float>,
        logSumExp: UnsafeMutablePointer<Float>?
    ) {
        let partialFloats = partialFloats(rows: rows, dv: dv)
        func m(_ c: Int) -> Double {
            let x = Double(partials[c * partialFloats + r])
            return checked[c] ? x : x * M_LN2
        }
        if items.contains(where: { partials[$0 * partialFloats + rows + r].isNaN }) {
            for i in 0..<dv { o[i] = .nan }
            logSumExp?.pointee = .nan
            return
        }
        let top = items.map(m).max() ?? -.infinity
        var l = 0.0, row = [Double](repeating: 0, count: dv)
        if top > -.infinity {
            for c in items {
                let w = exp(m(c) - top)
                if w == 0 { continue }
                let base = partials + c * partialFloats
                let lc = Double(base[rows + r])
                l += w * lc
                // A recomputed partial's accumulator is normalized (checkedPartial).
                let f = checked[c] ? w * lc : w
                for i in 0..<dv { row[i] += f * Double(base[2 * rows + r * dv + i]) }
            }
        }
        for i in 0..<dv { o[i] = l == 0 ? 0 : Float(row[i] / l) }
        logSumExp?.pointee = l == 0 ? -.infinity : Float(top + log(l))
    }
}
