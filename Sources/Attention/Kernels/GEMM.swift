/// The one driver of the C GEMM (the call's ``KernelTable``): `Linear` and the stacked Q/K/V
/// projection (packed weights, `sgemm_packed`), `Tensor.matmul` and the reference attention
/// path (`sgemm`) all multiply through here.
///
/// Work is split by rows across the call's threads; with `sgemm` each task packs the whole
/// right-hand matrix once, so tasks are as few as the threads allow.
package enum GEMM {
    /// `a · b` over the last two axes (`Tensor.matmul`).
    ///
    /// Shapes:
    /// - `b` `[K, N]` of rank 2 is shared by every matrix of `a` `[..., K]`: all leading axes
    ///   of `a` fold into the rows of one product, result `[..., N]`;
    /// - otherwise `a` `[..., M, K]` and `b` `[..., K, N]` have the same leading axes, one
    ///   product per matrix, result `[..., M, N]`.
    /// Strided operands are copied to row-major first. Callers validate shapes (checked here
    /// with `precondition`). Layers multiply by their packed weights instead
    /// (the `PackedWeight` overload).
    package static func multiply(_ a: Tensor, _ b: Tensor, execution: ResolvedExecution) -> Tensor {
        precondition(a.rank >= 1 && b.rank >= 2, "GEMM operands: \(a.shape) × \(b.shape)")
        let k = a.shape[a.rank - 1]
        let (kb, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let shared = b.rank == 2
        precondition(
            kb == k && (shared || (a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2))),
            "GEMM shapes: \(a.shape) × \(b.shape)")
        let lead = a.shape.dropLast()
        let (batches, m) =
            shared ? (1, lead.reduce(1, *)) : (lead.dropLast().reduce(1, *), lead.last!)
        let a = a.contiguous(), b = b.contiguous()
        let sgemm = execution.kernels.c.sgemm
        let chunk = rowChunk(rows: m, batches: batches, threads: execution.threads)
        let chunks = (m + chunk - 1) / chunk
        // Every element is written by the task that owns its rows (sgemm with beta 0 clears
        // its rows first), so the output starts uninitialized.
        return Tensor(uninitializedShape: Array(lead) + [n]) { pc in
            a.withUnsafeElements { pa in
                b.withUnsafeElements { pb in
                    let pa = SendableConstPointer(pa), pb = SendableConstPointer(pb),
                        pc = SendablePointer(pc)
                    parallelFor(count: batches * chunks, threads: execution.threads) { item, _ in
                        let bi = item / chunks, row = (item % chunks) * chunk
                        let rows = Swift.min(chunk, m - row)
                        sgemm(
                            0, 0, rows, n, k, 1, pa.base + bi * m * k + row * k, k,
                            pb.base + bi * k * n, n, 0, pc.base + bi * m * n + row * n, n)
                    }
                }
            }
        }
    }

    /// `x·Wᵀ + b` for a layer's packed weight: `x` `[..., K]` (the caller checked `K`), result
    /// `[..., N]`. Rows are split across the call's threads; each task first writes its rows
    /// (the bias, or the product), so the output is never zero-filled and its pages are first
    /// touched by the threads that compute them. A bf16 weight runs on the bf16 products of
    /// the call's reduced-precision kernel when it has them (`vdpbf16ps`, AMX tiles or BFDOT;
    /// `x` rounded to bf16, fp32 sums).
    static func multiply(_ x: Tensor, _ w: PackedWeight, execution: ResolvedExecution) -> Tensor {
        let (n, k) = (w.outputs, w.inputs)
        let rows = x.count / k
        let x = x.contiguous()
        let sgemm = execution.kernels.c.sgemm_packed
        let bf16 =
            w.pairs != nil && execution.half.kernel.hasTileProducts
            ? execution.half.c.gemm_packed : nil
        let chunk = rowChunk(rows: rows, batches: 1, threads: execution.threads)
        let scratchWords = 12 * ((k + 1) / 2)
        return Tensor(uninitializedShape: Array(x.shape.dropLast()) + [n]) { pc in
            x.withUnsafeElements { px in
                w.withPanels(bf16: bf16 != nil) { pw in
                    let px = SendableConstPointer(px)
                    let pw = SendableConstPointer(pw.assumingMemoryBound(to: UInt8.self))
                    let pc = SendablePointer(pc), bias = w.bias
                    parallelFor(count: (rows + chunk - 1) / chunk, threads: execution.threads) {
                        item, _ in
                        let row = item * chunk, m = Swift.min(chunk, rows - row)
                        let (a, c) = (px.base + row * k, pc.base + row * n)
                        if let bias {
                            for r in 0..<m { (c + r * n).update(from: bias, count: n) }
                        }
                        let accumulate: Int32 = bias == nil ? 0 : 1
                        if let bf16 {
                            let scratch = UnsafeMutablePointer<UInt32>.allocate(
                                capacity: scratchWords)
                            defer { scratch.deallocate() }
                            bf16(
                                m, n, k, a, k,
                                UnsafeRawPointer(pw.base).assumingMemoryBound(to: UInt32.self),
                                accumulate, c, n, scratch)
                        } else {
                            sgemm(
                                m, n, k, a, k,
                                UnsafeRawPointer(pw.base).assumingMemoryBound(to: Float.self),
                                accumulate, c, n)
                        }
                    }
                }
            }
        }
    }

    /// `C = alpha·A·op(B)` for one pair of row-major matrices given by pointers: the
    /// reference path's per-head products (strided views, read in place). Single-threaded.
    static func multiply(
        rows m: Int, columns n: Int, depth k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        into c: UnsafeMutablePointer<Float>, ldc: Int, kernels: KernelTable
    ) {
        kernels.c.sgemm(0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
    }

    /// Rows per task: one task per batch entry when there are enough, otherwise the rows
    /// split across the threads (at least 16 per task).
    static func rowChunk(rows: Int, batches: Int, threads: Int) -> Int {
        if batches >= threads { return Swift.max(1, rows) }
        return Swift.max(16, (rows + threads - 1) / threads)
    }
}
