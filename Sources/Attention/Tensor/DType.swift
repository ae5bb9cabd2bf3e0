/// The element type of a ``Tensor``: how many bytes an element takes and how it rounds.
///
/// Arithmetic always happens in `Float` (fp32): a reduced-precision tensor is widened
/// exactly when read and rounded to nearest, ties to even, when written. Attention kernels
/// read bf16/f16 inputs directly and accumulate in fp32 (see
/// ``scaledDotProductAttention(query:key:value:options:)``).
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 binary32 (the default).
    case f32
    /// bfloat16: the upper 16 bits of a binary32 (8 exponent bits, 7 mantissa bits).
    case bf16
    /// IEEE 754 binary16 (5 exponent bits, 10 mantissa bits, subnormals down to 2⁻²⁴).
    case f16

    /// Bytes per element.
    public var byteSize: Int { self == .f32 ? 4 : 2 }

    public var description: String { rawValue }

    /// The safetensors element type with the same encoding.
    public var safetensorsDType: SafetensorsDType {
        switch self {
        case .f32: .f32
        case .bf16: .bf16
        case .f16: .f16
        }
    }

    /// The dtype stored as `safetensors`, or `nil` when it is not f32, bf16 or f16.
    public init?(_ safetensors: SafetensorsDType) {
        switch safetensors {
        case .f32: self = .f32
        case .bf16: self = .bf16
        case .f16: self = .f16
        default: return nil
        }
    }

    /// The value of a 2-byte bit pattern of this dtype (exact). Not for `.f32`.
    @inline(__always)
    func float(_ bits: UInt16) -> Float {
        self == .bf16
            ? SafetensorsConversion.float(fromBFloat16: bits)
            : SafetensorsConversion.float(fromHalf: bits)
    }

    /// The bit pattern of this 2-byte dtype nearest to `value` (ties to even; NaN stays NaN,
    /// overflow gives infinity). Not for `.f32`.
    @inline(__always)
    func bits(_ value: Float) -> UInt16 {
        self == .bf16
            ? SafetensorsConversion.bfloat16(from: value) : SafetensorsConversion.half(from: value)
    }
}
