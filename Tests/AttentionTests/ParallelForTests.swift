import Dispatch
import Testing

@testable import Attention

/// `parallelFor` runs every item exactly once whether the warm worker pool takes the job or
/// Dispatch does (the pool is busy: concurrent callers, or a `parallelFor` inside a job).
@Suite struct ParallelForTests {
    /// Counts per item, written by the task that runs it (distinct items, distinct slots).
    final class Counts: @unchecked Sendable {
        var values: [Int]
        init(_ n: Int) { values = [Int](repeating: 0, count: n) }
    }

    @Test func everyItemOnceAcrossManyCalls() {
        for (count, threads) in [(1, 2), (2, 2), (7, 2), (1000, 2), (64, 8), (5, 1)] {
            for _ in 0..<200 {
                let counts = Counts(count)
                counts.values.withUnsafeMutableBufferPointer { buffer in
                    let base = SendablePointer(buffer.baseAddress!)
                    parallelFor(count: count, threads: threads) { item, worker in
                        precondition(worker >= 0 && worker < threads)
                        base.base[item] += 1
                    }
                }
                #expect(counts.values.allSatisfy { $0 == 1 }, "count \(count) threads \(threads)")
            }
        }
    }

    @Test func concurrentAndNestedCallersEachRunEveryItemOnce() {
        let callers = 6, outer = 9, inner = 33
        let counts = Counts(callers * outer * inner)
        counts.values.withUnsafeMutableBufferPointer { buffer in
            let base = SendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: callers) { caller in
                for _ in 0..<20 {
                    parallelFor(count: outer, threads: 2) { o, _ in
                        parallelFor(count: inner, threads: 2) { i, _ in
                            base.base[(caller * outer + o) * inner + i] += 1
                        }
                    }
                }
            }
        }
        #expect(counts.values.allSatisfy { $0 == 20 })
    }
}
