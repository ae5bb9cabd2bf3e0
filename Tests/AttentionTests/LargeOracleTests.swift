import Testing

@testable import Attention

/// The large cases (1023 and 1024 positions) against the Double oracle directly, on 16
/// sampled query rows (the first, the last and 14 between). The fused tests at these sizes
/// bound the fused error by the reference path's error, and the reference path shares
/// `ScoreTile` and the C kernels with the fused one; here both are held to the error of an
/// independent naive Float implementation: error ≤ 2 × naive Float error + 1e-6.
@Suite struct LargeOracleTests {
    static let cases: [Case] = [
        Case(sq: 1023, sk: 1023, d: 64), Case(h: 2, hkv: 1, sq: 1023, sk: 1024, d: 96),
    ]

    @Test(arguments: 0..<cases.count)
    func sampledRowsMatchTheOracle(_ index: Int) throws {
        let c = Self.cases[index]
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, seed: UInt64(500 + index))
        let rows = SampledOracle.spread(16, over: c.sq)
        #expect(rows.count == 16 && rows.first == 0 && rows.last == c.sq - 1)
        for mask in FusedAttentionTests.masks {
            let oracle = SampledOracle(query: q, key: k, value: v, mask: mask, rows: rows)
            let bound = 2 * oracle.singleError + 1e-6
            for backend in [AttentionBackend.fused, .reference] {
                let out = try scaledDotProductAttention(
                    query: q, key: k, value: v, mask: mask, backend: backend)
                let error = oracle.maxError(out, oracle.double)
                #expect(
                    error <= bound,
                    "\(c) \(mask) \(backend): \(error) vs naive Float \(oracle.singleError)")
            }
        }
    }

    @Test func theSampledOracleAgreesWithTheFullOne() throws {
        // The two oracles are written apart; on a small case they must agree row for row.
        let (q, k, v) = randomQKV(b: 2, h: 2, hkv: 1, sq: 40, sk: 33, d: 12, seed: 3)
        for mask in FusedAttentionTests.masks {
            let rows = SampledOracle.spread(7, over: 40)
            let sampled = SampledOracle(query: q, key: k, value: v, mask: mask, rows: rows)
            let full = NaiveAttention(query: q, key: k, value: v, mask: mask)
            var n = 0, worst = 0.0
            for b in 0..<2 {
                for h in 0..<2 {
                    for i in rows {
                        for x in 0..<12 {
                            worst = max(
                                worst,
                                abs(
                                    sampled.double[n] - full.output[((b * 2 + h) * 40 + i) * 12 + x]
                                ))
                            n += 1
                        }
                    }
                }
            }
            #expect(worst <= 1e-12, "\(mask)")
            #expect(sampled.singleError > 0 && sampled.singleError < 1e-5, "\(mask)")
        }
    }
}
