import Foundation
import Testing

@testable import Attention

/// Value panels (``KVPage``): f32 caches whose value width is a multiple of 64 keep
/// their values in panels of up to 32 positions stored 64 columns at a time. These tests
/// check every layout against the tensors that were *appended* (the decode tests' oracle
/// reads the cache back, which a layout bug shared by writing and reading would pass):
/// the panel height chosen, the values read back, and decoding — with panels that pages,
/// blocks, ring wrap-around and work chunks split anywhere, on every instruction set.
@Suite struct ValuePanelTests {
    enum Storage: Sendable, CustomStringConvertible {
        case contiguous(capacity: Int, pageTokens: Int)
        case window(Int)
        case paged(blockSize: Int)

        var description: String {
            switch self {
            case .contiguous(let c, let p): "contiguous \(c)+\(p)"
            case .window(let w): "window \(w)"
            case .paged(let b): "paged/\(b)"
            }
        }
    }

    struct Layout: Sendable, CustomStringConvertible {
        let storage: Storage
        let valueDim: Int
        let dtype: DType
        /// The first page's (or the pool's) panel height; 0: value rows.
        let panel: Int
        /// The last page's, where a contiguous cache has grown.
        var lastPanel: Int? = nil
        var headDim = 64
        var description: String {
            "\(storage) D \(headDim) Dv \(valueDim) \(dtype) → panel \(panel)"
        }
    }

    static let layouts: [Layout] = [
        // Pages of 100 and 77 positions: panels of 25, then rows (77's divisor 11 < 16).
        Layout(
            storage: .contiguous(capacity: 100, pageTokens: 77), valueDim: 128, dtype: .f32,
            panel: 25, lastPanel: 0),
        // Pages of 64 and 48: panels of 32, then 24; a head width off the unrolled loops.
        Layout(
            storage: .contiguous(capacity: 64, pageTokens: 48), valueDim: 64, dtype: .f32,
            panel: 32, lastPanel: 24, headDim: 59),
        Layout(storage: .window(50), valueDim: 128, dtype: .f32, panel: 25),
        Layout(storage: .window(37), valueDim: 128, dtype: .f32, panel: 0),  // prime: rows
        Layout(storage: .paged(blockSize: 16), valueDim: 192, dtype: .f32, panel: 16),
        Layout(storage: .paged(blockSize: 20), valueDim: 64, dtype: .f32, panel: 20),
        Layout(storage: .paged(blockSize: 7), valueDim: 64, dtype: .f32, panel: 0),  // < 16: rows
        Layout(storage: .paged(blockSize: 48), valueDim: 128, dtype: .f32, panel: 24),
        Layout(
            storage: .contiguous(capacity: 100, pageTokens: 77), valueDim: 96, dtype: .f32, panel: 0
        ),
        Layout(storage: .paged(blockSize: 16), valueDim: 128, dtype: .bf16, panel: 0),  // 2-byte: rows
        Layout(
            storage: .contiguous(capacity: 64, pageTokens: 64), valueDim: 64, dtype: .f16, panel: 0),
    ]

    static let (kvHeads, group) = (2, 4)
    static let lengths = [530, 61]

    /// A cache of `layout` holding `lengths` positions per sequence, appended in uneven
    /// pieces, and what was appended (`[Hkv, L, D]`, `[Hkv, L, Dv]`, in the cache's dtype
    /// read back as Float), the positions each sequence keeps, and the panel height seen.
    static func filled(_ layout: Layout) throws -> (
        decode: (Tensor, DecodeOptions) throws -> Tensor,
        stored: (Int) throws -> (keys: Tensor, values: Tensor),
        appended: [(keys: Tensor, values: Tensor)], starts: [Int], panels: [Int]
    ) {
        let (hkv, d, dv) = (kvHeads, layout.headDim, layout.valueDim)
        var appended: [(keys: Tensor, values: Tensor)] = []
        var pieces: [[(Tensor, Tensor)]] = []
        for (b, length) in lengths.enumerated() {
            var bounds = [0, 1, 30, length / 2 + 3, length].filter { $0 <= length }
            bounds = Array(Set(bounds)).sorted()
            var parts: [(Tensor, Tensor)] = []
            for (lo, hi) in zip(bounds, bounds.dropFirst()) {
                let seed = UInt64(100 * b + lo)
                parts.append(
                    (
                        Tensor.randomNormal([hkv, hi - lo, d], seed: seed),
                        Tensor.randomNormal([hkv, hi - lo, dv], seed: seed &+ 7)
                    ))
            }
            pieces.append(parts)
            // The expected contents: the pieces joined along positions, rounded to the dtype.
            func joined(_ pick: ((Tensor, Tensor)) -> Tensor, _ dim: Int) throws -> Tensor {
                var rows = [Float]()
                rows.reserveCapacity(hkv * length * dim)
                for h in 0..<hkv {
                    for part in parts {
                        let t = pick(part).converted(to: layout.dtype).converted(to: .f32)
                        let n = t.shape[1]
                        rows += t.scalars[(h * n * dim)..<((h + 1) * n * dim)]
                    }
                }
                return try Tensor(shape: [hkv, length, dim], scalars: rows)
            }
            appended.append((try joined(\.0, d), try joined(\.1, dv)))
        }
        switch layout.storage {
        case .contiguous, .window:
            var cache: KVCache
            if case .window(let w) = layout.storage {
                cache = try KVCache(
                    batch: lengths.count, kvHeads: hkv, headDim: d, valueDim: dv, window: w,
                    dtype: layout.dtype)
            } else if case .contiguous(let c, let p) = layout.storage {
                cache = try KVCache(
                    batch: lengths.count, kvHeads: hkv, headDim: d, valueDim: dv, capacity: c,
                    pageTokens: p, dtype: layout.dtype)
            } else {
                fatalError()
            }
            for (b, parts) in pieces.enumerated() {
                for (k, v) in parts { try cache.append(keys: k, values: v, sequence: b) }
            }
            let frozen = cache
            return (
                { q, o in try decodeAttention(query: q, cache: frozen, options: o) },
                { try frozen.stored(sequence: $0) }, appended,
                lengths.indices.map { frozen.storedRange(sequence: $0).lowerBound },
                frozen.view.segments[0].map(\.valueLayout.panel)
            )
        case .paged(let blockSize):
            var cache = try PagedKVCache(
                kvHeads: hkv, headDim: d, valueDim: dv, blockSize: blockSize,
                blockCount: lengths.reduce(0) { $0 + $1 / blockSize + 2 }, dtype: layout.dtype)
            var ids: [Int] = []
            for parts in pieces {
                let id = cache.addSequence()
                ids.append(id)
                for (k, v) in parts { try cache.append(keys: k, values: v, sequence: id) }
            }
            let frozen = cache
            return (
                { q, o in try decodeAttention(query: q, cache: frozen, sequences: ids, options: o)
                },
                { try frozen.stored(sequence: ids[$0]) }, appended,
                Array(repeating: 0, count: lengths.count),
                try frozen.view(sequences: ids).segments[0].map(\.valueLayout.panel)
            )
        }
    }

