import Foundation
import _AttentionKernels

/// One allocation of cache storage: keys `[units, heads, tokens, headDim]` then values
/// `[units, heads, tokens, valueDim]`, in the cache's element type. A ``KVCache`` page has
/// one unit per sequence; a ``PagedKVCache``'s pool has one unit per block.
///
/// The values of one (unit, head) are rows, or — f32 caches whose `valueDim` is a multiple
/// of `AK_DECODE_VBLOCK` (64) — *panels* of `valuePanel` positions, each stored block by
/// block: columns `c ..< c + 64` of its rows, then the next 64 columns (`ak_kv_run` in
/// AttentionKernels.h). The decode kernel's value pass reads 64 columns of a tile's rows at
/// a time; in panels that pass reads memory in order, which the hardware prefetchers follow
/// (docs/KERNELS.md, "Decoding: memory order and value panels"). 2-byte caches keep rows:
/// their steps are bound by arithmetic more than by memory (an f16 step got slower with the
/// key-order loop that goes with panels), and the bf16 pair kernel interleaves two whole
/// rows.
///
/// A class so that a cache's copies share pages until one of them writes (copy-on-write per
/// page), and so that a page keeps its address for its whole life: appending to a cache
/// never moves what it already holds.
final class KVPage: @unchecked Sendable {
    let units: Int, heads: Int, tokens: Int, headDim: Int, valueDim: Int
    let dtype: DType
    /// Positions per value panel (0: value rows).
    let valuePanel: Int
    private let bytes: UnsafeMutableRawPointer
    private let keyBytes: Int, valueBytes: Int

    /// The byte count of a page, or `nil` when it overflows `Int`.
    static func byteCount(
        units: Int, heads: Int, tokens: Int, headDim: Int, valueDim: Int, dtype: DType
    ) -> Int? {
        var n = dtype.byteSize
        for f in [units, heads, tokens, headDim + valueDim] {
            let (p, o) = n.multipliedReportingOverflow(by: f)
            if o { return nil }
            n = p
        }
        return n
    }

    /// The panel height for values of `valueDim` columns in `dtype` when panels must not
    /// straddle runs of `unit` slots (a page's tokens, a pool's block size): the largest
    /// divisor of `unit` up to `AK_DECODE_TILE` (32), or 0 (rows) when panels do not apply or
    /// that divisor is below 16 — the kernel's tiles stop at panel ends, and a tile of a few
    /// positions would pay the per-tile work (softmax, accumulator load and store) for
    /// nothing (e.g. 2·37 positions: panels of 2).
    static func valuePanel(unit: Int, valueDim: Int, dtype: DType) -> Int {
        guard dtype == .f32, valueDim % Int(AK_DECODE_VBLOCK) == 0, unit > 1 else { return 0 }
        let p = (1...Swift.min(unit, Int(AK_DECODE_TILE))).last { unit % $0 == 0 }!
        return p >= minimumPanel ? p : 0
    }

    /// The smallest panel height used (``valuePanel(unit:valueDim:dtype:)``).
    static let minimumPanel = 16

    /// - Parameters:
    ///   - panelUnit: the runs of slots a panel must not straddle (`valuePanel`); `tokens`
    ///     when nil.
    ///   - alreadyHeld: bytes the cache growing by this page holds already (its other
    ///     pages), counted against the ceiling with it.
    /// - Precondition: `byteCount(...)` is not `nil` (callers validate first).
    /// - Throws: ``AttentionError`` naming `argument` when the page is larger than physical
    ///   memory or the cgroup memory limit (``MemoryBudget/allocationCeiling()``: memory
    ///   past that limit would be granted and the process killed when an append touches it),
    ///   or the system refuses it (instead of the allocator's trap).
    init(
        units: Int, heads: Int, tokens: Int, headDim: Int, valueDim: Int, dtype: DType,
        panelUnit: Int? = nil, alreadyHeld: Int = 0, argument: String
    ) throws {
        (self.units, self.heads, self.tokens) = (units, heads, tokens)
        (self.headDim, self.valueDim, self.dtype) = (headDim, valueDim, dtype)
        valuePanel = Self.valuePanel(unit: panelUnit ?? tokens, valueDim: valueDim, dtype: dtype)
        keyBytes = units * heads * tokens * headDim * dtype.byteSize
        valueBytes = units * heads * tokens * valueDim * dtype.byteSize
        let count = Swift.max(keyBytes + valueBytes, 64)
        let ceiling = MemoryBudget.allocationCeiling()
        var storage: UnsafeMutableRawPointer? = nil
        let total = UInt64(count).addingReportingOverflow(UInt64(Swift.max(0, alreadyHeld)))
        guard !total.overflow, total.partialValue <= ceiling.bytes,
            posix_memalign(&storage, 64, count) == 0, let storage
        else {
            let held =
                alreadyHeld > 0
                ? " besides the \(formatBytes(Double(alreadyHeld))) the cache holds" : ""
            throw AttentionError.argument(
                argument,
                "\(tokens) positions of \(units)×\(heads)×(\(headDim)+\(valueDim)) \(dtype) elements need \(formatBytes(Double(count)))\(held), which cannot be allocated (\(ceiling.description))"
            )
        }
        bytes = storage
        adviseHugePages(
            bytes.bindMemory(to: Float.self, capacity: (keyBytes + valueBytes) / 4),
            count: (keyBytes + valueBytes) / 4)
    }

