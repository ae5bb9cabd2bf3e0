// Reduced precision, portable variant: scalar conversions (the compiler vectorizes the
// bf16 ones) and the non-finite scan on bit patterns. See AttentionKernelsHalf.h.
#include "half_variants.h"
#include <string.h>

static inline float bits_to_float(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline uint32_t float_to_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

float ak_half_to_float(int format, uint16_t h) {
    if (format == AK_HALF_BF16) return bits_to_float((uint32_t)h << 16);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000 | mantissa << 13);
    if (exponent == 0) return bits_to_float(sign | float_to_bits((float)mantissa * 0x1p-24f));
    return bits_to_float(sign | (exponent + 112) << 23 | mantissa << 13);
}

// value >> shift rounded to nearest, ties to even (1 ≤ shift ≤ 24).
static inline uint32_t round_shift(uint32_t value, uint32_t shift) {
    uint32_t truncated = value >> shift, remainder = value & ((1u << shift) - 1), half = 1u << (shift - 1);
    return truncated + (remainder > half || (remainder == half && (truncated & 1)));
}

uint16_t ak_float_to_half(int format, float value) {
    uint32_t bits = float_to_bits(value);
    if (format == AK_HALF_BF16) {
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((bits >> 16) | 0x40);
        return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
    uint16_t sign = (bits >> 16) & 0x8000;
    int exponent = (bits >> 23) & 0xFF;
    uint32_t mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | (uint16_t)(mantissa >> 13);
    int e = exponent - 127 + 15;
    if (e >= 0x1F) return sign | 0x7C00;
    if (e <= 0) {
        if (e < -10) return sign;
        return sign | (uint16_t)round_shift(mantissa | 0x800000, (uint32_t)(14 - e));
    }
    uint32_t truncated = (uint32_t)e << 10 | mantissa >> 13, remainder = mantissa & 0x1FFF;
    if (remainder > 0x1000 || (remainder == 0x1000 && (truncated & 1))) truncated += 1;
    return sign | (uint16_t)truncated;
}

void ak_half_to_f32_portable(int format, long n, const uint16_t *x, float *y) {
    if (format == AK_HALF_BF16) {
        for (long i = 0; i < n; i++) y[i] = bits_to_float((uint32_t)x[i] << 16);
    } else {
        for (long i = 0; i < n; i++) y[i] = ak_half_to_float(format, x[i]);
    }
}

void ak_half_from_f32_portable(int format, long n, const float *x, uint16_t *y) {
    for (long i = 0; i < n; i++) y[i] = ak_float_to_half(format, x[i]);
}

// |x| as the 15 low bits is monotonic in magnitude for both formats; an exponent field of
// all ones is NaN or ±inf.
float ak_half_scan_rows_portable(int format, long rows, long cols, const uint16_t *x, long ldx,
                                 unsigned char *bad) {
    const uint16_t special = format == AK_HALF_BF16 ? 0x7F80 : 0x7C00;
    uint16_t largest = 0;
    for (long r = 0; r < rows; r++) {
        const uint16_t *xr = x + r * ldx;
        uint16_t m = 0;
        int nonFinite = 0;
        for (long c = 0; c < cols; c++) {
            uint16_t a = xr[c] & 0x7FFF;
            nonFinite |= (a & special) == special;
            m = a > m ? a : m;
        }
        if (nonFinite) bad[r] = 1;
        else if (m > largest) largest = m;
    }
    return ak_half_to_float(format, largest);
}

// Q (or any row-major bf16 block) as bf16 pairs for the tile products of every bf16 variant
// (AVX512-BF16, arm64 BFDOT): row r of `out` holds the pairs of row r of `x`, the odd last
// element paired with 0, rows rows..<rowsPadded zero. Plain copies: no target needed.
void ak_bf16_pack_rows_portable(long rows, long rowsPadded, long d, const uint16_t *x, long ldx,
                                uint32_t *out, long ldo) {
    long pairs = (d + 1) / 2;
    for (long r = 0; r < rowsPadded; r++) {
        uint32_t *o = out + r * ldo;
        if (r >= rows) {
            memset(o, 0, (size_t)pairs * 4);
            continue;
        }
        const uint16_t *xr = x + r * ldx;
        memcpy(o, xr, (size_t)(d / 2) * 4);
        if (d & 1) o[pairs - 1] = xr[d - 1];
    }
}
