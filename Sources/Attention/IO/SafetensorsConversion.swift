/// Element conversions between safetensors' little-endian encodings and `Float`.
///
/// Half-precision conversions are done with integer arithmetic so they behave the same on
/// every platform (whether or not `Float16` is available) and are exact: every binary16 and
/// bfloat16 value, including subnormals, infinities and NaN payloads, maps to the equal
/// binary32 value; the reverse direction rounds to nearest, ties to even.
enum SafetensorsConversion {
    // MARK: Half precision

    /// The binary32 value of a binary16 bit pattern (exact).
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0x1F:  // infinity or NaN; keep the payload
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        case 0:  // zero or subnormal: mantissa × 2⁻²⁴, exact in binary32
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// The binary16 bit pattern nearest to `value` (ties to even; overflow gives infinity;
    /// NaN stays NaN with the top payload bits kept and the quiet bit set).
    @inline(__always)
    static func half(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal (or zero) in binary16: value / 2⁻²⁴, rounded.
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x0080_0000
            let shift = UInt32(14 - halfExponent)  // 14...24
            return sign | UInt16(roundShift(significand, by: shift))
        }
        let truncated = UInt32(halfExponent) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1FFF
        var result = truncated
        if remainder > 0x1000 || (remainder == 0x1000 && truncated & 1 == 1) {
            result += 1  // may carry into the exponent, up to infinity: both correct
        }
        return sign | UInt16(result)
    }

    /// `value >> shift`, rounded to nearest, ties to even.
    @inline(__always)
    private static func roundShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let truncated = value >> shift
        let remainder = value & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if remainder > halfway || (remainder == halfway && truncated & 1 == 1) {
            return truncated + 1
        }
        return truncated
    }

    // MARK: bfloat16

    /// The binary32 value of a bfloat16 bit pattern (exact).
    @inline(__always)
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even; NaN stays NaN, quiet).
    @inline(__always)
    static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    // MARK: Decoding

    @inline(__always)
    private static func load<T: FixedWidthInteger>(
        _ raw: UnsafeRawBufferPointer, _ index: Int, as type: T.Type
    ) -> T {
        T(
            littleEndian: raw.loadUnaligned(
                fromByteOffset: index &* MemoryLayout<T>.size, as: T.self))
    }

    /// Converts `count` little-endian elements of `dtype` to `Float`.
    ///
    /// Integers are rounded to the nearest `Float` (exact up to 2²⁴ in magnitude); F64 is
    /// rounded to nearest; BOOL gives 1 for any nonzero byte, else 0.
    /// - Precondition: `raw.count == count * dtype.byteSize`.
    static func decode(_ raw: UnsafeRawBufferPointer, as dtype: SafetensorsDType, count: Int)
        -> [Float]
    {
        precondition(raw.count == count * dtype.byteSize, "byte count does not match")
        guard count > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let dst = out.baseAddress!
            switch dtype {
            case .f32:
                #if _endian(little)
                    UnsafeMutableRawPointer(dst).copyMemory(
                        from: raw.baseAddress!, byteCount: raw.count)
                #else
                    for i in 0..<count { dst[i] = Float(bitPattern: load(raw, i, as: UInt32.self)) }
                #endif
            case .f16:
                for i in 0..<count { dst[i] = float(fromHalf: load(raw, i, as: UInt16.self)) }
            case .bf16:
                for i in 0..<count { dst[i] = float(fromBFloat16: load(raw, i, as: UInt16.self)) }
            case .f64:
                for i in 0..<count {
                    dst[i] = Float(Double(bitPattern: load(raw, i, as: UInt64.self)))
                }
            case .bool:
                for i in 0..<count { dst[i] = raw[i] == 0 ? 0 : 1 }
            case .u8:
                for i in 0..<count { dst[i] = Float(raw[i]) }
            case .i8:
                for i in 0..<count { dst[i] = Float(Int8(bitPattern: raw[i])) }
            case .i16:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: Int16.self)) }
            case .u16:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: UInt16.self)) }
            case .i32:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: Int32.self)) }
            case .u32:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: UInt32.self)) }
            case .i64:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: Int64.self)) }
            case .u64:
                for i in 0..<count { dst[i] = Float(load(raw, i, as: UInt64.self)) }
            }
            initialized = count
        }
    }

    // MARK: Encoding

    /// Calls `body` with `scalars` encoded as little-endian `dtype` elements.
    ///
    /// F32 and F64 are exact (bit patterns, including NaN payloads, are kept for F32); F16 and
    /// BF16 round to nearest, ties to even; BOOL stores 1 for every nonzero value (NaN
    /// included); integer types require every value to be an integer the type can hold.
    /// - Throws: ``AttentionError`` (`.invalidArgument`) naming `tensorName` and the first
    ///   element an integer type cannot hold.
    static func withEncodedBytes<R>(
        _ scalars: [Float], as dtype: SafetensorsDType, tensorName: String, source: String,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let count = scalars.count
        if dtype == .f32 {
            #if _endian(little)
                return try scalars.withUnsafeBytes(body)
            #endif
        }
        var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
        try scalars.withUnsafeBufferPointer { src in
            try bytes.withUnsafeMutableBytes { dst in
                func store<T: FixedWidthInteger>(_ value: T, _ index: Int) {
                    dst.storeBytes(
                        of: value.littleEndian, toByteOffset: index &* MemoryLayout<T>.size,
                        as: T.self)
                }
                func storeExact<T: FixedWidthInteger>(_ type: T.Type) throws {
                    for i in 0..<count {
                        guard let value = T(exactly: src[i]) else {
                            throw AttentionError(
                                .invalidArgument, argument: source,
                                "tensor \(SafetensorsHeader.quoted(tensorName)): element \(i) is "
                                    + "\(src[i]), which \(dtype.rawValue) cannot store (it holds "
                                    + "integers \(T.min)...\(T.max))")
                        }
                        store(value, i)
                    }
                }
                switch dtype {
                case .f32:
                    for i in 0..<count { store(src[i].bitPattern, i) }
                case .f16:
                    for i in 0..<count { store(half(from: src[i]), i) }
                case .bf16:
                    for i in 0..<count { store(bfloat16(from: src[i]), i) }
                case .f64:
                    for i in 0..<count { store(Double(src[i]).bitPattern, i) }
                case .bool:
                    for i in 0..<count { dst[i] = src[i] != 0 ? 1 : 0 }
                case .u8: try storeExact(UInt8.self)
                case .i8: try storeExact(Int8.self)
                case .i16: try storeExact(Int16.self)
                case .u16: try storeExact(UInt16.self)
                case .i32: try storeExact(Int32.self)
                case .u32: try storeExact(UInt32.self)
                case .i64: try storeExact(Int64.self)
                case .u64: try storeExact(UInt64.self)
                }
            }
        }
        return try bytes.withUnsafeBytes(body)
    }
}
