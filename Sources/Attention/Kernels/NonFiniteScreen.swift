import _AttentionKernels

/// The rule for NaN and infinity, applied once per call before either backend runs
/// (docs/KERNELS.md, "Non-finite values"):
///
/// - a query row holding a NaN or ±inf makes its every score NaN;
/// - a key whose key or value vector holds a NaN or ±inf makes its every score NaN;
/// - a row whose *visible* scores (not hidden by a boolean or structured mask, nor by an
///   additive −inf) include a NaN or +inf outputs NaN, with NaN log-sum-exp and weights;
///   a −inf score weighs 0; finite values, however large, are finite.
///
/// The screen reads Q, K and V once (`ak_scan_rows`). When they are all finite and the scores
/// cannot overflow, nothing changes and the kernels run as always. Otherwise the backends get
/// copies in which a bad query or key row is all NaN and a bad value row is 0 (so that
/// `0 · NaN` in a `P·V` product never poisons a row that cannot see that key), and run in
/// checked mode: natural-log units, every visible score tested, NaN rows marked.
enum NonFiniteScreen {
    /// Largest score magnitude the base-2 fused path accepts without checking:
    /// `|s|·log2 e` stays far below `Float.greatestFiniteMagnitude`.
    static let uncheckedBound = 0x1p100

    /// Screens (and if needed sanitizes) `query`, `key`, `value`; returns whether the
    /// backends must run in checked mode.
    static func apply(
        query: inout Tensor, key: inout Tensor, value: inout Tensor, scale: Float,
        options: AttentionOptions
    ) -> Bool {
        let (qBad, qMax) = scan(query)
        let (kBad, kMax) = scan(key)
        let (vBad, _) = scan(value)
        var bound = Double(abs(scale)) * Double(qMax) * Double(kMax) * Double(query.shape[3])
        if let alibi = options.alibi {
            let steepest = alibi.slopes.reduce(0) { Swift.max($0, Double(abs($1))) }
            bound += steepest * Double(query.shape[2] + key.shape[2])
        }
        let badQueries = qBad.contains(1)
        let badKeys = kBad.contains(1) || vBad.contains(1)
        if badQueries { fill(&query, rows: qBad, with: .nan) }
        if badKeys {
            let rows = zip(kBad, vBad).map { $0 | $1 }
            fill(&key, rows: rows, with: .nan)
            fill(&value, rows: rows, with: 0)
        }
        return badQueries || badKeys || options.mask.hasAdditive || !(bound <= uncheckedBound)
    }

    /// Per row of `[B, H, S, D]` (unit last stride): 1 where it holds a NaN or ±inf; and the
    /// largest |x| over the other rows.
    private static func scan(_ t: Tensor) -> (bad: [UInt8], largest: Float) {
        let (b, h, s, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var bad = [UInt8](repeating: 0, count: b * h * s)
        var largest = [Float](repeating: 0, count: b * h)
        guard s > 0 else { return (bad, 0) }
        t.withUnsafeElements { x in
            bad.withUnsafeMutableBufferPointer { flags in
                largest.withUnsafeMutableBufferPointer { maxima in
                    let x = SendableConstPointer(x), flags = SendablePointer(flags.baseAddress!)
                    let maxima = SendablePointer(maxima.baseAddress!)
                    let (s0, s1, s2) = (t.strides[0], t.strides[1], t.strides[2])
                    // Whole heads per task: a head is S·D floats, enough to pay for a task.
                    parallelFor(count: b * h) { slice, _ in
                        let base = x.base + (slice / h) * s0 + (slice % h) * s1
                        maxima.base[slice] = ak_scan_rows(s, d, base, s2, flags.base + slice * s)
                    }
                }
            }
        }
        return (bad, largest.max() ?? 0)
    }

    /// A row-major copy of `t` with every row flagged in `rows` set to `value`.
    private static func fill(_ t: inout Tensor, rows: [UInt8], with value: Float) {
        t = t.contiguous()
        let d = t.shape[3]
        t.withUnsafeMutableElements { x in
            for (r, flag) in rows.enumerated() where flag != 0 {
                (x + r * d).update(repeating: value, count: d)
            }
        }
    }
}
