import Foundation
import _AttentionKernels

/// What every task of one fused call shares: the problem, its layout, the input and output
/// pointers, and the scratch arenas (one slice per worker).
struct FlashPlan {
    let problem: AttentionProblem
    let options: AttentionOptions
    let layout: FlashLayout
    let outputLayout: FlashAttention.OutputLayout
    /// Mask, ALiBi and dropout on score tiles, in base 2 (natural units when checked).
    let tile: ScoreTile
    /// `scale · log2 e`: the softmax runs in base 2; `scale` in checked mode.
    let queryScale: Float
    /// The call's kernel variant: every C call goes through it.
    let kernels: ak_table
    /// Checked mode (``AttentionProblem/checksScores``): natural-log units (scores up to
    /// ±FLT_MAX, such as a −3.4e38 additive mask, stay finite) and rows whose visible scores
    /// hold a NaN or +inf are marked with a NaN running sum, so that they output NaN.
    let checked: Bool
    /// Inputs and output in the call's dtype (`Float`, or bf16/f16 bit patterns).
    let query: UnsafeRawPointer, key: UnsafeRawPointer, value: UnsafeRawPointer
    let output: UnsafeMutableRawPointer, logSumExp: UnsafeMutablePointer<Float>
    /// The call's reduced-precision kernels and the C format code of its dtype (bf16/f16).
    let half: ak_half_table
    let format: Int32
    /// `pairDot`'s entries for the call's format: the bf16 ones, or AMX-FP16's f16 ones.
    let pairsFromF32: ak_pairs_from_f32_fn?
    let pairGemm: ak_pair_dot_gemm_fn?
    /// Tiles computed (a test checks that it equals the BlockMask's count).
    let visits: UnsafeMutablePointer<Int>
    let floatArena: UnsafeMutablePointer<Float>, intArena: UnsafeMutablePointer<Int>
    let flagArena: UnsafeMutablePointer<Bool>, ktArena: UnsafeMutablePointer<Float>

    init(
        problem: AttentionProblem, options: AttentionOptions, layout: FlashLayout,
        outputLayout: FlashAttention.OutputLayout, query: UnsafeRawPointer,
        key: UnsafeRawPointer, value: UnsafeRawPointer, output: UnsafeMutableRawPointer,
        logSumExp: UnsafeMutablePointer<Float>, visits: UnsafeMutablePointer<Int>,
        floatArena: UnsafeMutablePointer<Float>, intArena: UnsafeMutablePointer<Int>,
        flagArena: UnsafeMutablePointer<Bool>, ktArena: UnsafeMutablePointer<Float>
    ) {
        self.problem = problem
        self.options = options
        self.layout = layout
        self.outputLayout = outputLayout
        checked = problem.checksScores
        self.tile = ScoreTile(problem, options, base2: !checked)
        self.queryScale = checked ? problem.scale : problem.scale * Float(M_LOG2E)
        self.kernels = problem.execution.kernels.c
        self.half = problem.execution.half.c
        self.format = HalfKernelTable.format(problem.query.dtype)
        let (half, f16) = (problem.execution.half.c, problem.query.dtype == .f16)
        pairsFromF32 = f16 ? half.pairs_from_f32_f16 : half.pairs_from_f32
        pairGemm = f16 ? half.dot_gemm_f16 : half.dot_gemm
        (self.query, self.key, self.value) = (query, key, value)
        (self.output, self.logSumExp, self.visits) = (output, logSumExp, visits)
        (self.floatArena, self.intArena, self.flagArena, self.ktArena) = (
            floatArena, intArena, flagArena, ktArena
        )
    }
}

extension FlashPlan {
    /// `base` as fp32 elements, advanced by `offset` elements.
    func floats(_ base: UnsafeRawPointer, _ offset: Int) -> UnsafePointer<Float> {
        base.assumingMemoryBound(to: Float.self) + offset
    }

