import _AttentionKernels

/// A plain read of a buffer on `threads` threads (the C `scan_rows` pass: vector loads, a
/// running max, nothing written): the bandwidth ceiling a memory-bound kernel is compared
/// with in the same run.
package final class ReadBandwidthBuffer {
    private let floats: UnsafeMutablePointer<Float>
    private let count: Int

    /// A buffer of `bytes` bytes, filled (so its pages are mapped before timing).
    package init(bytes: Int) {
        count = Swift.max(16, bytes / 4)
        floats = .allocate(capacity: count)
        adviseHugePages(floats, count: count)
        for i in 0..<count { floats[i] = Float(i & 1023) }
    }

    deinit { floats.deallocate() }

    /// Reads the whole buffer once, split in row blocks across threads.
    package func read(threads: Int, execution: ResolvedExecution) {
        let cols = 4096, rows = count / cols
        let parts = Swift.max(1, threads * 8)
        let kernels = execution.kernels.c
        let base = SendablePointer(floats)
        parallelFor(count: parts, threads: threads) { part, _ in
            let r0 = rows * part / parts, r1 = rows * (part + 1) / parts
            var bad = [UInt8](repeating: 0, count: r1 - r0)
            _ = kernels.scan_rows(r1 - r0, cols, base.base + r0 * cols, cols, &bad)
        }
    }
}
