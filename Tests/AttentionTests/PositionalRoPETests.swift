import Dispatch
import Foundation
import Testing
@testable import Attention

@Suite struct PositionalRoPETests {
    typealias Support = PositionalTestSupport

    /// Inputs uniform in [−1, 1], so 1e-6 absolute is a few Float roundings of each output.
    static func input(_ shape: [Int], seed: UInt64) -> Tensor {
        Tensor.randomUniform(shape, in: -1...1, seed: seed)
    }

    /// Each pair x₁ + i·x₂ is multiplied by e^{i·p·θ_k} (computed in Double); partial
    /// rotary (d = 6 of D = 10), both conventions, an offset. Tolerance 1e-6 absolute.
    @Test(arguments: [false, true])
    func matchesComplexRotation(traditional: Bool) throws {
        let rope = try RoPE(dimensions: 6, traditional: traditional, base: 10_000)
        let x = Self.input([2, 3, 5, 10], seed: 11)
        let y = try rope(x, offset: 3)
        #expect(y.shape == x.shape)
        let expected = Support.referenceRoPE(
            x, dimensions: 6, traditional: traditional,
            frequencies: Support.plainFrequencies(dimensions: 6, base: 10_000), offset: 3)
        #expect(Support.maxAbsError(y.scalars, expected) <= 1e-6)
    }

    /// MLX's `scale` multiplies positions.
    @Test func scaleMultipliesPositions() throws {
        let rope = try RoPE(dimensions: 8, base: 500, scale: 0.25)
        let x = Self.input([1, 2, 7, 8], seed: 12)
        let expected = Support.referenceRoPE(
            x, dimensions: 8, traditional: false,
            frequencies: Support.plainFrequencies(dimensions: 8, base: 500), offset: 10,
            positionScale: 0.25)
        #expect(Support.maxAbsError(try rope(x, offset: 10).scalars, expected) <= 1e-6)
    }

    /// A rotation keeps the norm of every pair, hence of every vector (relative 1e-6).
    @Test(arguments: [false, true])
    func preservesNorms(traditional: Bool) throws {
        let rope = try RoPE(dimensions: 16, traditional: traditional)
        let x = Self.input([2, 2, 9, 16], seed: 13)
        let y = try rope(x, offset: 1234)
        let a = x.scalars, b = y.scalars
        for row in 0..<(a.count / 16) {
            for k in 0..<8 {
                let (i1, i2) = traditional ? (2 * k, 2 * k + 1) : (k, k + 8)
                let before = hypot(Double(a[row * 16 + i1]), Double(a[row * 16 + i2]))
                let after = hypot(Double(b[row * 16 + i1]), Double(b[row * 16 + i2]))
                #expect(abs(after - before) <= 1e-6 * Swift.max(before, 1e-3))
            }
        }
    }