    /// `base` as 2-byte elements, advanced by `offset` elements.
    func halves(_ base: UnsafeRawPointer, _ offset: Int) -> UnsafePointer<UInt16> {
        base.assumingMemoryBound(to: UInt16.self) + offset
    }

    func floats(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UnsafeMutablePointer<Float> {
        base.assumingMemoryBound(to: Float.self) + offset
    }
}

/// One worker's buffers and the steps of one query block: pack Q, visit the key blocks the
/// mask leaves visible, write `O / l`.
struct FlashWorker {
    let plan: FlashPlan
    /// Q block in 12-row panels, scores/probabilities, O accumulator, padded V block.
    let qPanels: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    let acc: UnsafeMutablePointer<Float>, vBlockCopy: UnsafeMutablePointer<Float>
    /// Online-softmax state per row: running max m (base 2), running sum l, correction.
    let rowMax: UnsafeMutablePointer<Float>, rowSum: UnsafeMutablePointer<Float>
    let alpha: UnsafeMutablePointer<Float>
    /// Kᵀ of one (batch, kv head), packed block by block as first needed, and which blocks are.
    let kt: UnsafeMutablePointer<Float>, packed: UnsafeMutablePointer<Bool>
    /// Reduced precision: an fp32 block of Q or K rows (`convert`); Q and P in pairs, and V
    /// pairs next to the Kᵀ pairs in `kt` (`pairDot`).
    let converted: UnsafeMutablePointer<Float>
    let qPairs: UnsafeMutablePointer<UInt32>, pPairs: UnsafeMutablePointer<UInt32>
    let ktPairs: UnsafeMutablePointer<UInt32>, vPairs: UnsafeMutablePointer<UInt32>
    /// Which (batch, kv head) `kt` holds (−1: none).
    let ktOwner: UnsafeMutablePointer<Int>
    /// Per-row softmax spans, rows' visible key intervals, per-panel column spans.
    let rowSpans: UnsafeMutablePointer<Int>, rowIntervals: UnsafeMutablePointer<Int>
    let panelSpans: UnsafeMutablePointer<Int>

    // The query block being processed.
    private var b = 0, h = 0, q0 = 0, rows = 0, rowsPad = 0
    /// Element offsets of the current (batch, kv head) in `key` and `value`.
    private var keyBase = 0, valueBase = 0

    init(plan: FlashPlan, worker: Int) {
        self.plan = plan
        let l = plan.layout
        var f = plan.floatArena + worker * l.floatsPerWorker
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { f += n }
            return f
        }
        qPanels = take(l.rowsMax * l.headDim)
        scores = take(l.rowsMax * l.keyBlock)
        acc = take(l.rowsMax * l.valueDimPadded)
        vBlockCopy = take(l.packsValues ? l.keyBlock * l.valueDimPadded : 0)
        rowMax = take(l.rowsMax)
        rowSum = take(l.rowsMax)
        alpha = take(l.rowsMax)
        let extra = take(l.extraFloats)
        converted = extra
        func words(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> UnsafeMutablePointer<UInt32> {
            UnsafeMutableRawPointer(p).bindMemory(to: UInt32.self, capacity: n)
        }
        let dot = l.precision == .pairDot
        qPairs = words(extra, dot ? l.rowsMax * l.pairs : 0)
        pPairs = words(
            extra + (dot ? l.rowsMax * l.pairs : 0), dot ? l.rowsMax * l.keyBlock / 2 : 0)
        kt = plan.ktArena + worker * l.ktFloats
        ktPairs = words(kt, dot ? l.ktFloats : 0)
        vPairs = ktPairs + (dot ? l.keyBlocks * l.pairs * l.keyBlock : 0)
        packed = plan.flagArena + worker * l.keyBlocks
        let ints = plan.intArena + worker * l.intsPerWorker
        rowSpans = ints
        rowIntervals = ints + 2 * l.rowsMax
        panelSpans = ints + 4 * l.rowsMax
        ktOwner = ints + 5 * l.rowsMax
    }

