import Foundation
import _AttentionKernels

/// The flash-decoding driver: attention of `Sq` new queries per sequence against a cache.
///
/// Work items are (sequence `b`, key/value head `hk`, chunk of positions): each computes, for
/// the `G·Sq` query rows of the group (`G = H / Hkv`, row `g·Sq + s` is head `hk·G + g`,
/// query `s`), the online-softmax partial in base 2 over its chunk (`decode_partial`, each
/// K/V element read once):
/// ```
/// m_c = max_j s_j,  l_c = Σ_j 2^(s_j − m_c),  A_c = Σ_j 2^(s_j − m_c)·v_j
/// ```
/// and the partials of one (b, hk) merge by log-sum-exp:
/// `M = max_c m_c`, `O = Σ_c 2^(m_c − M)·A_c / Σ_c 2^(m_c − M)·l_c` (0 when the sum is 0).
/// Only the positions some query sees are visited (a window reads only its last `W`).
/// Chunks are sized so that there are about 16 items per thread over the whole batch, so
/// the time follows the total number of positions read, not the longest sequence.
enum FlashDecode {
    /// The shortest chunk of positions per item (smaller ones would not cover a call).
    static let minimumChunk = 256

    /// - Parameter intervals: the keys each query sees, when a forward's mask gives them
    ///   (``DecodeProblem/intervals``); `nil`: `options`' causal edge and window.
    static func attend(
        query: Tensor, cache: KVCacheView, options: DecodeOptions,
        outputLayout: FlashAttention.OutputLayout, logSumExp: UnsafeMutablePointer<Float>? = nil,
        intervals: [Range<Int>]? = nil
    ) throws -> Tensor {
        var p = try DecodeProblem(query: query, cache: cache, options: options)
        p.intervals = intervals
        return run(
            p, query: query.strides[3] == 1 ? query : query.contiguous(), cache: cache,
            outputLayout: outputLayout, logSumExp: logSumExp)
    }

    struct Item { let b: Int, hk: Int, lo: Int, hi: Int }

    /// Floats per item's partial (m, l: `rows` each; acc: `rows × dv`), padded to whole cache
    /// lines: items that two workers compute at once never write to one line (each tile
    /// rewrites m, l and acc; a shared line moved between the cores at every tile).
    static func partialFloats(rows: Int, dv: Int) -> Int { (rows * (2 + dv) + 15) / 16 * 16 }

