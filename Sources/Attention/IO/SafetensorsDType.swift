/// An element type of a tensor stored in a safetensors file.
///
/// The raw value is the spelling used in the file's JSON header (`"F32"`, `"BF16"`, …).
/// Every type can be read (converted to `Float`, see ``SafetensorsFile/tensor(named:)``) and
/// written (see ``SafetensorsFile`` for which values each type can store).
public enum SafetensorsDType: String, CaseIterable, Sendable, Hashable {
    /// IEEE 754 binary32.
    case f32 = "F32"
    /// IEEE 754 binary16 (half precision).
    case f16 = "F16"
    /// bfloat16: the upper 16 bits of a binary32.
    case bf16 = "BF16"
    /// IEEE 754 binary64.
    case f64 = "F64"
    /// Boolean, one byte per element (0 is false, anything else is true).
    case bool = "BOOL"
    /// Unsigned 8-bit integer.
    case u8 = "U8"
    /// Signed 8-bit integer.
    case i8 = "I8"
    /// Signed 16-bit integer, little-endian.
    case i16 = "I16"
    /// Unsigned 16-bit integer, little-endian.
    case u16 = "U16"
    /// Signed 32-bit integer, little-endian.
    case i32 = "I32"
    /// Unsigned 32-bit integer, little-endian.
    case u32 = "U32"
    /// Signed 64-bit integer, little-endian.
    case i64 = "I64"
    /// Unsigned 64-bit integer, little-endian.
    case u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8: 1
        case .f16, .bf16, .i16, .u16: 2
        case .f32, .i32, .u32: 4
        case .f64, .i64, .u64: 8
        }
    }

    /// Whether the type is a floating-point type (F16, BF16, F32, F64).
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64: true
        default: false
        }
    }
}
