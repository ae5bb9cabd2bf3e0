// Reduced precision, AVX2 + F16C conversions: 8 elements per step, scalar tails.
// f16 uses the F16C instructions (exact widening; narrowing rounds to nearest even with
// subnormals and overflow to infinity, NaN quieted keeping the top payload bits — the same
// results as the portable code). bf16 is integer arithmetic on the bit patterns.
#include "half_variants.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AK_F16C __attribute__((target("avx2,f16c,fma")))

AK_F16C void ak_half_to_f32_f16c(int format, long n, const uint16_t *x, float *y) {
    long i = 0;
    if (format == AK_HALF_BF16) {
        for (; i + 8 <= n; i += 8) {
            __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + i)));
            _mm256_storeu_si256((__m256i *)(y + i), _mm256_slli_epi32(h, 16));
        }
    } else {
        // vcvtph2ps quiets signalling NaNs (sets the fp32 quiet bit); clear it again on those
        // lanes so the payload comes back exactly as the portable code gives it.
        const __m256i magnitude = _mm256_set1_epi32(0x7FFF), inf = _mm256_set1_epi32(0x7C00);
        const __m256i quietHalf = _mm256_set1_epi32(0x0200), quietFloat = _mm256_set1_epi32(0x00400000);
        for (; i + 8 <= n; i += 8) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(x + i));
            __m256i h = _mm256_cvtepu16_epi32(raw);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(h, magnitude), inf);
            __m256i quiet = _mm256_cmpeq_epi32(_mm256_and_si256(h, quietHalf), quietHalf);
            __m256i signalling = _mm256_andnot_si256(quiet, nan);
            __m256 f = _mm256_cvtph_ps(raw);
            f = _mm256_xor_ps(f, _mm256_castsi256_ps(_mm256_and_si256(signalling, quietFloat)));
            _mm256_storeu_ps(y + i, f);
        }
    }
    for (; i < n; i++) y[i] = ak_half_to_float(format, x[i]);
}

// bf16 nearest even of 8 floats, as 32-bit lanes holding the 16-bit results.
AK_F16C static inline __m256i bf16_round8(__m256 v) {
    __m256i b = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x40));
    __m256i magnitude = _mm256_and_si256(b, _mm256_set1_epi32(0x7FFFFFFF));
    __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F800000));
    return _mm256_blendv_epi8(rounded, _mm256_and_si256(quiet, _mm256_set1_epi32(0xFFFF)), nan);
}

AK_F16C void ak_half_from_f32_f16c(int format, long n, const float *x, uint16_t *y) {
    long i = 0;
    if (format == AK_HALF_BF16) {
        for (; i + 16 <= n; i += 16) {
            __m256i lo = bf16_round8(_mm256_loadu_ps(x + i)), hi = bf16_round8(_mm256_loadu_ps(x + i + 8));
            __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
            _mm256_storeu_si256((__m256i *)(y + i), packed);
        }
    } else {
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = ak_float_to_half(format, x[i]);
}

// ak_half_scan_rows_portable on 16 bit patterns per step. A magnitude |x| (the pattern
// without its sign) orders like the value, and exactly the non-finite patterns (exponent all
// ones) reach `special`: one unsigned maximum per row gives both the flag and the largest
// finite |x|. Same results as the portable code (it runs 2-byte screens at memory speed:
// the scalar loop took 6% of a bf16 S = 512 causal call).
AK_F16C float ak_half_scan_rows_avx2(int format, long rows, long cols, const uint16_t *x, long ldx,
                                     unsigned char *bad) {
    const uint16_t special = format == AK_HALF_BF16 ? 0x7F80 : 0x7C00;
    const __m256i magnitude = _mm256_set1_epi16(0x7FFF);
    uint16_t largest = 0;
    for (long r = 0; r < rows; r++) {
        const uint16_t *xr = x + r * ldx;
        __m256i m0 = _mm256_setzero_si256(), m1 = _mm256_setzero_si256();
        long c = 0;
        for (; c + 32 <= cols; c += 32) {
            m0 = _mm256_max_epu16(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(xr + c)), magnitude));
            m1 = _mm256_max_epu16(m1, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(xr + c + 16)), magnitude));
        }
        if (c + 16 <= cols) {
            m0 = _mm256_max_epu16(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(xr + c)), magnitude));
            c += 16;
        }
        m0 = _mm256_max_epu16(m0, m1);
        __m128i h = _mm_max_epu16(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
        // max = ~min(~h): vphminposuw finds the minimum of 8 unsigned words.
        uint16_t m = (uint16_t)~_mm_cvtsi128_si32(_mm_minpos_epu16(_mm_xor_si128(h, _mm_set1_epi16(-1))));
        for (; c < cols; c++) {
            uint16_t a = xr[c] & 0x7FFF;
            m = a > m ? a : m;
        }
        if (m >= special) bad[r] = 1;
        else if (m > largest) largest = m;
    }
    return ak_half_to_float(format, largest);
}
#endif