    /// `count` elements of `T` from a cache-line boundary (64 bytes), so that slices of whole
    /// lines share none with their neighbours. Freed with `UnsafeMutableRawPointer(p).deallocate()`.
    static func lineAligned<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let n = Swift.max(1, count)
        return UnsafeMutableRawPointer.allocate(
            byteCount: n * MemoryLayout<T>.stride, alignment: 64
        ).bindMemory(to: T.self, capacity: n)
    }

    /// - Parameter logSumExp: where to write each row's natural-log log-sum-exp
    ///   (`[B, H, Sq]`), or `nil`.
    static func run(
        _ p: DecodeProblem, query: Tensor, cache: KVCacheView,
        outputLayout: FlashAttention.OutputLayout, logSumExp: UnsafeMutablePointer<Float>? = nil
    ) -> Tensor {
        let (sq, g, d, dv) = (p.queries, p.group, p.headDim, p.valueDim)
        let rows = g * sq
        let outShape =
            outputLayout == .bhsd
            ? [p.batch, p.heads, sq, dv] : [p.batch, sq, p.heads, dv]
        if p.batch * p.heads * sq == 0 { return Tensor.zeros(outShape) }

        // Each sequence's visible rows and their union.
        var ranges: [[Range<Int>]] = [], unions: [Range<Int>] = []
        for b in 0..<p.batch {
            let r = (0..<sq).map {
                p.visibleRange(query: $0, length: cache.lengths[b], start: cache.starts[b])
            }
            let nonEmpty = r.filter { !$0.isEmpty }
            let lo = nonEmpty.map(\.lowerBound).min() ?? 0,
                hi = nonEmpty.map(\.upperBound).max() ?? 0
            ranges.append(r)
            unions.append(lo..<hi)
        }
        let total = unions.reduce(0) { $0 + $1.count } * p.kvHeads
        let threads = p.execution.threads
        let perItem = (total + 16 * threads - 1) / (16 * threads)
        let half = p.execution.half.c
        // A bf16 cache on a tile-product kernel multiplies in bf16 pairs (the query rounded
        // to bf16 once per call, exact when it is bf16); otherwise it is widened to fp32.
        let pairs = cache.dtype == .bf16 ? half.decode_partial_bf16 : nil
        let tile = Int(pairs == nil ? AK_DECODE_TILE : AK_DECODE_BF16_TILE)
        let chunk = Swift.max(minimumChunk, (perItem + tile - 1) / tile * tile)  // whole tiles
        var items: [Item] = [], firstItem: [Int] = []  // firstItem[b·Hkv + hk]
        for b in 0..<p.batch {
            for hk in 0..<p.kvHeads {
                firstItem.append(items.count)
                for lo in stride(from: unions[b].lowerBound, to: unions[b].upperBound, by: chunk) {
                    items.append(
                        Item(b: b, hk: hk, lo: lo, hi: Swift.min(lo + chunk, unions[b].upperBound)))
                }
            }
        }
        firstItem.append(items.count)

        // Partials: m, l (rows each) and acc (rows × Dv) per item.
        let partialFloats = partialFloats(rows: rows, dv: dv)
        let workers = Swift.max(1, Swift.min(threads, items.count))
        let maxRuns = cache.segments.map(\.count).max() ?? 0
        let qScale = p.scale * Float(M_LOG2E)
        let slopes = p.alibi.map { a in a.slopes.map { $0 * Float(M_LOG2E) } }
        let kernels = p.execution.kernels.c
        let width = cache.dtype.byteSize
        let pairWords = (d + 1) / 2
        // The kernel's view of each (b, hk)'s query rows, made once here rather than by every
        // chunk's item: rows scaled by scale·log2 e (unscaled and rounded to bf16 pairs for
        // the pair kernel, which scales its scores), ALiBi slopes, each row's visible
        // keys [lo, hi) and aligned query position. Read-only during the loop.
        let groups = p.batch * p.kvHeads
        let groupQuery = lineAligned(Float.self, count: groups * rows * d)
        let groupPairs = lineAligned(
            UInt32.self, count: pairs == nil ? 0 : groups * rows * pairWords)
        let groupSlopes = lineAligned(Float.self, count: groups * rows)
        let groupInts = lineAligned(Int.self, count: groups * 3 * rows)  // lo, hi, qpos
        query.withUnsafeElements { q in
            for b in 0..<p.batch {
                let shift =
                    p.alibi?.alignment.queryShift(queries: sq, keys: cache.lengths[b]) ?? 0
                for hk in 0..<p.kvHeads {
                    let group = b * p.kvHeads + hk
                    let rowsQ = groupQuery + group * rows * d, ints = groupInts + group * 3 * rows
                    for gi in 0..<g {
                        let h = hk * g + gi
                        for s in 0..<sq {
                            let r = gi * sq + s
                            let src =
                                q + b * query.strides[0] + h * query.strides[1] + s
                                * query.strides[2]
                            (rowsQ + r * d).update(from: src, count: d)
                            let range = ranges[b][s]
                            (ints[r], ints[rows + r]) = (range.lowerBound, range.upperBound)
                            ints[2 * rows + r] = s + shift
                            groupSlopes[group * rows + r] = slopes?[h] ?? 0
                        }
                    }
                    if pairs != nil {  // the pair kernel scales its scores instead
                        half.pairs_from_f32!(
                            rows, d, rowsQ, d, groupPairs + group * rows * pairWords, pairWords)
                    } else {
                        // Scaled in place, one pointer: the compiler vectorizes this loop,
                        // not a copy-and-scale between two (it took a sixth of a 16-position
                        // step).
                        for i in 0..<(rows * d) { rowsQ[i] *= qScale }
                    }
                }
            }
        }
        // Per-worker slices in whole cache lines too (16 floats; a run is 64 bytes).
        let perWorkerFloats = (rows * (tile + 1) + 15) / 16 * 16
        let perWorkerRuns = Swift.max(1, maxRuns)
        let partials = lineAligned(Float.self, count: items.count * partialFloats)
        let floats = lineAligned(Float.self, count: workers * perWorkerFloats)
        let runs = lineAligned(ak_kv_run.self, count: workers * perWorkerRuns)
        // Items recomputed by `checkedPartial` (non-finite values or overflowing scores).
        let checked = UnsafeMutablePointer<Bool>.allocate(capacity: Swift.max(1, items.count))
        checked.initialize(repeating: false, count: Swift.max(1, items.count))
        defer {
            for buffer in [
                UnsafeMutableRawPointer(partials), UnsafeMutableRawPointer(floats),
                UnsafeMutableRawPointer(runs), UnsafeMutableRawPointer(groupQuery),
                UnsafeMutableRawPointer(groupPairs), UnsafeMutableRawPointer(groupSlopes),
                UnsafeMutableRawPointer(groupInts),
            ] {
                buffer.deallocate()
            }
            checked.deallocate()
        }

        return Tensor(uninitializedShape: outShape) { out in
            query.withUnsafeElements { q in
                let shared = UncheckedBox((q, out))
                parallelFor(count: items.count, threads: workers) { index, worker in
                    let q = shared.value.0
                    let item = items[index]
                    let group = item.b * p.kvHeads + item.hk
                    let scratch = floats + worker * perWorkerFloats
                    let lo = groupInts + group * 3 * rows, hi = lo + rows, qpos = hi + rows
                    let shift = qpos[0]  // row 0 is query 0
                    let state = partials + index * partialFloats
                    state.update(repeating: -.infinity, count: rows)
                    (state + rows).update(repeating: 0, count: rows * (1 + dv))
                    // The runs of this chunk, for head hk.
                    let myRuns = runs + worker * perWorkerRuns
                    var n = 0
                    for seg in cache.segments[item.b] {
                        let a = Swift.max(item.lo, seg.first),
                            z = Swift.min(item.hi, seg.first + seg.count)
                        if a >= z { continue }
                        myRuns[n] = seg.run(
                            head: item.hk, from: a - seg.first, count: z - a, width: width)
                        n += 1
                    }
                    var args = ak_decode_rows(
                        rows: rows, d: d, dv: dv, q: groupQuery + group * rows * d, lo: lo,
                        hi: hi,
                        slope: slopes == nil ? nil : UnsafePointer(groupSlopes + group * rows),
                        qpos: slopes == nil ? nil : UnsafePointer(qpos),
                        symmetric: p.alibi?.form == .symmetric ? 1 : 0,
                        kvType: cache.dtype.kernelCode, m: state, l: state + rows,
                        acc: state + 2 * rows, scratch: scratch, qPairs: nil, pairScale: 0)
                    if let pairs {
                        args.qPairs = UnsafePointer(groupPairs + group * rows * pairWords)
                        args.pairScale = qScale
                        pairs(&args, n, myRuns)
                    } else {
                        kernels.decode_partial(&args, n, myRuns)
                    }
                    if !partialIsClean(state, rows: rows, dv: dv, kernels: kernels) {
                        checkedPartial(
                            p, item: item,
                            query: { r in
                                q + item.b * query.strides[0] + (item.hk * g + r / sq)
                                    * query.strides[1] + r % sq * query.strides[2]
                            }, visible: (0..<rows).map { ranges[item.b][$0 % sq] },
                            qpos: { r in r % sq + shift },
                            runs: ItemRuns(runs: myRuns, count: n, dtype: cache.dtype), into: state)
                        checked[index] = true
                    }
                }
                merge(
                    p, items: firstItem, partials: partials, checked: checked,
                    output: shared.value.1, layout: outputLayout, logSumExp: logSumExp)
            }
        }
    }

    /// Merges each (b, hk)'s partials by log-sum-exp into the output (zeros where nothing
    /// was visible).
    static func merge(
        _ p: DecodeProblem, items firstItem: [Int], partials: UnsafeMutablePointer<Float>,
        checked: UnsafePointer<Bool>, output: UnsafeMutablePointer<Float>,
        layout: FlashAttention.OutputLayout, logSumExp: UnsafeMutablePointer<Float>?
    ) {
        let (sq, g, dv) = (p.queries, p.group, p.valueDim)
        let rows = g * sq, partialFloats = partialFloats(rows: rows, dv: dv)
        for pair in 0..<(p.batch * p.kvHeads) {
            let (b, hk) = (pair / p.kvHeads, pair % p.kvHeads)
            let first = firstItem[pair], end = firstItem[pair + 1]
            let natural = (first..<end).contains { checked[$0] }
            for r in 0..<rows {
                let (gi, s) = (r / sq, r % sq)
                let h = hk * g + gi
                let o =
                    layout == .bhsd
                    ? output + ((b * p.heads + h) * sq + s) * dv
                    : output + ((b * sq + s) * p.heads + h) * dv
                let lse = logSumExp.map { $0 + (b * p.heads + h) * sq + s }
                if natural {
                    mergeNatural(
                        row: r, rows: rows, dv: dv, items: first..<end, partials: partials,
                        checked: checked, into: o, logSumExp: lse)
                    continue
                }
                var m = -Float.infinity
                for c in first..<end { m = Swift.max(m, partials[c * partialFloats + r]) }
                // Summed in the output row itself (pointer loops, which the compiler
                // vectorizes; an array's checked subscripts it did not).
                o.update(repeating: 0, count: dv)
                var l: Float = 0
                if m > -.infinity {
                    for c in first..<end {
                        let base = partials + c * partialFloats
                        let w = exp2f(base[r] - m)
                        if w == 0 { continue }
                        l = l + w * base[rows + r]
                        let acc = UnsafePointer(base + 2 * rows + r * dv)
                        for i in 0..<dv { o[i] = o[i] + w * acc[i] }
                    }
                }
                let inv: Float = l == 0 ? 0 : 1 / l
                for i in 0..<dv { o[i] = o[i] * inv }
                // 2^m·l = e^(m·ln 2 + ln l); −inf when nothing was visible.
                lse?.pointee = l == 0 ? -.infinity : Float(Double(m) * M_LN2 + log(Double(l)))
            }
        }
    }
}

extension DType {
    /// The decode kernel's code for a cache of this element type (`AK_KV_F32`, `AK_KV_BF16`,
    /// `AK_KV_F16`).
    var kernelCode: Int32 {
        switch self {
        case .f32: 0
        case .bf16: 1
        case .f16: 2
        }
    }
}
