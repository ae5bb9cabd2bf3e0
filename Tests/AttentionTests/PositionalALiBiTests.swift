import Foundation
import Testing
@testable import Attention

@Suite struct PositionalALiBiTests {
    typealias Support = PositionalTestSupport

    @Test func slopesForPowersOfTwo() throws {
        // 2^(−8i/n), i = 1…n: exact powers of two.
        let eight: [Float] = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625]
        #expect(try ALiBi.slopes(heads: 8) == eight)
        let one: [Float] = [0.00390625]
        #expect(try ALiBi.slopes(heads: 1) == one)
        let two: [Float] = [0.0625, 0.00390625]
        #expect(try ALiBi.slopes(heads: 2) == two)
        let four: [Float] = [0.25, 0.0625, 0.015625, 0.00390625]
        #expect(try ALiBi.slopes(heads: 4) == four)
        #expect(try ALiBi.slopes(heads: 0) == [])
        // n = 16: start = ratio = 2^(−1/2).
        let sixteen = try ALiBi.slopes(heads: 16)
        let expected = (1...16).map { pow(2, -Double($0) / 2) }
        #expect(Support.maxRelativeError(sixteen, expected) <= 1e-7)
    }

    /// 12 heads: slopes(8), then slopes(16) at indices 0, 2, 4, 6 = 2^−0.5, 2^−1.5, 2^−2.5,
    /// 2^−3.5. Powers of two are exact; the others within one Float rounding (1e-7 relative).
    @Test func slopesForTwelveHeads() throws {
        let expected: [Double] = [
            0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
            0.70710678118654752, 0.35355339059327376, 0.17677669529663688, 0.08838834764831844,
        ]
        let slopes = try ALiBi.slopes(heads: 12)
        #expect(slopes.count == 12)
        #expect(try Array(slopes.prefix(8)) == ALiBi.slopes(heads: 8))
        #expect(Support.maxRelativeError(slopes, expected) <= 1e-7)
        let sixteen = try ALiBi.slopes(heads: 16)
        #expect(Array(slopes.suffix(4)) == [sixteen[0], sixteen[2], sixteen[4], sixteen[6]])
        // 6 heads: slopes(4) + slopes(8)[0, 2].
        let six: [Float] = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125]
        #expect(try ALiBi.slopes(heads: 6) == six)
    }

    /// bias[h, i, j] = −m_h·(i' − j) (causal) or −m_h·|i' − j| (symmetric), i' = i + shift.
    /// m_h·(i' − j) is exact in Double, so the Float result equals its single rounding.
    @Test(arguments: [ALiBi.Form.causal, .symmetric])
    func biasValues(form: ALiBi.Form) throws {
        for (queries, keys, alignment) in [
            (5, 5, ALiBi.Alignment.bottomRight), (3, 7, .bottomRight), (3, 7, .topLeft),
            (6, 4, .bottomRight),
        ] {
            let heads = 3
            let bias = try ALiBi.bias(
                heads: heads, queries: queries, keys: keys, form: form, alignment: alignment)
            #expect(bias.shape == [heads, queries, keys])
            let slopes = try ALiBi.slopes(heads: heads).map(Double.init)
            let shift = alignment == .topLeft ? 0 : keys - queries
            for h in 0..<heads {
                for i in 0..<queries {
                    for j in 0..<keys {
                        let distance = Double(i + shift - j)
                        let exact = -slopes[h] * (form == .causal ? distance : abs(distance))
                        #expect(bias[h, i, j] == Float(exact))
                    }
                }
            }
        }
    }

    @Test func handComputedEntries() throws {
        let two: [Float] = [0.0625, 0.00390625]
        // 2 heads: slopes 1/16, 1/256. Square, so alignment does not matter.
        let causal = try ALiBi.bias(heads: 2, queries: 4, keys: 4, form: .causal)
        #expect(causal[0, 3, 0] == -3.0 / 16)
        #expect(causal[0, 2, 2] == 0)
        #expect(causal[1, 1, 3] == 2.0 / 256)  // future key: kept, to be masked
        let symmetric = try ALiBi.bias(heads: 2, queries: 4, keys: 4, form: .symmetric)
        #expect(symmetric[1, 1, 3] == -2.0 / 256)
        // Decoding: one query against 5 keys sits at position 4 (bottom-right).
        let step = try ALiBi.bias(heads: 2, queries: 1, keys: 5, form: .causal)
        let stepExpected: [Float] = [-0.25, -0.1875, -0.125, -0.0625, 0]
        #expect((0..<5).map { step[0, 0, $0] } == stepExpected)
        let alibi = try ALiBi(heads: 2, form: .causal, alignment: .topLeft)
        #expect(alibi.slopes == two)
        #expect(try alibi.bias(queries: 1, keys: 5)[0, 0, 4] == 4.0 / 16)
        #expect(ALiBi.Form.causal.bias(slope: 0.5, query: 7, key: 3) == -2)
        #expect(ALiBi.Alignment.bottomRight.queryShift(queries: 2, keys: 9) == 7)
    }

    @Test func errorsNameTheArgument() {
        Support.expectError(naming: "heads") { _ = try ALiBi(heads: 0, form: .causal) }
        Support.expectError(naming: "queries") {
            _ = try ALiBi.bias(heads: 2, queries: -1, keys: 3, form: .symmetric)
        }
        Support.expectError(naming: "keys") {
            _ = try ALiBi.bias(heads: 2, queries: 1, keys: -3, form: .causal)
        }
    }
}
