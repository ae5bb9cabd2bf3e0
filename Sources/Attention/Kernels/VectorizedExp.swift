/// `exp` of every element through one variant's vectorized kernel (the exp the kernels use);
/// a hook for accuracy tests and benchmarks, not public API.
package func vectorizedExp(_ x: [Float], kernels: KernelTable) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            if let xb = xp.baseAddress, let yb = yp.baseAddress { kernels.c.exp(x.count, xb, yb) }
        }
    }
    return y
}
