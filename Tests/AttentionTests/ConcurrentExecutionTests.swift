import Dispatch
import Foundation
import Testing
@testable import Attention

/// Execution settings are per call: calls running at the same time with different thread
/// counts, kernel variants and tile sizes each compute their own answer.
@Suite struct ConcurrentExecutionTests {
    /// Eight calls at once (fused and reference, every variant the CPU has, 1–4 threads,
    /// several tile sizes), each checked against the Double oracle with FlashAttention-2's
    /// rule, and against the same call run alone: a call's result depends only on its own
    /// variant and tiles (each query block is computed by one worker in a fixed order, so the
    /// thread count and schedule do not change a bit), so any setting leaking in from another
    /// call would show.
    @Test func concurrentCallsWithDifferentSettingsMatchTheOracle() throws {
        let isas = InstructionSet.supported
        let tiles = [(12, 32), (96, 128), (48, 64), (120, 96), (24, 256), (36, 160)]
        let masks: [AttentionMask] = [.causal, .slidingWindow(left: 30, right: 7), .none]
        let c = Case(h: 4, hkv: 2, sq: 131, sk: 203, d: 40)
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, seed: 77)
        let oracles = masks.map { NaiveAttention(query: q, key: k, value: v, mask: $0) }

        struct Call: Sendable {
            var options: AttentionOptions
            var maskIndex: Int
        }
        let calls: [Call] = (0..<8).map { i in
            let (bq, bk) = tiles[i % tiles.count]
            let execution = ExecutionOptions(
                threads: 1 + i % 4, instructionSet: isas[i % isas.count], queryBlock: bq,
                keyBlock: bk)
            let backend: AttentionBackend = i % 4 == 3 ? .reference : .fused
            return Call(
                options: AttentionOptions(
                    mask: masks[i % masks.count], backend: backend, execution: execution),
                maskIndex: i % masks.count)
        }
        // Alone, one after the other.
        let alone = try calls.map {
            try scaledDotProductAttention(query: q, key: k, value: v, options: $0.options).output
        }
        // The same-precision materialized path per variant, for the error rule.
        let referenceError = try calls.map { call -> Double in
            var options = call.options
            options.backend = .reference
            let r = try scaledDotProductAttention(query: q, key: k, value: v, options: options)
            return maxError(r.output, oracles[call.maskIndex].output)
        }

        // Together: every call three times, all eight at once.
        let lock = NSLock()
        nonisolated(unsafe) var together = [[Tensor]](repeating: [], count: calls.count)
        nonisolated(unsafe) var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: calls.count) { i in
            for _ in 0..<3 {
                do {
                    let out = try scaledDotProductAttention(
                        query: q, key: k, value: v, options: calls[i].options
                    ).output
                    lock.withLock { together[i].append(out) }
                } catch {
                    lock.withLock { failures.append("call \(i): \(error)") }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        for (i, call) in calls.enumerated() {
            let label = "call \(i): \(call.options.backend) \(call.options.execution)"
            for out in together[i] {
                let error = maxError(out, oracles[call.maskIndex].output)
                #expect(error <= 2 * referenceError[i] + 1e-6, "\(label): error \(error)")
                #expect(out == alone[i], "\(label): differs from the same call run alone")
            }
            #expect(together[i].count == 3, "\(label)")
        }
    }
}
