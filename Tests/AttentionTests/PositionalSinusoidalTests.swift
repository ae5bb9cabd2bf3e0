import Foundation
import Testing
@testable import Attention

@Suite struct PositionalSinusoidalTests {
    typealias Support = PositionalTestSupport

    /// PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(…), checked against Double for an
    /// even and an odd width. Tolerance 1e-7: one Float rounding of values in [−1, 1].
    @Test(arguments: [8, 7])
    func tableMatchesClosedForm(dimensions: Int) throws {
        let pe = try SinusoidalPositionalEncoding(
            dimensions: dimensions, maxLength: 60, base: 10_000)
        #expect(pe.table.shape == [60, dimensions])
        var expected = [Double]()
        for p in 0..<60 {
            for column in 0..<dimensions {
                let i = column / 2
                let angle = Double(p) / pow(10_000, Double(2 * i) / Double(dimensions))
                expected.append(column % 2 == 0 ? sin(angle) : cos(angle))
            }
        }
        #expect(Support.maxAbsError(pe.table.scalars, expected) <= 1e-7)
        // Odd width: the last column is a sine (without its cosine).
        if dimensions % 2 == 1 {
            let angle = 5 / pow(10_000, Double(dimensions - 1) / Double(dimensions))
            #expect(abs(Double(pe.table[5, dimensions - 1]) - sin(angle)) <= 1e-7)
        }
    }

    @Test func smallBaseValues() throws {
        // d = 4, base = 100: frequencies 1 and 1/10.
        let pe = try SinusoidalPositionalEncoding(dimensions: 4, maxLength: 4, base: 100)
        let expected: [Double] = [sin(3), cos(3), sin(0.3), cos(0.3)]
        let row = (0..<4).map { pe.table[3, $0] }
        #expect(Support.maxAbsError(row, expected) <= 1e-7)
        #expect((0..<4).map { pe.table[0, $0] } == [0, 1, 0, 1])
    }

    /// y[b, s, e] = x[b, s, e] + PE[offset + s, e], exactly (one Float addition).
    @Test func addsRowsAtOffset() throws {
        let pe = try SinusoidalPositionalEncoding(dimensions: 6, maxLength: 20)
        let x = Tensor.randomNormal([2, 5, 6], seed: 1)
        let y = try pe(x, offset: 3)
        #expect(y.shape == [2, 5, 6])
        for b in 0..<2 {
            for s in 0..<5 {
                for e in 0..<6 { #expect(y[b, s, e] == x[b, s, e] + pe.table[3 + s, e]) }
            }
        }
        // Rank 2 and a strided view give the same rows.
        let x2 = Tensor.randomNormal([6, 5], seed: 2).transposed(0, 1)  // [5, 6] view
        let y2 = try pe(x2)
        for s in 0..<5 {
            for e in 0..<6 { #expect(y2[s, e] == x2[s, e] + pe.table[s, e]) }
        }
        // The last valid position works.
        _ = try pe(Tensor.zeros([1, 6]), offset: 19)
    }

    @Test func errorsNameTheArgument() throws {
        let pe = try SinusoidalPositionalEncoding(dimensions: 6, maxLength: 8)
        Support.expectError(naming: "input") { _ = try pe(Tensor.zeros([1, 4, 5])) }
        Support.expectError(naming: "input") { _ = try pe(Tensor.zeros([6])) }
        Support.expectError(naming: "input") { _ = try pe(Tensor.zeros([1, 9, 6])) }
        Support.expectError(naming: "offset") { _ = try pe(Tensor.zeros([1, 4, 6]), offset: 5) }
        Support.expectError(naming: "offset") { _ = try pe(Tensor.zeros([1, 4, 6]), offset: -1) }
        Support.expectError(naming: "dimensions") {
            _ = try SinusoidalPositionalEncoding(dimensions: 0, maxLength: 8)
        }
        Support.expectError(naming: "maxLength") {
            _ = try SinusoidalPositionalEncoding(dimensions: 4, maxLength: 0)
        }
    }
}