    /// The positions a sequence keeps, from `start`, of an appended `[Hkv, L, Dv]` tensor.
    static func kept(_ t: Tensor, from start: Int) throws -> Tensor {
        let (hkv, l, dim) = (t.shape[0], t.shape[1], t.shape[2])
        var rows = [Float]()
        for h in 0..<hkv { rows += t.scalars[((h * l + start) * dim)..<((h + 1) * l * dim)] }
        return try Tensor(shape: [hkv, l - start, dim], scalars: rows)
    }

    /// The layout chosen, and the cache reads back exactly what was appended (rounded to
    /// its dtype), whatever the page, block and panel boundaries.
    @Test(arguments: layouts.indices) func storesWhatWasAppended(_ i: Int) throws {
        let layout = Self.layouts[i]
        let cache = try Self.filled(layout)
        #expect(cache.panels.first == layout.panel, "\(layout): panels \(cache.panels)")
        if let last = layout.lastPanel {
            #expect(
                cache.panels.count > 1 && cache.panels.last == last, "\(layout): \(cache.panels)")
        }
        for b in Self.lengths.indices {
            let stored = try cache.stored(b)
            let start = cache.starts[b]
            #expect(
                stored.keys == (try Self.kept(cache.appended[b].keys, from: start)),
                "\(layout) keys \(b)")
            #expect(
                stored.values == (try Self.kept(cache.appended[b].values, from: start)),
                "\(layout) values \(b)")
        }
    }

    /// Decoding against the Double oracle on the appended values, on every instruction set,
    /// with 1 and 3 threads (work chunks of whole 32-position tiles end inside panels of 25,
    /// 7 or 24 positions), 1 and 5 queries, and a window of 40.
    @Test(arguments: layouts.indices) func decodesWhatWasAppended(_ i: Int) throws {
        let layout = Self.layouts[i]
        let cache = try Self.filled(layout)
        let h = Self.kvHeads * Self.group
        let kept = try Self.lengths.indices.map { b in
            let a = cache.appended[b], start = cache.starts[b]
            return (
                keys: try Self.kept(a.keys, from: start),
                values: try Self.kept(a.values, from: start)
            )
        }
        for isa in InstructionSet.supported {
            for (sq, threads, w) in [(1, 1, nil), (5, 3, nil), (1, 3, 40)] as [(Int, Int, Int?)] {
                // A ring of W positions serves a window of at most W − Sq + 1.
                var window = w
                if case .window(let ring) = layout.storage {
                    window = min(w ?? ring, ring - sq + 1)
                }
                let q = Tensor.randomNormal(
                    [Self.lengths.count, h, sq, layout.headDim], seed: UInt64(sq * 10 + threads))
                let options = DecodeOptions(
                    window: window,
                    execution: ExecutionOptions(
                        threads: threads, instructionSet: isa, reducedPrecisionKernel: .portable))
                let out = try cache.decode(q, options)
                let oracle = decodeOracle(
                    query: q, stored: kept, starts: cache.starts, lengths: Self.lengths,
                    window: window)
                // Float accumulation over ≤ 530 keys of O(1) values against Double.
                #expect(
                    maxError(out, oracle) <= 2e-5,
                    "\(layout) \(isa) Sq \(sq) threads \(threads) window \(window.map(String.init) ?? "-"): \(maxError(out, oracle))"
                )
            }
        }
    }
}