    /// Computes query block `qb` of (batch, head) `slice` into the output.
    mutating func run(slice: Int, queryBlock qb: Int, blocks: BlockMask) {
        let p = plan.problem, l = plan.layout
        (b, h) = (slice / p.heads, slice % p.heads)
        let hk = h / p.group
        q0 = qb * l.queryBlock
        rows = Swift.min(l.queryBlock, p.queries - q0)
        rowsPad = (rows + 11) / 12 * 12
        keyBase = b * p.key.strides[0] + hk * p.key.strides[1]
        valueBase = b * p.value.strides[0] + hk * p.value.strides[1]
        if ktOwner.pointee != b * p.kvHeads + hk {  // a new head: its Kᵀ blocks are stale
            ktOwner.pointee = b * p.kvHeads + hk
            packed.update(repeating: false, count: l.keyBlocks)
        }

        let qp = b * p.query.strides[0] + h * p.query.strides[1] + q0 * p.query.strides[2]
        let ldq = p.query.strides[2]
        switch l.precision {
        case .f32:
            plan.kernels.pack_panels(
                rows, rowsPad, l.headDim, plan.floats(plan.query, qp), ldq, plan.queryScale, qPanels
            )
        case .convert:
            convertRows(rows, l.headDim, plan.query, qp, ldq, into: converted, ld: l.headDim)
            plan.kernels.pack_panels(
                rows, rowsPad, l.headDim, converted, l.headDim, plan.queryScale, qPanels)
        case .pairDot:
            plan.half.pack_rows!(
                rows, rowsPad, l.headDim, plan.halves(plan.query, qp), ldq, qPairs, l.pairs)
        }
        rowMax.update(repeating: -.infinity, count: rowsPad)
        rowSum.update(repeating: 0, count: rowsPad)
        alpha.update(repeating: 1, count: rowsPad)
        acc.update(repeating: 0, count: rowsPad * l.valueDimPadded)
        if plan.tile.intervalMask {
            for r in 0..<rows {
                let v = plan.options.mask.visibleInterval(
                    query: q0 + r, queries: p.queries, keys: p.keys)!
                (rowIntervals[2 * r], rowIntervals[2 * r + 1]) = (v.lowerBound, v.upperBound)
            }
        }

        for (kb, kind) in blocks.visits(forQueryBlock: qb) {
            _ = ak_atomic_fetch_add(plan.visits, 1)
            if kind == .partial && plan.tile.intervalMask {
                intervalTile(kb)
            } else {
                wholeTile(kb, partial: kind == .partial)
            }
        }
        finish(slice: slice)
    }

