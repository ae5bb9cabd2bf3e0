// Self-contained f32 ↔ bf16/f16 conversion for the key/value caches (round-to-nearest-even).
// Kept in this one file so it can be folded onto the Tensor dtype conversion when that lands.

/// Scalar conversions between `Float` and the bit patterns of bfloat16 and IEEE half.
enum KVHalfConversion {
    /// bfloat16 bits of `x`, rounded to nearest even; NaN stays a (quiet) NaN.
    @inline(__always)
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
        let rounding: UInt32 = 0x7FFF + ((b >> 16) & 1)
        return UInt16(truncatingIfNeeded: (b &+ rounding) >> 16)
    }

    /// IEEE half bits of `x`, rounded to nearest even: overflow gives ±inf, tiny values
    /// round to subnormals or ±0, NaN stays a (quiet) NaN.
    @inline(__always)
    static func float16Bits(_ x: Float) -> UInt16 {
        let f = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (f >> 16) & 0x8000)
        var a = f & 0x7FFF_FFFF
        if a >= (127 + 16) << 23 {  // ≥ 65536, inf or NaN
            return sign | (a > 0x7F80_0000 ? 0x7E00 : 0x7C00)
        }
        if a < 113 << 23 {  // below 2^−14: subnormal half or zero; the FPU rounds
            let magic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
            let sum = Float(bitPattern: a) + Float(bitPattern: magic)
            return sign | UInt16(truncatingIfNeeded: sum.bitPattern &- magic)
        }
        let odd = (a >> 13) & 1
        a = a &- ((127 - 15) << 23) &+ 0xFFF &+ odd  // rebias, round to nearest even
        return sign | UInt16(truncatingIfNeeded: a >> 13)  // a carry into 31 gives inf
    }

    /// The `Float` of bfloat16 bits (exact).
    @inline(__always)
    static func float(bfloat16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// The `Float` of IEEE half bits (exact).
    @inline(__always)
    static func float(float16 bits: UInt16) -> Float {
        let h = UInt32(bits)
        var o = (h & 0x7FFF) << 13
        let exp = o & (0x7C00 << 13)
        o &+= (127 - 15) << 23
        var f: Float
        if exp == 0x7C00 << 13 {
            f = Float(bitPattern: o &+ ((128 - 16) << 23))  // inf / NaN
        } else if exp == 0 {
            f = Float(bitPattern: o &+ (1 << 23)) - Float(bitPattern: 113 << 23)  // subnormal
        } else {
            f = Float(bitPattern: o)
        }
        return Float(bitPattern: f.bitPattern | ((h & 0x8000) << 16))
    }
}