    deinit { free(bytes) }

    /// An empty page of the same shape and layout as `page`.
    private convenience init(copying page: KVPage, argument: String) throws {
        try self.init(
            units: page.units, heads: page.heads, tokens: page.tokens, headDim: page.headDim,
            valueDim: page.valueDim, dtype: page.dtype, panelUnit: page.valuePanel,
            argument: argument)
    }

    /// A copy with the same contents (copy-on-write of a shared page).
    /// - Throws: ``AttentionError`` naming `argument` when it cannot be allocated.
    func copy(argument: String) throws -> KVPage {
        let c = try KVPage(copying: self, argument: argument)
        c.bytes.copyMemory(from: bytes, byteCount: keyBytes + valueBytes)
        return c
    }

    /// Bytes of keys and values this page holds.
    var storageBytes: Int { keyBytes + valueBytes }

    /// The address of the storage, as an identity (tests check that pages never move).
    var address: UInt { UInt(bitPattern: bytes) }

    private func keyRow(_ unit: Int, _ head: Int, _ slot: Int) -> UnsafeMutableRawPointer {
        bytes + (((unit * heads + head) * tokens + slot) * headDim) * dtype.byteSize
    }

    /// The values of (unit, head): rows or panels from slot 0.
    private func valueBase(_ unit: Int, _ head: Int) -> UnsafeMutableRawPointer {
        bytes + keyBytes + (unit * heads + head) * tokens * valueDim * dtype.byteSize
    }

    /// Stores position `s` of batch entry `b` of the inputs (every head) at `slot` of `unit`.
    func store(
        keys: KVInput, values: KVInput, batchEntry b: Int, position s: Int, unit: Int, slot: Int,
        using table: ak_half_table
    ) {
        keys.withRows { k in
            values.withRows { v in
                for h in 0..<heads {
                    KVRows.write(
                        k(b, h, s), count: headDim, as: dtype, to: keyRow(unit, h, slot),
                        using: table)
                    let layout = ValueLayout(panel: valuePanel, rowStride: valueDim)
                    layout.forEachPiece(row: slot, dim: valueDim) { column, count, offset in
                        KVRows.write(
                            v(b, h, s) + column, count: count, as: dtype,
                            to: valueBase(unit, h) + offset * dtype.byteSize, using: table)
                    }
                }
            }
        }
    }

    /// Copies slots `source ..< source + count` of `unit` to `destination ..< destination +
    /// count` (keys and values of every head; the ranges do not overlap). With value panels,
    /// all three are multiples of the panel height, so each range's values are one span.
    func copySlots(unit: Int, from source: Int, to destination: Int, count: Int) {
        precondition(
            valuePanel == 0
                || (source % valuePanel == 0 && destination % valuePanel == 0
                    && count % valuePanel == 0),
            "copySlots: whole value panels")
        let layout = ValueLayout(panel: valuePanel, rowStride: valueDim)
        let width = dtype.byteSize
        for h in 0..<heads {
            keyRow(unit, h, destination).copyMemory(
                from: keyRow(unit, h, source), byteCount: count * headDim * width)
            (valueBase(unit, h) + layout.offset(row: destination) * width).copyMemory(
                from: valueBase(unit, h) + layout.offset(row: source) * width,
                byteCount: count * valueDim * width)
        }
    }

