import Attention
import AttentionDistributed
import Testing

/// Window edges are added to positions when the ring plans its blocks (`q + right`), so an
/// edge near `Int.max` used to pass `RingAttention.init` and trap in the first forward pass.
@Suite struct RingWindowBoundsTests {
    @Test func hugeWindowEdgesAreRefused() {
        for (left, right) in [(Int.max, 0), (0, Int.max), (AttentionMask.maxParameter + 1, 3)] {
            #expect {
                _ = try RingAttention(
                    sequenceLength: 8, ranks: 2,
                    options: AttentionOptions(mask: .slidingWindow(left: left, right: right)))
            } throws: { ($0 as? AttentionError)?.argument == "mask" }
        }
    }

    /// The largest allowed edges (2⁴⁰ on both sides) see every key: the ring's output equals
    /// the unmasked single-process kernel's within 1e-6 (relative, normwise).
    @Test func largestWindowIsUnmasked() throws {
        let c = RingCase(
            ranks: 3, length: 29, heads: 2, kvHeads: 1, headDim: 8,
            mask: .slidingWindow(
                left: AttentionMask.maxParameter, right: AttentionMask.maxParameter))
        var plain = c
        plain.mask = .none
        let (q, k, v, _) = c.inputs
        let single = try scaledDotProductAttention(
            query: q, key: k, value: v, options: plain.options)
        let ring = try RingAttention(sequenceLength: c.length, ranks: c.ranks, options: c.options)
        let outputs = try LocalRingCommunicator.run(ranks: c.ranks) { comm in
            let shard = { (t: Tensor) in try ring.layout.shard(t, rank: comm.rank) }
            return try ring.forward(
                query: shard(q), key: shard(k), value: shard(v), communicator: comm
            ).output
        }
        #expect(relativeDifference(try ring.layout.unshard(outputs), single.output) <= 1e-6)
    }
}
