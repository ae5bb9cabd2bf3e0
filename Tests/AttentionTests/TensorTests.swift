import Testing

@testable import Attention

/// The address of a tensor's storage buffer: equal addresses mean shared storage (no copy).
func storageAddress(_ t: Tensor) -> UnsafeRawPointer? {
    t.storage.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
}

/// Tensor views against index arithmetic written out by hand: every test fills a tensor
/// with `value(i, j, …) = its row-major position`, so an element's value says where it came
/// from, and checks each element of the view against the formula for that view.
@Suite struct TensorTests {
    /// `[2, 3, 4, 5]` holding 0, 1, 2, … in row-major order: element (a, b, c, d) is
    /// `60a + 20b + 5c + d`.
    static let x = try! Tensor(shape: [2, 3, 4, 5], scalars: (0..<120).map(Float.init))

    static func position(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Float {
        Float(60 * a + 20 * b + 5 * c + d)
    }

    /// Every index of a shape, row-major.
    static func indices(_ shape: [Int]) -> [[Int]] {
        shape.reduce([[]]) { prefixes, n in prefixes.flatMap { p in (0..<n).map { p + [$0] } } }
    }

    /// Reads `t` at `index` through its variadic subscript (ranks 1–4).
    static func element(_ t: Tensor, _ index: [Int]) -> Float {
        switch index.count {
        case 0: return t.scalars[0]
        case 1: return t[index[0]]
        case 2: return t[index[0], index[1]]
        case 3: return t[index[0], index[1], index[2]]
        default: return t[index[0], index[1], index[2], index[3]]
        }
    }

    @Test func rowMajorLayout() throws {
        let x = Self.x
        #expect(x.strides == [60, 20, 5, 1] && x.isContiguous && x.count == 120 && x.rank == 4)
        for i in Self.indices(x.shape) {
            #expect(Self.element(x, i) == Self.position(i[0], i[1], i[2], i[3]))
        }
        #expect(Tensor.contiguousStrides(for: [3, 0, 2]) == [2, 2, 1])
        #expect(Tensor.contiguousStrides(for: []) == [])
        let scalar = Tensor(7)
        #expect(scalar.rank == 0 && scalar.count == 1 && scalar.scalars == [7])
        #expect(throws: AttentionError.self) { try Tensor(shape: [2, 3], scalars: [1, 2]) }
        #expect(throws: AttentionError.self) { try Tensor(shape: [-1, 3], scalars: []) }
    }

    @Test func transposeIsAView() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let t = x.transposed(0, 1)
        #expect(t.shape == [3, 2])
        #expect(t.scalars == [1, 4, 2, 5, 3, 6])
        #expect(t[2, 1] == 6)
        #expect(storageAddress(t) == storageAddress(x) && !t.isContiguous)
    }

