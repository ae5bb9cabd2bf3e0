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
/// The screen reads Q, K and V once (the `scan_rows` kernel). When they are all finite and the scores
/// cannot overflow, nothing changes and the kernels run as always. Otherwise the backends get
/// copies in which a bad query or key row is all NaN and a bad value row is 0 (so that
/// `0 · NaN` in a `P·V` product never poisons a row that cannot see that key), and run in
/// checked mode: natural-log units, every visible score tested, NaN rows marked.
enum NonFiniteScreen {
    /// Largest score magnitude the base-2 fused path accepts without checking:
    /// `|s|·log2 e` stays far below `Float.greatestFiniteMagnitude`.
    static let uncheckedBound = 0x1p100

    /// Screens (and if needed sanitizes) `query`, `key`, `value` with the call's kernels and
    /// threads; returns whether the backends must run in checked mode, and whether the
    /// *unscaled* products stay below the bound too (`D·max|q|·max|k|` over the finite
    /// rows): the bf16 pair kernels sum `q·k` before they scale it, so with a small scale
    /// the sum can overflow where `scale·q·k` does not, and they may run only then; and the
    /// largest |v| over the finite value rows.
    static func apply(
        query: inout Tensor, key: inout Tensor, value: inout Tensor, scale: Float,
        options: AttentionOptions, execution: ResolvedExecution
    ) -> (checked: Bool, unscaledProductsFit: Bool, largestValue: Float) {
        let scanned = scan([query, key, value], execution: execution)
        let (qBad, qMax) = scanned[0], (kBad, kMax) = scanned[1], (vBad, vMax) = scanned[2]
        let products = Double(qMax) * Double(kMax) * Double(query.shape[3])
        var bound = Double(abs(scale)) * products
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
        return (
            badQueries || badKeys || options.mask.hasAdditive || !(bound <= uncheckedBound),
            products <= uncheckedBound, vMax
        )
    }

    /// For each `[B, H, S, D]` tensor (unit last stride), per row: 1 where it holds a NaN or
    /// ±inf; and the largest |x| over the other rows. One pass, a task per head of each
    /// tensor (S·D floats, enough to pay for a task), on one thread for small inputs.
    private static func scan(_ tensors: [Tensor], execution: ResolvedExecution) -> [(
        bad: [UInt8], largest: Float
    )] {
        let kernels = execution.kernels.c, half = execution.half.c
        let slices = tensors.map { $0.shape[0] * $0.shape[1] }
        let firstSlice = slices.indices.map { slices[..<$0].reduce(0, +) }
        let firstRow = tensors.indices.map { t in
            tensors[..<t].reduce(0) { $0 + $1.shape[0] * $1.shape[1] * $1.shape[2] }
        }
        var flags = [UInt8](repeating: 0, count: tensors.reduce(1) { $0 + $1.count / $1.shape[3] })
        var maxima = [Float](repeating: 0, count: slices.reduce(1, +))
        let small = tensors.reduce(0) { $0 + $1.count } < 1 << 18
        withElements(of: tensors) { bases in
            flags.withUnsafeMutableBufferPointer { f in
                maxima.withUnsafeMutableBufferPointer { m in
                    let f = SendablePointer(f.baseAddress!), m = SendablePointer(m.baseAddress!)
                    let task = { (item: Int) in
                        let t = firstSlice.lastIndex { $0 <= item }!, x = tensors[t]
                        let (slice, h, s) = (item - firstSlice[t], x.shape[1], x.shape[2])
                        let base = (slice / h) * x.strides[0] + (slice % h) * x.strides[1]
                        let bad = f.base + firstRow[t] + slice * s
                        m.base[item] =
                            x.dtype == .f32
                            ? kernels.scan_rows(
                                s, x.shape[3], bases[t].assumingMemoryBound(to: Float.self) + base,
                                x.strides[2], bad)
                            : half.scan_rows(
                                HalfKernelTable.format(x.dtype), s, x.shape[3],
                                bases[t].assumingMemoryBound(to: UInt16.self) + base, x.strides[2],
                                bad)
                    }
                    if small {
                        for item in 0..<slices.reduce(0, +) { task(item) }
                    } else {
                        parallelFor(count: slices.reduce(0, +), threads: execution.threads) {
                            item, _ in task(item)
                        }
                    }
                }
            }
        }
        return tensors.indices.map { t in
            let rows = tensors[t].count / tensors[t].shape[3]
            return (
                Array(flags[firstRow[t]..<(firstRow[t] + rows)]),
                maxima[firstSlice[t]..<(firstSlice[t] + slices[t])].max() ?? 0
            )
        }
    }

    /// Calls `body` with the address of element [0, 0, …] of each tensor (in its dtype).
    private static func withElements(
        of tensors: ArraySlice<Tensor>, _ pointers: [UnsafeRawPointer] = [],
        _ body: ([UnsafeRawPointer]) -> Void
    ) {
        guard let first = tensors.first else { return body(pointers) }
        first.withUnsafeRawElements {
            withElements(of: tensors.dropFirst(), pointers + [$0], body)
        }
    }

    private static func withElements(
        of tensors: [Tensor], _ body: ([UnsafeRawPointer]) -> Void
    ) {
        withElements(of: tensors[...], [], body)
    }

    /// A row-major copy of `t` with every row flagged in `rows` set to `value`.
    private static func fill(_ t: inout Tensor, rows: [UInt8], with value: Float) {
        t = t.contiguous()
        let d = t.shape[3]
        if t.dtype != .f32 {
            let bits = t.dtype.bits(value)
            t.withUnsafeMutableHalfElements { x in
                for (r, flag) in rows.enumerated() where flag != 0 {
                    (x + r * d).update(repeating: bits, count: d)
                }
            }
            return
        }
        t.withUnsafeMutableElements { x in
            for (r, flag) in rows.enumerated() where flag != 0 {
                (x + r * d).update(repeating: value, count: d)
            }
        }
    }
}
