import Dispatch
import Foundation
import Testing
@testable import Attention

/// Execution settings are per call: calls running at the same time with different thread
/// counts, kernel variants and tile sizes each compute their own answer.
@Suite struct ConcurrentExecutionTests {
    /// Eight calls at once (fused and reference, every variant the CPU has, 1–4 threads,
    /// several tile sizes), each checked against the Double oracle with FlashAttention-2's
    /// rule, and bit for bit against the same call run alone. A call's bits depend on its
    /// variant and tiles only (each query block is computed by one worker in a fixed order, so
    /// the thread count and schedule change nothing) — checked here too: calls that differ in
    /// variant or tiles differ in their bits, so a setting leaking from one call into another
    /// would show.
    @Test func concurrentCallsWithDifferentSettingsMatchTheOracle() throws {
        let best = InstructionSet.supported.last!
        let middle = InstructionSet.supported[InstructionSet.supported.count / 2]
        let masks: [AttentionMask] = [.causal, .slidingWindow(left: 30, right: 7), .none]
        let c = Case(h: 4, hkv: 2, sq: 131, sk: 203, d: 40)
        let (q, k, v) = randomQKV(
            b: c.b, h: c.h, hkv: c.hkv, sq: c.sq, sk: c.sk, d: c.d, seed: 77)
        let oracles = masks.map { NaiveAttention(query: q, key: k, value: v, mask: $0) }

        struct Call: Sendable {
            var options: AttentionOptions
            var maskIndex: Int
            /// What the result's bits may depend on.
            var key: String {
                let e = options.execution
                return options.backend == .reference
                    ? "reference \(e.instructionSet!)"
                    : "fused \(e.instructionSet!) \(e.queryBlock!)×\(e.keyBlock!)"
            }
        }
        let table: [(AttentionBackend, Int, InstructionSet, (Int, Int), Int)] = [
            (.fused, 0, best, (96, 128), 1), (.fused, 0, .portable, (96, 128), 2),
            (.fused, 0, best, (24, 64), 3), (.fused, 0, best, (96, 128), 4),
            (.fused, 1, .portable, (12, 32), 2), (.fused, 1, middle, (120, 256), 1),
            (.reference, 2, .portable, (96, 128), 3), (.reference, 2, best, (96, 128), 2),
        ]
        let calls = table.map { backend, m, isa, tile, threads in
            Call(
                options: AttentionOptions(
                    mask: masks[m], backend: backend,
                    execution: ExecutionOptions(
                        threads: threads, instructionSet: isa, queryBlock: tile.0,
                        keyBlock: tile.1)),
                maskIndex: m)
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
        // Same settings (up to the thread count), same bits; other settings, other bits.
        for i in calls.indices {
            for j in calls.indices where j > i && calls[i].maskIndex == calls[j].maskIndex {
                #expect(
                    (alone[i] == alone[j]) == (calls[i].key == calls[j].key),
                    "calls \(i) (\(calls[i].key)) and \(j) (\(calls[j].key))")
            }
        }
    }
}