    @Test(arguments: [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 1, 3], [1, 3, 0, 2], [2, 0, 3, 1]])
    func permutedReadsTheSourceElement(_ axes: [Int]) throws {
        let x = Self.x
        let p = try x.permuted(axes)
        #expect(p.shape == axes.map { x.shape[$0] })
        #expect(p.strides == axes.map { x.strides[$0] })
        #expect(storageAddress(p) == storageAddress(x), "permuted copies nothing")
        #expect(p.isContiguous == (axes == [0, 1, 2, 3]))
        // p[i] = x[j] with j[axes[n]] = i[n].
        var rowMajor: [Float] = []
        for i in Self.indices(p.shape) {
            var j = [0, 0, 0, 0]
            for n in 0..<4 { j[axes[n]] = i[n] }
            let expected = Self.position(j[0], j[1], j[2], j[3])
            #expect(Self.element(p, i) == expected, "\(axes) at \(i)")
            rowMajor.append(expected)
        }
        #expect(p.scalars == rowMajor)
        // contiguous() lays the same elements out row-major in a new buffer.
        let c = p.contiguous()
        #expect(c.isContiguous && c.shape == p.shape && c.scalars == rowMajor)
        #expect(c == p)
        // Permuting back with the inverse permutation restores the original.
        var inverse = [0, 0, 0, 0]
        for n in 0..<4 { inverse[axes[n]] = n }
        #expect(try p.permuted(inverse).strides == x.strides)
        #expect(try c.permuted(inverse) == x)
    }

    @Test func permutedRejectsNonPermutations() {
        for axes in [[0, 1, 2], [0, 1, 2, 2], [0, 1, 2, 4], [-1, 0, 1, 2]] {
            #expect {
                _ = try Self.x.permuted(axes)
            } throws: { ($0 as? AttentionError)?.argument == "axes" }
        }
    }

    @Test func transposedSwapsTwoAxesAndCountsFromTheEnd() throws {
        let x = Self.x
        let t = x.transposed(1, -1)  // axes 1 and 3
        #expect(t.shape == [2, 5, 4, 3] && t.strides == [60, 1, 5, 20])
        for i in Self.indices(t.shape) {
            #expect(Self.element(t, i) == Self.position(i[0], i[3], i[2], i[1]))
        }
        #expect(t == (try x.permuted([0, 3, 2, 1])))
        #expect(t.transposed(1, 3).strides == x.strides)
        #expect(x.transposed(2, 2).strides == x.strides)
    }

    @Test(arguments: [
        (0, 1..<2), (1, 0..<3), (1, 1..<3), (2, 2..<3), (3, 1..<4), (-1, 0..<2), (2, 1..<1),
    ])
    func slicedKeepsStridesAndMovesTheOffset(_ axis: Int, _ range: Range<Int>) throws {
        let x = Self.x
        let s = try x.sliced(axis: axis, range: range)
        let a = axis < 0 ? axis + 4 : axis
        var shape = x.shape
        shape[a] = range.count
        #expect(s.shape == shape && s.strides == x.strides)
        #expect(s.offset == range.lowerBound * x.strides[a])
        #expect(storageAddress(s) == storageAddress(x), "sliced copies nothing")
        #expect(s.count == shape.reduce(1, *))
        for i in Self.indices(s.shape) {
            var j = i
            j[a] += range.lowerBound
            #expect(Self.element(s, i) == Self.position(j[0], j[1], j[2], j[3]), "\(i)")
        }
        #expect(
            s.scalars
                == Self.indices(shape).map { i in
                    var j = i
                    j[a] += range.lowerBound
                    return Self.position(j[0], j[1], j[2], j[3])
                })
    }

    @Test func slicesCompose() throws {
        // A slice of a transposed slice: x[1, 1..<3, :, 2..<5] with the last two axes swapped.
        let v = try Self.x.sliced(axis: 0, range: 1..<2).sliced(axis: 1, range: 1..<3)
            .sliced(axis: 3, range: 2..<5).transposed(2, 3)
        #expect(v.shape == [1, 2, 3, 4])
        for i in Self.indices(v.shape) {
            #expect(Self.element(v, i) == Self.position(1, 1 + i[1], i[3], 2 + i[2]))
        }
        // Slicing axis 0 leaves the rest row-major: contiguous, at an offset.
        let rows = try Self.x.sliced(axis: 0, range: 1..<2)
        #expect(rows.isContiguous && rows.offset == 60)
        #expect(rows.scalars == (60..<120).map(Float.init))
        #expect(try rows.reshaped([60]).scalars == (60..<120).map(Float.init))
    }

    @Test func slicedRejectsBadAxesAndRanges() {
        #expect {
            _ = try Self.x.sliced(axis: 4, range: 0..<1)
        } throws: { ($0 as? AttentionError)?.argument == "axis" }
        #expect {
            _ = try Self.x.sliced(axis: -5, range: 0..<1)
        } throws: { ($0 as? AttentionError)?.argument == "axis" }
        #expect {
            _ = try Self.x.sliced(axis: 1, range: 2..<4)
        } throws: { ($0 as? AttentionError)?.argument == "range" }
    }

    @Test func expandedBroadcastsWithZeroStrides() throws {
        // [3, 1] → [2, 3, 4]: a new leading axis, and the size-1 axis stretched.
        let column = try Tensor(shape: [3, 1], scalars: [10, 20, 30])
        let e = try column.expanded(to: [2, 3, 4])
        #expect(e.shape == [2, 3, 4] && e.strides == [0, 1, 0])
        #expect(storageAddress(e) == storageAddress(column), "expanded copies nothing")
        for i in Self.indices(e.shape) {
            #expect(Self.element(e, i) == Float(10 * (i[1] + 1)))
        }
        #expect(e.scalars.count == 24 && !e.isContiguous)
        // A size-1 axis of a view (a transposed row).
        let row = try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4]).transposed(0, 1)  // [4, 1]
        let f = try row.expanded(to: [4, 3])
        for i in Self.indices(f.shape) { #expect(Self.element(f, i) == Float(i[0] + 1)) }
        // Same shape: unchanged strides.
        #expect(try Self.x.expanded(to: [2, 3, 4, 5]).strides == Self.x.strides)
        for bad in [[3], [2, 4, 5], [1, 2]] {
            #expect {
                _ = try column.expanded(to: bad)
            } throws: { ($0 as? AttentionError)?.argument == "shape" }
        }
    }

    @Test func broadcastShapes() {
        let table: [([Int], [Int], [Int]?)] = [
            ([2, 3], [2, 3], [2, 3]), ([3, 1], [1, 4], [3, 4]), ([5], [2, 1, 5], [2, 1, 5]),
            ([2, 1, 5], [3, 1], [2, 3, 5]), ([], [4, 2], [4, 2]), ([0, 1], [1, 3], [0, 3]),
            ([2, 3], [3, 2], nil), ([4], [3], nil), ([2, 1], [3, 3], nil),
        ]
        for (a, b, expected) in table {
            #expect(Tensor.broadcastShape(a, b) == expected, "\(a) with \(b)")
            #expect(Tensor.broadcastShape(b, a) == expected, "\(b) with \(a)")
        }
    }

    @Test func broadcastArithmeticMatchesIndexArithmetic() throws {
        // a [2, 1, 3] + b [4, 1] → [2, 4, 3]: out[i, j, k] = a[i, 0, k] + b[j, 0].
        let a = try Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [4, 1], scalars: [100, 200, 300, 400])
        let sum = try a + b
        #expect(sum.shape == [2, 4, 3])
        for i in Self.indices(sum.shape) {
            #expect(sum[i[0], i[1], i[2]] == Float(3 * i[0] + i[2] + 1) + Float(100 * (i[1] + 1)))
        }
        // A non-contiguous operand: x[:, :, :, 1..<4] − c with c [4, 1] broadcast over it.
        let lhs = try Self.x.sliced(axis: 3, range: 1..<4)
        let c = try Tensor(shape: [4, 1], scalars: [0.5, 1.5, 2.5, 3.5])
        let difference = try lhs - c
        #expect(!lhs.isContiguous && difference.shape == [2, 3, 4, 3])
        for i in Self.indices(difference.shape) {
            let expected = Self.position(i[0], i[1], i[2], i[3] + 1) - (Float(i[2]) + 0.5)
            #expect(difference[i[0], i[1], i[2], i[3]] == expected, "\(i)")
        }
        #expect {
            _ = try a - Tensor(shape: [5], repeating: 1)
        } throws: { ($0 as? AttentionError)?.argument == "other" }
        let scaled = try a / Tensor(2)
        #expect(scaled.scalars == [0.5, 1, 1.5, 2, 2.5, 3])
    }

    @Test func reshapedSharesRowMajorStorageAndCopiesOtherViews() throws {
        let x = Self.x
        let r = try x.reshaped([6, -1])
        #expect(r.shape == [6, 20] && r.strides == [20, 1])
        #expect(storageAddress(r) == storageAddress(x), "a row-major reshape copies nothing")
        for i in 0..<6 {
            for j in 0..<20 { #expect(r[i, j] == Float(20 * i + j)) }
        }
        // A transposed view is not row-major: reshaping gathers its elements in its own
        // row-major order into a new buffer.
        let t = x.transposed(0, 3)  // [5, 3, 4, 2]
        let flat = try t.reshaped([-1])
        #expect(flat.shape == [120] && storageAddress(flat) != storageAddress(x))
        var n = 0
        for i in Self.indices(t.shape) {
            #expect(flat[n] == Self.position(i[3], i[1], i[2], i[0]), "\(i)")
            n += 1
        }
        #expect(try x.reshaped([2, 3, 4, 5]) == x)
        #expect(try Tensor.zeros([0, 3]).reshaped([3, -1]).shape == [3, 0])
        for bad in [[7, -1], [-1, -1], [121], [-2, 60]] {
            #expect {
                _ = try x.reshaped(bad)
            } throws: { ($0 as? AttentionError)?.argument == "shape" }
        }
    }

    @Test func contiguousCopiesOnlyWhenNeeded() throws {
        let x = Self.x
        #expect(storageAddress(x.contiguous()) == storageAddress(x))
        // A row-major slice at an offset is copied down to a buffer of its own size.
        let tail = try x.sliced(axis: 0, range: 1..<2)
        let packed = tail.contiguous()
        #expect(packed.offset == 0 && packed.storage.count == 60)
        #expect(storageAddress(packed) != storageAddress(x) && packed == tail)
        // An expanded view becomes a dense copy with every repeat written out.
        let e = try Tensor(shape: [2], scalars: [1, 2]).expanded(to: [3, 2]).contiguous()
        #expect(e.strides == [2, 1] && e.storage == [1, 2, 1, 2, 1, 2])
    }

    @Test func copyOnWrite() throws {
        let x = Self.x
        // A copy shares storage until written; the write leaves the original alone.
        var y = x
        #expect(storageAddress(y) == storageAddress(x))
        y[1, 2, 3, 4] = -1
        #expect(storageAddress(y) != storageAddress(x))
        #expect(x[1, 2, 3, 4] == 119 && y[1, 2, 3, 4] == -1)
        #expect(zip(x.scalars, y.scalars).filter { $0 != $1 }.count == 1)

        // Writing through a view: the view becomes a dense copy with that one element
        // changed; the tensor it viewed is untouched.
        var v = x.transposed(0, 1)  // [3, 2, 4, 5]
        v[2, 1, 0, 3] = -7
        #expect(v.isContiguous && v.shape == [3, 2, 4, 5])
        #expect(x[1, 2, 0, 3] == Self.position(1, 2, 0, 3))
        for i in Self.indices(v.shape) {
            let expected: Float =
                i == [2, 1, 0, 3] ? -7 : Self.position(i[1], i[0], i[2], i[3])
            #expect(v[i[0], i[1], i[2], i[3]] == expected, "\(i)")
        }

        // Writing one element of a broadcast view changes that element only.
        var e = try Tensor(shape: [3, 1], scalars: [10, 20, 30]).expanded(to: [2, 3, 4])
        e[0, 1, 2] = -1
        for i in Self.indices(e.shape) {
            let expected: Float = i == [0, 1, 2] ? -1 : Float(10 * (i[1] + 1))
            #expect(e[i[0], i[1], i[2]] == expected, "\(i)")
        }

        // Writing to the base after taking a slice leaves the slice as it was.
        var base = x
        let slice = try base.sliced(axis: 2, range: 1..<3)
        base[0, 0, 1, 0] = 1000
        #expect(slice[0, 0, 0, 0] == Self.position(0, 0, 1, 0))
        #expect(base[0, 0, 1, 0] == 1000)
    }
}