    /// Positions `first ..< first + count` held at slots `slot ..< slot + count` of `unit`.
    func segment(unit: Int, slot: Int, first: Int, count: Int) -> KVSegment {
        KVSegment(
            keys: keyRow(unit, 0, slot), values: valueBase(unit, 0),
            keyHeadStride: tokens * headDim, valueHeadStride: tokens * valueDim,
            keyRowStride: headDim, valueLayout: ValueLayout(panel: valuePanel, rowStride: valueDim),
            valueRow: slot, first: first, count: count)
    }
}

/// Conversion of rows between `Float` and a cache's element type.
enum KVRows {
    /// Writes `count` floats from `source` as `dtype` elements at `destination` (rounded to
    /// nearest even by the bulk kernels of `table`).
    static func write(
        _ source: UnsafePointer<Float>, count: Int, as dtype: DType,
        to destination: UnsafeMutableRawPointer, using table: ak_half_table
    ) {
        switch dtype {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16, .f16:
            table.from_f32(
                HalfKernelTable.format(dtype), count, source,
                destination.assumingMemoryBound(to: UInt16.self))
        }
    }

    /// Reads the key (`keys`) or value row of position `run.first + t` (`dim` columns) as
    /// floats into `destination` (exact).
    static func readRow(
        of run: ak_kv_run, row t: Int, keys: Bool, dim: Int, as dtype: DType,
        into destination: UnsafeMutablePointer<Float>, using table: ak_half_table
    ) {
        if keys {
            return read(
                run.k + t * run.ldk * dtype.byteSize, count: dim, as: dtype, into: destination,
                using: table)
        }
        let layout = ValueLayout(panel: run.vpanel, rowStride: run.vpanel == 0 ? run.ldv : dim)
        layout.forEachPiece(row: run.vrow + t, dim: dim) { column, count, offset in
            read(
                run.v + offset * dtype.byteSize, count: count, as: dtype,
                into: destination + column, using: table)
        }
    }

    /// Reads `count` `dtype` elements at `source` as floats into `destination` (exact).
    static func read(
        _ source: UnsafeRawPointer, count: Int, as dtype: DType,
        into destination: UnsafeMutablePointer<Float>, using table: ak_half_table
    ) {
        switch dtype {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .bf16, .f16:
            table.to_f32(
                HalfKernelTable.format(dtype), count, source.assumingMemoryBound(to: UInt16.self),
                destination)
        }
    }
}

/// How value rows are stored: rows `rowStride` elements apart (`panel` 0), or panels of
/// `panel` rows stored in blocks of `AK_DECODE_VBLOCK` columns (see ``KVPage``; the kernel's
/// side is `ak_kv_run` and `dec_value_offset` in decode_impl.h).
struct ValueLayout {
    let panel: Int
    /// Row stride (rows), or the row width (panels).
    let rowStride: Int

    /// The element offset of row `r`'s first column (of its first block, in panels).
    func offset(row r: Int) -> Int {
        panel == 0
            ? r * rowStride : r / panel * panel * rowStride + r % panel * Int(AK_DECODE_VBLOCK)
    }

    /// Calls `body` with row `r`'s `dim` columns as contiguous pieces: (first column,
    /// count, element offset). No allocation: appends call it per position and head.
    func forEachPiece(row r: Int, dim: Int, _ body: (Int, Int, Int) -> Void) {
        let base = offset(row: r)
        if panel == 0 { return body(0, dim, base) }
        let block = Int(AK_DECODE_VBLOCK)
        for column in stride(from: 0, to: dim, by: block) {
            body(column, block, base + column * panel)
        }
    }
}

/// A run of cached positions `first ..< first + count` of one sequence: the key of position
/// `first + t` of kv head `h` is at element `h·keyHeadStride + t·keyRowStride` of `keys`; its
/// value is row `valueRow + t` of `values + h·valueHeadStride`, laid out as `valueLayout`
/// says. A ``KVCache`` page or ring half, a ``PagedKVCache`` block, or the key/value tensors
/// of a forward call.
struct KVSegment {
    let keys: UnsafeRawPointer, values: UnsafeRawPointer
    let keyHeadStride: Int, valueHeadStride: Int
    let keyRowStride: Int
    let valueLayout: ValueLayout
    let valueRow: Int
    let first: Int, count: Int

    /// The kernel's run for kv head `h`, positions `first + t ..< first + t + n`, in elements
    /// of `width` bytes.
    func run(head h: Int, from t: Int, count n: Int, width: Int) -> ak_kv_run {
        let l = valueLayout, row = valueRow + t
        let panelStart = l.panel == 0 ? row : row / l.panel * l.panel
        return ak_kv_run(
            k: keys + (h * keyHeadStride + t * keyRowStride) * width,
            v: values + (h * valueHeadStride + l.offset(row: panelStart)) * width,
            ldk: keyRowStride, ldv: l.panel == 0 ? l.rowStride : 0, first: first + t, count: n,
            vpanel: l.panel, vrow: row - panelStart)
    }
}

