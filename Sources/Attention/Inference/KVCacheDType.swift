/// The element type a key/value cache stores. Attention always accumulates in `Float`;
/// 2-byte caches halve the bytes a decode step reads (the step is memory-bound).
public enum KVCacheDType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE float.
    case float32
    /// bfloat16 (8-bit exponent, 7-bit mantissa); written with round-to-nearest-even.
    case bfloat16
    /// IEEE half precision (5-bit exponent, 10-bit mantissa); written with
    /// round-to-nearest-even (values beyond ±65504 become ±inf).
    case float16

    /// Bytes per element.
    public var byteWidth: Int { self == .float32 ? 4 : 2 }

    public var description: String { rawValue }

    /// The C kernels' code (`AK_KV_F32`, `AK_KV_BF16`, `AK_KV_F16`).
    var kernelCode: Int32 {
        switch self {
        case .float32: return 0
        case .bfloat16: return 1
        case .float16: return 2
        }
    }
}