    /// Columns of key block `kb` (clipped at the sequence end), 32-padded; packs its Kᵀ on
    /// first use (and for `pairDot` its V pairs); returns its V block (in place, or copied
    /// when the width needs padding or the dtype converting). `kt` and `v` point to fp32
    /// data, or to pairs for `pairDot`.
    private func keyBlock(_ kb: Int) -> (
        k0: Int, cols: Int, colsPad: Int, kt: UnsafeRawPointer, v: UnsafeRawPointer, ldv: Int
    ) {
        let p = plan.problem, l = plan.layout
        let k0 = kb * l.keyBlock, cols = Swift.min(l.keyBlock, p.keys - k0)
        let colsPad = (cols + 31) / 32 * 32
        let ks = p.key.strides[2], vs = p.value.strides[2]
        let keys = keyBase + k0 * ks, values = valueBase + k0 * vs
        if l.precision == .pairDot {
            let ktBlock = ktPairs + kb * l.pairs * l.keyBlock
            let vBlock = vPairs + kb * l.keyBlock / 2 * l.valueDimPadded
            if !packed[kb] {
                plan.half.pack_transposed!(
                    cols, l.headDim, plan.halves(plan.key, keys), ks, ktBlock, l.keyBlock, colsPad)
                plan.half.pack_interleaved!(
                    cols, l.valueDim, plan.halves(plan.value, values), vs, vBlock,
                    l.valueDimPadded, l.valueDimPadded)
                packed[kb] = true
            }
            return (k0, cols, colsPad, UnsafeRawPointer(ktBlock), UnsafeRawPointer(vBlock), 0)
        }
        let ktBlock = kt + kb * l.headDim * l.keyBlock
        if !packed[kb] {
            if case .convert = l.precision {
                convertRows(cols, l.headDim, plan.key, keys, ks, into: converted, ld: l.headDim)
                plan.kernels.pack_transposed(
                    cols, l.headDim, converted, l.headDim, ktBlock, l.keyBlock, colsPad)
            } else {
                plan.kernels.pack_transposed(
                    cols, l.headDim, plan.floats(plan.key, keys), ks, ktBlock, l.keyBlock, colsPad)
            }
            packed[kb] = true
        }
        if case .convert = l.precision {  // padding columns stay 0 from the zeroed arena
            convertRows(
                cols, l.valueDim, plan.value, values, vs, into: vBlockCopy, ld: l.valueDimPadded)
            return (
                k0, cols, colsPad, UnsafeRawPointer(ktBlock), UnsafeRawPointer(vBlockCopy),
                l.valueDimPadded
            )
        }
        if l.packsValues {
            plan.kernels.pack_scaled(
                cols, l.valueDim, plan.floats(plan.value, values), vs, 1, vBlockCopy,
                l.valueDimPadded, l.valueDimPadded)
            return (
                k0, cols, colsPad, UnsafeRawPointer(ktBlock), UnsafeRawPointer(vBlockCopy),
                l.valueDimPadded
            )
        }
        return (
            k0, cols, colsPad, UnsafeRawPointer(ktBlock),
            UnsafeRawPointer(plan.floats(plan.value, values)), vs
        )
    }

    /// Widens `rows` rows of `width` bf16/f16 elements (row stride `ld` elements, from
    /// element `offset` of `base`) into fp32 rows of stride `ldOut`.
    private func convertRows(
        _ rows: Int, _ width: Int, _ base: UnsafeRawPointer, _ offset: Int, _ ld: Int,
        into out: UnsafeMutablePointer<Float>, ld ldOut: Int
    ) {
        let src = plan.halves(base, offset)
        for r in 0..<rows { plan.half.to_f32(plan.format, width, src + r * ld, out + r * ldOut) }
    }

    /// S[rows × width] = Q panels from row `p0` · Kᵀ columns `lo…` (scaled), into `out`.
    private func scoreProduct(
        rows: Int, from p0: Int, width: Int, kt: UnsafeRawPointer, lo: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let l = plan.layout, bc = l.keyBlock
        if l.precision == .pairDot {
            plan.pairGemm!(
                rows, width, l.pairs, qPairs + p0 * l.pairs, l.pairs,
                kt.assumingMemoryBound(to: UInt32.self) + lo, bc, out, bc, plan.queryScale, nil)
        } else {
            plan.kernels.tile_gemm(
                0, rows, width, l.headDim, qPanels + p0 * l.headDim, l.headDim,
                kt.assumingMemoryBound(to: Float.self) + lo, bc, out, bc, 0, nil)
        }
    }

    /// O[rows from p0] = alpha·O + P[rows × depth from column lo] · V[lo…]: P is rounded to
    /// pairs of the call's format first for `pairDot`.
    private func valueProduct(
        rows: Int, from p0: Int, lo: Int, depth: Int, v: UnsafeRawPointer, ldv: Int
    ) {
        let l = plan.layout, bc = l.keyBlock, dvp = l.valueDimPadded
        let pTile = scores + p0 * bc + lo
        if l.precision == .pairDot {
            plan.pairsFromF32!(rows, depth, pTile, bc, pPairs, bc / 2)
            plan.pairGemm!(
                rows, dvp, (depth + 1) / 2, pPairs, bc / 2,
                v.assumingMemoryBound(to: UInt32.self) + lo / 2 * dvp, dvp, acc + p0 * dvp, dvp, 0,
                alpha + p0)
        } else {
            plan.kernels.tile_gemm(
                1, rows, dvp, depth, pTile, bc, v.assumingMemoryBound(to: Float.self) + lo * ldv,
                ldv, acc + p0 * dvp, dvp, 1, alpha + p0)
        }
    }

