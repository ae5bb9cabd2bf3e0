import Attention
import AttentionDistributed
import Foundation
import Testing

/// Naive attention in Double: `[B, H, Sq, Dv]` output and `[B, H, Sq]` natural log-sum-exp
/// (no mask or causal; GQA by head groups).
func doubleAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool) -> (
    output: [Double], logSumExp: [Double]
) {
    let (b, h, s, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (hkv, sk, dv) = (k.shape[1], k.shape[2], v.shape[3])
    let (qs, ks, vs) = (
        q.scalars.map(Double.init), k.scalars.map(Double.init), v.scalars.map(Double.init)
    )
    let scale = 1 / Double(d).squareRoot()
    var out = [Double](repeating: 0, count: b * h * s * dv)
    var lse = [Double](repeating: 0, count: b * h * s)
    for bi in 0..<b {
        for hi in 0..<h {
            let kh = bi * hkv + hi / (h / hkv)
            for i in 0..<s {
                let qi = ((bi * h + hi) * s + i) * d
                let visible = causal ? Swift.min(i + 1, sk) : sk
                var scores = [Double](repeating: 0, count: visible)
                for j in 0..<visible {
                    let kj = (kh * sk + j) * d
                    var dot = 0.0
                    for x in 0..<d { dot += qs[qi + x] * ks[kj + x] }
                    scores[j] = dot * scale
                }
                let m = scores.max() ?? 0
                let weights = scores.map { exp($0 - m) }
                let total = weights.reduce(0, +)
                lse[(bi * h + hi) * s + i] = m + log(total)
                let oi = ((bi * h + hi) * s + i) * dv
                for j in 0..<visible {
                    let vj = (kh * sk + j) * dv
                    for x in 0..<dv { out[oi + x] += weights[j] / total * vs[vj + x] }
                }
            }
        }
    }
    return (out, lse)
}

/// Each rank's ring forward (output, log-sum-exp, statistics) for the full tensors given.
func ringForward(_ ring: RingAttention, ranks: Int, _ q: Tensor, _ k: Tensor, _ v: Tensor)
    throws -> [(Tensor, Tensor, RingStatistics)]
{
    try LocalRingCommunicator.run(ranks: ranks) { comm in
        let shard = { (t: Tensor) in try ring.layout.shard(t, rank: comm.rank) }
        let r = try ring.forward(
            query: shard(q), key: shard(k), value: shard(v), communicator: comm)
        return (r.output, r.logSumExp, r.statistics)
    }
}

/// Each rank's ring output and gradients (output, dQ, dK, dV) for the full tensors given.
func ringForwardBackward(
    _ ring: RingAttention, ranks: Int, _ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor
) throws -> [(Tensor, Tensor, Tensor, Tensor)] {
    try LocalRingCommunicator.run(ranks: ranks) { comm in
        let shard = { (t: Tensor) in try ring.layout.shard(t, rank: comm.rank) }
        let (q, k, v) = (try shard(q), try shard(k), try shard(v))
        let f = try ring.forward(query: q, key: k, value: v, communicator: comm)
        let g = try ring.backward(
            gradOutput: shard(dO), query: q, key: k, value: v, output: f.output,
            logSumExp: f.logSumExp, communicator: comm
        ).gradients
        return (f.output, g.gradQuery, g.gradKey, g.gradValue)
    }
}

/// `max |x − ref| / max |ref|`.
func relativeError(_ x: Tensor, _ reference: [Double]) -> Double {
    let scale = reference.reduce(0) { max($0, abs($1)) }
    let diff = zip(x.scalars, reference).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
    return scale == 0 ? diff : diff / scale
}

@Suite struct RingAttentionReducedPrecisionTests {
    static let cases: [RingCase] = [
        RingCase(ranks: 2, length: 64, heads: 4, kvHeads: 2, headDim: 32, mask: .causal),
        RingCase(ranks: 3, length: 101, heads: 4, kvHeads: 1, headDim: 16, mask: .causal),
        RingCase(ranks: 3, length: 100, heads: 2, kvHeads: 2, headDim: 32),
        RingCase(ranks: 4, length: 130, heads: 4, kvHeads: 2, headDim: 16),
    ]

    /// bf16/f16 ring outputs (in the input dtype) against a Double reference on the same
    /// rounded inputs, next to the single-process fused kernel's own error on them.
    ///
    /// The ring's kernel calls make the kernel's own errors (×2: they fall in other places than
    /// in the one single-process call) and the final rounding the single-process result also
    /// has; its only extra error is the rounding of each block's output to the dtype before
    /// the fp32 merge, ≤ u·max|V| (u the unit roundoff, 2⁻⁹ bf16, 2⁻¹² f16; the merge is a
    /// convex combination). So the ring is held to 2× the single-process error plus
    /// u·max|V|/max|ref|. (Measured: bf16 ring 1.8e-3…3.7e-3 vs single 1.8e-3…2.4e-3, f16
    /// 2.4e-4…4.7e-4 vs 2.4e-4…2.7e-4.) The fp32 log-sum-exps agree with the single-process
    /// kernel's within 1e-5 (relative, normwise): the ring merges fp32 values the kernel
    /// computed from the same scores.
    @Test(arguments: cases, [DType.bf16, .f16])
    func outputMatchesDoubleReference(_ c: RingCase, dtype: DType) throws {
        let (q32, k32, v32, _) = c.inputs
        let (q, k, v) = (
            q32.converted(to: dtype), k32.converted(to: dtype), v32.converted(to: dtype)
        )
        let single = try scaledDotProductAttention(query: q, key: k, value: v, options: c.options)
        let ring = try RingAttention(sequenceLength: c.length, ranks: c.ranks, options: c.options)
        let results = try ringForward(ring, ranks: c.ranks, q, k, v)
        let output = try ring.layout.unshard(results.map(\.0))
        let lse = try ring.layout.unshard(results.map(\.1))
        #expect(output.dtype == dtype && single.output.dtype == dtype && lse.dtype == .f32)

        var causal = false
        if case .causal = c.mask { causal = true }
        let reference = doubleAttention(q, k, v, causal: causal)
        let u = dtype == .bf16 ? 0x1p-9 : 0x1p-12
        let maxV = v.scalars.reduce(0) { max($0, abs(Double($1))) }
        let maxRef = reference.output.reduce(0) { max($0, abs($1)) }
        let singleError = relativeError(single.output, reference.output)
        let ringError = relativeError(output, reference.output)
        let bound = 2 * singleError + u * maxV / maxRef
        #expect(ringError <= bound)
        #expect(relativeDifference(lse, single.logSumExp!) <= 1e-5)
    }

    /// A bf16 shard crosses the ring in half the bytes of the f32 one, and arrives exactly.
    @Test func bf16ShardsSendHalfTheBytes() throws {
        let c = RingCase(ranks: 3, length: 60, heads: 2, kvHeads: 2, headDim: 16)
        let (q, k, v, _) = c.inputs
        let ring = try RingAttention(sequenceLength: c.length, ranks: c.ranks, options: c.options)
        func bytes(_ dtype: DType) throws -> [Int] {
            try ringForward(
                ring, ranks: c.ranks, q.converted(to: dtype), k.converted(to: dtype),
                v.converted(to: dtype)
            ).map(\.2.bytesSent)
        }
        let (wide, narrow) = (try bytes(.f32), try bytes(.bf16))
        #expect(wide.allSatisfy { $0 > 0 })
        #expect(zip(wide, narrow).allSatisfy { $0.0 == 2 * $0.1 })

        // Odd count, NaN/infinity/subnormal patterns: the bits arrive as they were sent.
        let bits: [UInt16] = [0x7FC1, 0x7F81, 0xFF80, 0x0001, 0x8000, 0x3F80, 0xC2F7]
        for dtype in [DType.bf16, .f16] {
            let shard = try Tensor(shape: [1, 1, 7, 1], bits: bits, dtype: dtype)
            let wire = WireFormat(dtype: dtype)
            let sent = try wire.encode(shard)
            #expect(sent.shape == wire.wireShape(shard.shape) && sent.shape == [4])
            #expect(try wire.decode(sent, shape: shard.shape).bits == bits)
        }
    }

    /// bf16 backward widens to fp32; gradients come back in bf16, within a few bf16 roundings
    /// of the fp32 single-process backward on the same (exactly widened) inputs and output.
    @Test func bf16BackwardWidens() throws {
        let c = RingCase(ranks: 3, length: 61, heads: 4, kvHeads: 2, headDim: 16, mask: .causal)
        let (q32, k32, v32, dO32) = c.inputs
        let (q, k, v, dO) = (
            q32.converted(to: .bf16), k32.converted(to: .bf16), v32.converted(to: .bf16),
            dO32.converted(to: .bf16)
        )
        let ring = try RingAttention(sequenceLength: c.length, ranks: c.ranks, options: c.options)
        let results = try ringForwardBackward(ring, ranks: c.ranks, q, k, v, dO)
        let output = try ring.layout.unshard(results.map(\.0)).converted(to: .f32)
        let wide = { (t: Tensor) in t.converted(to: .f32) }
        let forward = try scaledDotProductAttention(
            query: wide(q), key: wide(k), value: wide(v), options: c.options)
        let single = try scaledDotProductAttentionBackward(
            gradOutput: wide(dO), query: wide(q), key: wide(k), value: wide(v), output: output,
            logSumExp: forward.logSumExp!, options: c.options)
        let grads = [
            (results.map(\.1), single.gradQuery), (results.map(\.2), single.gradKey),
            (results.map(\.3), single.gradValue),
        ]
        for (shards, reference) in grads {
            let ringGrad = try ring.layout.unshard(shards)
            #expect(ringGrad.dtype == .bf16)
            // One bf16 rounding of the result (2⁻⁹ relative) plus fp32 noise.
            #expect(relativeDifference(wide(ringGrad), reference) <= 0x1p-8)
        }
    }

    @Test func rejectsMixedDTypes() throws {
        let ring = try RingAttention(sequenceLength: 8, ranks: 1)
        let t = Tensor.randomNormal([1, 1, 8, 4], seed: 1)
        _ = try LocalRingCommunicator.run(ranks: 1) { comm in
            #expect(throws: AttentionError.self) {
                _ = try ring.forward(
                    query: t.converted(to: .bf16), key: t, value: t.converted(to: .bf16),
                    communicator: comm)
            }
        }
    }
}
