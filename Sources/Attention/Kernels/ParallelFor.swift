import Dispatch
import _AttentionKernels

/// Runs `body(item)` for every item in 0..<count on up to `threads` threads. Items are
/// handed out dynamically (an atomic counter), so uneven items (causal blocks) balance.
/// `body` receives the worker index (0..<threads) too, for per-thread scratch space.
/// `threads` comes from the call's ``ResolvedExecution``.
package func parallelFor(
    count: Int, threads: Int, _ body: (_ item: Int, _ worker: Int) -> Void
) {
    guard count > 0 else { return }
    let workers = Swift.min(threads, count)
    if workers <= 1 {
        for i in 0..<count { body(i, 0) }
        return
    }
    var next = 0
    withUnsafeMutablePointer(to: &next) { counterPointer in
        let counter = SendablePointer(counterPointer)
        let part = { (worker: Int) in
            while true {
                let item = ak_atomic_fetch_add(counter.base, 1)
                if item >= count { break }
                body(item, worker)
            }
        }
        // Warm pool threads when free (see WorkerPool), otherwise Dispatch.
        if WorkerPool.shared.run(workers: workers, part) { return }
        withoutActuallyEscaping(part) { part in
            let box = UncheckedBox(part)
            DispatchQueue.concurrentPerform(iterations: workers) { box.value($0) }
        }
    }
}