/// What the decode kernel reads from a cache: per sequence, the positions it holds
/// (`start ..< length`, absolute) as segments in order.
struct KVCacheView {
    let dtype: DType
    let kvHeads: Int, headDim: Int, valueDim: Int
    let lengths: [Int], starts: [Int]
    let segments: [[KVSegment]]
    /// The cache's window when it keeps only the last W positions (ring buffer).
    let window: Int?
}

/// Reads segments back as `Float` tensors `[Hkv, count, D]` (keys) and `[Hkv, count, Dv]`.
extension KVCacheView {
    func materialize(sequence b: Int) -> (keys: Tensor, values: Tensor) {
        let n = lengths[b] - starts[b]
        let table = HalfConversion.machine
        func gather(_ dim: Int, _ isKey: Bool) -> Tensor {
            Tensor(uninitializedShape: [kvHeads, n, dim]) { out in
                for seg in segments[b] {
                    for h in 0..<kvHeads {
                        let run = seg.run(head: h, from: 0, count: seg.count, width: dtype.byteSize)
                        for t in 0..<seg.count {
                            KVRows.readRow(
                                of: run, row: t, keys: isKey, dim: dim, as: dtype,
                                into: out + (h * n + seg.first - starts[b] + t) * dim,
                                using: table)
                        }
                    }
                }
            }
        }
        return (gather(headDim, true), gather(valueDim, false))
    }
}

/// A validated `[Hkv, S, D]` (or `[1, Hkv, S, D]`, or `[B, Hkv, S, D]` entry `b`) input of
/// new keys or values, read row by row.
struct KVInput {
    let tensor: Tensor
    let heads: Int, length: Int, dim: Int
    /// Batch stride (0 for a rank-3 input).
    let batchStride: Int

    init(_ t: Tensor, argument: String, heads: Int, dim: Int, batch: Int?) throws {
        let expected =
            batch.map { "[\($0), \(heads), S, \(dim)]" }
            ?? "[\(heads), S, \(dim)] or [1, \(heads), S, \(dim)]"
        let shape = t.shape
        let ok: Bool
        if let batch {
            ok = t.rank == 4 && shape[0] == batch && shape[1] == heads && shape[3] == dim
        } else {
            ok =
                (t.rank == 3 && shape[0] == heads && shape[2] == dim)
                || (t.rank == 4 && shape[0] == 1 && shape[1] == heads && shape[3] == dim)
        }
        guard ok else { throw AttentionError.shape(argument, expected: expected, actual: shape) }
        // A 2-byte input is widened once here (exact): `withRows` then reads it in place,
        // where reading a 2-byte tensor row by row would widen all of it per row.
        tensor =
            t.dtype != .f32
            ? t.converted(to: .f32) : t.strides[t.rank - 1] == 1 ? t : t.contiguous()
        self.heads = heads
        self.dim = dim
        length = shape[t.rank - 2]
        batchStride = t.rank == 4 ? tensor.strides[0] : 0
    }

    /// New keys and values of one append, validated (same heads, length; `D`, `Dv`).
    static func pair(
        keys: Tensor, values: Tensor, heads: Int, headDim: Int, valueDim: Int, batch: Int?
    ) throws -> (KVInput, KVInput) {
        let k = try KVInput(keys, argument: "keys", heads: heads, dim: headDim, batch: batch)
        let v = try KVInput(values, argument: "values", heads: heads, dim: valueDim, batch: batch)
        guard v.length == k.length else {
            let lead = batch.map { "\($0), " } ?? ""
            throw AttentionError.shape(
                "values",
                expected: "[\(lead)\(heads), \(k.length), \(valueDim)] (the length of keys)",
                actual: values.shape)
        }
        return (k, v)
    }

    /// Calls `body` with a function giving the row (batch entry `b`, head `h`, position `s`).
    func withRows<R>(_ body: ((Int, Int, Int) -> UnsafePointer<Float>) throws -> R) rethrows -> R {
        let r = tensor.rank
        let hs = tensor.strides[r - 3], ss = tensor.strides[r - 2], bs = batchStride
        return try tensor.withUnsafeElements { base in
            try body { b, h, s in base + b * bs + h * hs + s * ss }
        }
    }
}
