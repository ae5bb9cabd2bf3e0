import Attention

/// How a key/value shard travels between ranks.
///
/// ``RingCommunicator`` moves fp32 words. An f32 shard goes as it is; a bf16 or f16 shard
/// goes as its 2-byte bit patterns packed two to a word (the last word padded with zero
/// bits when the count is odd), so it crosses the wire in half the bytes and arrives
/// bit-exact. The packed words are only copied, never used as numbers.
package struct WireFormat {
    package let dtype: DType

    package init(dtype: DType) { self.dtype = dtype }

    /// The word tensor's shape for a shard of `shape`.
    package func wireShape(_ shape: [Int]) -> [Int] {
        dtype == .f32 ? shape : [(shape.reduce(1, *) + 1) / 2]
    }

    /// The shard as sent (contiguous).
    package func encode(_ tensor: Tensor) throws -> Tensor {
        guard dtype != .f32 else { return tensor.contiguous() }
        let bits = tensor.bits ?? []
        var words = [Float](repeating: 0, count: (bits.count + 1) / 2)
        words.withUnsafeMutableBytes { out in
            bits.withUnsafeBytes { out.copyMemory(from: $0) }
        }
        return try Tensor(shape: [words.count], scalars: words)
    }

    /// The shard of `shape` that `wire` carries.
    package func decode(_ wire: Tensor, shape: [Int]) throws -> Tensor {
        guard dtype != .f32 else { return wire }
        let words = wire.scalars
        var bits = [UInt16](repeating: 0, count: shape.reduce(1, *))
        bits.withUnsafeMutableBytes { out in
            words.withUnsafeBytes {
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<out.count]))
            }
        }
        return try Tensor(shape: shape, bits: bits, dtype: dtype)
    }
}