    /// A full tile, or a partial one whose mask is tested element by element.
    private func wholeTile(_ kb: Int, partial: Bool) {
        let l = plan.layout, bc = l.keyBlock, t = plan.tile
        let (k0, cols, colsPad, ktBlock, v, ldv) = keyBlock(kb)
        scoreProduct(rows: rowsPad, from: 0, width: colsPad, kt: ktBlock, lo: 0, into: scores)
        if partial {
            t.applyMask(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: scores, ld: bc)
        }
        t.applyALiBi(h: h, q0: q0, rows: rows, k0: k0, cols: cols, scores: scores, ld: bc)
        markNonFiniteRows(cols: cols, scores: scores)
        plan.kernels.online_softmax(
            rows, cols, scores, bc, rowMax, rowSum, alpha, nil, plan.checked ? 1 : 0)
        t.applyDropout(b: b, h: h, q0: q0, rows: rows, k0: k0, cols: cols, weights: scores, ld: bc)
        valueProduct(rows: rowsPad, from: 0, lo: 0, depth: cols, v: v, ldv: ldv)
    }

    /// A partial tile of an interval mask (causal diagonal, window edge): the products run
    /// per 12-row panel over the 16-aligned columns its rows can see (the diagonal costs
    /// about half a tile); mask and softmax run once over the union of those spans, the mask
    /// hiding every column a row cannot see, the softmax covering each row's own span.
    private func intervalTile(_ kb: Int) {
        let l = plan.layout, bc = l.keyBlock, t = plan.tile
        let (k0, cols, colsPad, ktBlock, v, ldv) = keyBlock(kb)
        // Row r's visible columns in this tile, or (0, 0).
        func local(_ r: Int) -> (Int, Int) {
            let a = Swift.max(rowIntervals[2 * r] - k0, 0),
                z = Swift.min(rowIntervals[2 * r + 1] - k0, cols)
            return a < z ? (a, z) : (0, 0)
        }
        var uLo = cols, uHi = 0
        for p0 in stride(from: 0, to: rows, by: 12) {
            var a = cols, z = 0
            for r in p0..<Swift.min(rows, p0 + 12) {
                let (x, y) = local(r)
                if x < y { (a, z) = (Swift.min(a, x), Swift.max(z, y)) }
            }
            let lo = a < z ? a & ~15 : 0
            let hi16 = a < z ? Swift.min(colsPad, (z + 15) & ~15) : 0
            if hi16 > lo {
                scoreProduct(
                    rows: 12, from: p0, width: hi16 - lo, kt: ktBlock, lo: lo,
                    into: scores + p0 * bc + lo)
            }
            let hi = Swift.max(lo, Swift.min(cols, hi16))
            (panelSpans[2 * (p0 / 12)], panelSpans[2 * (p0 / 12) + 1]) = (lo, hi)
            if hi > lo { (uLo, uHi) = (Swift.min(uLo, lo), Swift.max(uHi, hi)) }
        }
        if uLo >= uHi { (uLo, uHi) = (0, 0) }
        let sp = scores + uLo, width = uHi - uLo
        for r in 0..<rows {
            let (x, y) = local(r)
            let row = sp + r * bc
            let a = x < y ? x - uLo : width, z = x < y ? y - uLo : width
            if a > 0 { row.update(repeating: -.infinity, count: a) }
            if z < width { (row + z).update(repeating: -.infinity, count: width - z) }
            let lo = x < y ? x & ~15 : uLo
            let hi = x < y ? Swift.min(uHi, (y + 15) & ~15) : uLo
            (rowSpans[2 * r], rowSpans[2 * r + 1]) = (lo - uLo, Swift.max(lo, hi) - uLo)
        }
        t.applyALiBi(h: h, q0: q0, rows: rows, k0: k0 + uLo, cols: width, scores: sp, ld: bc)
        markNonFiniteRows(cols: width, scores: sp)
        plan.kernels.online_softmax(
            rows, width, sp, bc, rowMax, rowSum, alpha, rowSpans, plan.checked ? 1 : 0)
        t.applyDropout(
            b: b, h: h, q0: q0, rows: rows, k0: k0 + uLo, cols: width, weights: sp, ld: bc)
        for p0 in stride(from: 0, to: rows, by: 12) {
            let lo = panelSpans[2 * (p0 / 12)], hi = panelSpans[2 * (p0 / 12) + 1]
            valueProduct(rows: 12, from: p0, lo: lo, depth: hi - lo, v: v, ldv: ldv)
        }
    }