    /// q·k after RoPE depends only on m − n: shifting both positions by t gives the same
    /// score within 1e-5, and the score equals the Double closed form
    /// Σ_k Re[(q₁ + iq₂)·conj(k₁ + ik₂)·e^{i(m−n)θ_k}].
    @Test(arguments: [false, true])
    func scoresDependOnlyOnRelativePosition(traditional: Bool) throws {
        let d = 16
        let rope = try RoPE(dimensions: d, traditional: traditional)
        let q = Self.input([1, 1, 1, d], seed: 14), k = Self.input([1, 1, 1, d], seed: 15)
        let theta = Support.plainFrequencies(dimensions: d, base: 10_000)
        func score(_ m: Int, _ n: Int) throws -> Double {
            let a = try rope(q, offset: m).scalars, b = try rope(k, offset: n).scalars
            return zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let qs = q.scalars.map(Double.init), ks = k.scalars.map(Double.init)
        for (m, n) in [(5, 2), (2, 5), (17, 17), (40, 3)] {
            var closedForm = 0.0
            for j in 0..<(d / 2) {
                let (i1, i2) = traditional ? (2 * j, 2 * j + 1) : (j, j + d / 2)
                let phi = Double(m - n) * theta[j]
                // Re[(a + ib)(c − id)(cos φ + i sin φ)]
                let re = qs[i1] * ks[i1] + qs[i2] * ks[i2]
                let im = qs[i2] * ks[i1] - qs[i1] * ks[i2]
                closedForm += re * cos(phi) - im * sin(phi)
            }
            let reference = try score(m, n)
            #expect(abs(reference - closedForm) <= 1e-5)
            for shift in [1, 100, 2047, 5000] {
                #expect(abs(try score(m + shift, n + shift) - reference) <= 1e-5)
            }
        }
    }

    /// Interleaved and half conventions are the same rotation after the feature
    /// permutation P: (x[2k], x[2k+1]) → (x[k], x[k + d/2]); the tail stays in place.
    /// The arithmetic is identical, so the results are bit-identical.
    @Test func conventionsAgreeUnderPermutation() throws {
        let d = 8, features = 12
        let half = try RoPE(dimensions: d, traditional: false)
        let interleaved = try RoPE(dimensions: d, traditional: true)
        let permutation = (0..<features).map { i -> Int in
            // permuted[i] = x[permutation[i]]
            if i >= d { return i }
            return i < d / 2 ? 2 * i : 2 * (i - d / 2) + 1
        }
        func permute(_ t: Tensor) throws -> Tensor {
            let v = t.scalars
            var out = v
            for row in 0..<(v.count / features) {
                for i in 0..<features {
                    out[row * features + i] = v[row * features + permutation[i]]
                }
            }
            return try Tensor(shape: t.shape, scalars: out)
        }
        let x = Self.input([2, 2, 6, features], seed: 16)
        let a = try half(try permute(x), offset: 9)
        let b = try permute(try interleaved(x, offset: 9))
        #expect(a.scalars == b.scalars)
    }

    /// Features past `dimensions` pass through bit-identically.
    @Test(arguments: [false, true])
    func partialRotaryLeavesTailUntouched(traditional: Bool) throws {
        let rope = try RoPE(dimensions: 4, traditional: traditional)
        let x = Self.input([2, 3, 5, 10], seed: 17)
        let y = try rope(x, offset: 2)
        let a = x.scalars, b = y.scalars
        for row in 0..<(a.count / 10) {
            let head = (row * 10)..<(row * 10 + 4), tail = (row * 10 + 4)..<(row * 10 + 10)
            #expect(Array(a[tail]) == Array(b[tail]))
            #expect(Array(a[head]) != Array(b[head]))  // positions ≥ 2: the head does rotate
        }
        // dimensions == D rotates everything.
        let full = try RoPE(dimensions: 10, traditional: traditional)
        let z = try full(x, offset: 2).scalars
        #expect(z[9] != a[9])
    }

    /// `[B, S, H, D]` with `sequenceAxis: 1` equals the `[B, H, S, D]` result transposed;
    /// strided views are accepted.
    @Test func sequenceAxisAndViews() throws {
        let rope = try RoPE(dimensions: 6)
        let bhsd = Self.input([2, 3, 4, 6], seed: 18)
        let expected = try rope(bhsd, offset: 5)
        let bshd = bhsd.transposed(1, 2)  // a strided [2, 4, 3, 6] view
        let y = try rope(bshd, offset: 5, sequenceAxis: 1)
        #expect(y.shape == [2, 4, 3, 6])
        #expect(y.transposed(1, 2).scalars == expected.scalars)
        let y2 = try rope(bshd.contiguous(), offset: 5, sequenceAxis: -3)
        #expect(y2.scalars == y.scalars)
        // Rank 2: [S, D].
        let sd = Self.input([4, 6], seed: 19)
        let y3 = try rope(sd, offset: 1)
        let expected3 = try rope(try sd.reshaped([1, 1, 4, 6]), offset: 1)
        #expect(y3.scalars == expected3.scalars)
    }

    /// No maximum position: after a short call, offset 5000 (past 2048 and past the cached
    /// rows) grows the cache; positions past the cache cap are computed per call. All match
    /// the Double rotation within 1e-6.
    @Test func positionsPastAnyCacheSize() throws {
        let rope = try RoPE(dimensions: 4)
        let x = Self.input([1, 2, 3, 4], seed: 20)
        let theta = Support.plainFrequencies(dimensions: 4, base: 10_000)
        _ = try rope(x)
        let before = rope.cache.cachedRows
        #expect(before >= 3 && before < 5000)
        for offset in [2046, 5000, 70_000, rope.cache.maximumRows + 1_000_000] {
            let expected = Support.referenceRoPE(
                x, dimensions: 4, traditional: false, frequencies: theta, offset: offset)
            #expect(Support.maxAbsError(try rope(x, offset: offset).scalars, expected) <= 1e-6)
        }
        #expect(rope.cache.cachedRows >= 70_003)
        #expect(rope.cache.cachedRows <= rope.cache.maximumRows)
        // Cached rows are bit-identical to rows computed on the spot.
        let cached = rope.cache.table(for: 4990..<5010)
        let direct = RoPETableCache.compute(
            4990..<5010, inverseFrequencies: rope.cache.inverseFrequencies, positionScale: 1,
            amplitude: 1)
        let start = cached.rowOffset * 2
        #expect(Array(cached.cos[start..<(start + 40)]) == direct.cos)
        #expect(Array(cached.sin[start..<(start + 40)]) == direct.sin)
    }

    /// Concurrent callers with different offsets (each growing the cache) get the same
    /// results as sequential calls.
    @Test func threadSafe() throws {
        let rope = try RoPE(dimensions: 8, traditional: true)
        let x = Self.input([1, 1, 4, 8], seed: 21)
        let offsets = (0..<16).map { $0 * 700 }
        let sequential = try offsets.map {
            try RoPE(dimensions: 8, traditional: true)(x, offset: $0).scalars
        }
        let results = ResultBox(count: offsets.count)
        DispatchQueue.concurrentPerform(iterations: offsets.count) { i in
            results.set(i, try? rope(x, offset: offsets[i]).scalars)
        }
        for i in offsets.indices { #expect(results.get(i) == sequential[i]) }
    }

    /// rotationTables(positions:) holds cos/sin of p·θ_k, `[S, d/2]`.
    @Test func rotationTables() throws {
        let rope = try RoPE(dimensions: 6, base: 100)
        let (c, s) = try rope.rotationTables(positions: 3000..<3004)
        #expect(c.shape == [4, 3] && s.shape == [4, 3])
        let theta = Support.plainFrequencies(dimensions: 6, base: 100)
        let angles = (3000..<3004).flatMap { p in theta.map { Double(p) * $0 } }
        #expect(Support.maxAbsError(c.scalars, angles.map(cos)) <= 1e-7)
        #expect(Support.maxAbsError(s.scalars, angles.map(sin)) <= 1e-7)
    }

    @Test func errorsNameTheArgument() throws {
        Support.expectError(naming: "dimensions") { _ = try RoPE(dimensions: 7) }
        Support.expectError(naming: "dimensions") { _ = try RoPE(dimensions: 0) }
        Support.expectError(naming: "base") { _ = try RoPE(dimensions: 8, base: 1) }
        Support.expectError(naming: "scale") { _ = try RoPE(dimensions: 8, scale: 0) }
        Support.expectError(naming: "scaling") {
            _ = try RoPE(dimensions: 8, scaling: .linear(factor: 0))
        }
        Support.expectError(naming: "scaling") {
            _ = try RoPE(dimensions: 2, scaling: .dynamicNTK(factor: 2, originalMaxPositions: 16))
        }
        Support.expectError(naming: "scaling") {
            _ = try RoPE(
                dimensions: 8,
                scaling: .llama3(factor: 8, lowFrequencyFactor: 4, highFrequencyFactor: 1))
        }
        Support.expectError(naming: "scaling") {
            _ = try RoPE(dimensions: 8, scaling: .yarn(factor: 4, originalMaxPositions: 0))
        }
        let rope = try RoPE(dimensions: 8)
        Support.expectError(naming: "input") { _ = try rope(Tensor.zeros([1, 2, 3, 6])) }
        Support.expectError(naming: "input") { _ = try rope(Tensor.zeros([8])) }
        Support.expectError(naming: "offset") {
            _ = try rope(Tensor.zeros([1, 2, 3, 8]), offset: -1)
        }
        Support.expectError(naming: "offset") {
            _ = try rope(Tensor.zeros([1, 2, 3, 8]), offset: Int.max - 1)
        }
        Support.expectError(naming: "sequenceAxis") {
            _ = try rope(Tensor.zeros([1, 2, 3, 8]), sequenceAxis: -1)
        }
        Support.expectError(naming: "sequenceAxis") {
            _ = try rope(Tensor.zeros([1, 2, 3, 8]), sequenceAxis: 4)
        }
        Support.expectError(naming: "positions") { _ = try rope.rotationTables(positions: -1..<2) }
    }
}

/// Collects per-iteration results from `concurrentPerform`.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: [Float]?) { lock.withLock { values[i] = value } }
    func get(_ i: Int) -> [Float]? { lock.withLock { values[i] } }
}
