import Dispatch
import Foundation
import _AttentionKernels

/// Worker threads kept for ``parallelFor(count:threads:_:)``: after a job they spin for a
/// short while (``spinNanoseconds``) before parking, so back-to-back calls of a fraction of
/// a millisecond (a MiniLM-sized attention call) find them awake, as OpenMP's threads are
/// for PyTorch. A Dispatch worker is woken per call instead and often starts tens of
/// microseconds late.
///
/// One job runs at a time. A caller that finds the pool busy (a concurrent call, or a
/// `parallelFor` inside a job) or asks for more threads than the pool has, gets `nil` from
/// ``run(workers:_:)`` and uses Dispatch: the pool never makes a caller wait for another.
///
/// Protocol: the job word holds `generation << 16 | helpers` and is written last (release)
/// after the job closure; worker `i` (1-based) runs the job when `i ≤ helpers`, then
/// decrements `remaining`; the caller runs part 0 itself and returns once `remaining` is 0,
/// so the closure outlives every use of it. A parked worker waits on `parking` and is woken
/// under its lock after the word changes, so no wake-up is lost.
final class WorkerPool: @unchecked Sendable {
    /// The process's pool: one thread fewer than the active processors (the caller is one).
    static let shared = WorkerPool(
        threads: Swift.max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// How long an idle worker spins before parking.
    static let spinNanoseconds: UInt64 = 200_000

    let threads: Int
    private let word = UnsafeMutablePointer<Int>.allocate(capacity: 2)  // job word, remaining
    private let submit = NSLock()
    private let parking = NSCondition()
    private var job: ((Int) -> Void)?
    private var started = false

    private init(threads: Int) {
        self.threads = Swift.min(threads, 0xFFFF)
        word.initialize(repeating: 0, count: 2)
    }

    /// Runs `body(part)` for part 0..<workers, part 0 on the calling thread, and returns
    /// `true`; returns `false` without running anything when the pool is busy or too small.
    func run(workers: Int, _ body: (Int) -> Void) -> Bool {
        guard workers >= 2, workers - 1 <= threads, submit.try() else { return false }
        defer { submit.unlock() }
        startIfNeeded()
        withoutActuallyEscaping(body) { body in
            job = body
            ak_atomic_store(word + 1, workers - 1)
            let generation = (ak_atomic_load(word) >> 16) + 1
            parking.lock()
            ak_atomic_store(word, generation << 16 | (workers - 1))
            parking.broadcast()
            parking.unlock()
            body(0)
            while ak_atomic_load(word + 1) > 0 { ak_spin_pause() }
            job = nil
        }
        return true
    }

    private func startIfNeeded() {
        guard !started else { return }  // read and written under `submit`
        started = true
        for index in 1...threads {
            let thread = Thread { [self] in work(index) }
            thread.name = "SwiftAttention worker \(index)"
            thread.start()
        }
    }

    @inline(never) private func runJob(_ index: Int) { job?(index) }

    private func work(_ index: Int) {
        var seen = 0
        while true {
            var current = ak_atomic_load(word)
            if current >> 16 == seen >> 16 {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while current >> 16 == seen >> 16 {
                    ak_spin_pause()
                    spins += 1
                    if spins & 255 == 0,
                        DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds
                    {
                        parking.lock()
                        while ak_atomic_load(word) >> 16 == seen >> 16 { parking.wait() }
                        parking.unlock()
                    }
                    current = ak_atomic_load(word)
                }
            }
            seen = current
            if index <= current & 0xFFFF {
                runJob(index)  // its reference to the job is gone before the count drops
                _ = ak_atomic_decrement(word + 1)
            }
        }
    }
}