    /// Checked mode: a row whose visible scores in this tile hold a NaN or +inf gets a NaN
    /// running sum, which every later step keeps (`l·alpha + Σp`) and `finish` turns into a
    /// NaN output row and log-sum-exp.
    private func markNonFiniteRows(cols: Int, scores: UnsafeMutablePointer<Float>) {
        guard plan.checked else { return }
        plan.tile.forEachNonFiniteRow(
            rows: rows, cols: cols, scores: scores, ld: plan.layout.keyBlock
        ) {
            rowSum[$0] = .nan
        }
    }

    /// Writes `O / l` (0 for rows that saw nothing, NaN for rows marked by
    /// `markNonFiniteRows`) and, when asked, the natural log-sum-exp: `(m + log2 l)·ln 2`
    /// from the base-2 state, `m + log l` in checked mode.
    private func finish(slice: Int) {
        let p = plan.problem, l = plan.layout, sq = p.queries, dv = l.valueDim
        let bshd = plan.outputLayout == .bshd
        let out = bshd ? ((b * sq + q0) * p.heads + h) * dv : (slice * sq + q0) * dv
        let ldo = bshd ? p.heads * dv : dv
        if p.query.dtype == .f32 {
            plan.kernels.finalize_rows(
                rows, dv, acc, l.valueDimPadded, rowSum, plan.floats(plan.output, out), ldo)
        } else {  // O / l in place in fp32, then rounded once into the output's dtype
            plan.kernels.finalize_rows(
                rows, dv, acc, l.valueDimPadded, rowSum, acc, l.valueDimPadded)
            let o = plan.output.assumingMemoryBound(to: UInt16.self) + out
            for r in 0..<rows {
                plan.half.from_f32(plan.format, dv, acc + r * l.valueDimPadded, o + r * ldo)
            }
        }
        if plan.options.returnLogSumExp {
            for r in 0..<rows {
                let (m, l) = (rowMax[r], rowSum[r])
                plan.logSumExp[slice * sq + q0 + r] =
                    l.isNaN
                    ? .nan
                    : l == 0
                        ? -.infinity : plan.checked ? m + logf(l) : (m + log2f(l)) * Float(M_LN2)
            }
        }
    }
}

extension FlashAttention {
    /// An empty problem (`B`, `H` or `Sq` zero: an empty output) or one with no key
    /// (`Sk = 0`: every row sees nothing, so zeros and a −inf log-sum-exp, as PyTorch's
    /// softmax over an empty axis gives). No kernel runs.
    static func emptyResult(
        _ p: AttentionProblem, options: AttentionOptions, outputLayout: OutputLayout
    ) -> (output: Tensor, logSumExp: Tensor?, visitedTiles: Int) {
        let shape =
            outputLayout == .bhsd
            ? [p.batch, p.heads, p.queries, p.valueDim] : [p.batch, p.queries, p.heads, p.valueDim]
        // B·H·Sq elements: fewer than the query's, so the count cannot overflow.
        let rows = p.batch * p.heads * p.queries
        let lse =
            options.returnLogSumExp
            ? Tensor(
                unchecked: [p.batch, p.heads, p.queries],
                storage: [Float](repeating: -.infinity, count: rows)) : nil
        return (Tensor.zeros(shape).converted(to: p.query.dtype), lse, 0)
    }
}
