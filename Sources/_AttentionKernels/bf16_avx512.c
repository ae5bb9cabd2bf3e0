// AVX512-BF16 variant of the fused forward's tile products (`vdpbf16ps`: 16 fp32 lanes,
// each += a[2i]·b[2i] + a[2i+1]·b[2i+1] over bf16 pairs). Operands are "pairs": two bf16
// values in one 32-bit word, adjacent along the product's depth. See AttentionKernelsHalf.h.
//
// Register budget (32 zmm): a 12×32 tile = 24 accumulators + 2 B vectors + 1 broadcast = 27,
// the layout of the fp32 AVX-512 micro-kernel with two depth steps per instruction.
#include "half_variants.h"
#if defined(__x86_64__) || defined(_M_X64)
#if !defined(DEBUG) && !defined(NDEBUG)
#define NDEBUG 1
#endif
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#define AK_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define AK_BF16_INLINE static inline __attribute__((always_inline)) AK_BF16
#define AK_UNROLL _Pragma("clang loop unroll(full)")

AK_BF16_INLINE uint32_t pair(uint16_t lo, uint16_t hi) { return (uint32_t)lo | (uint32_t)hi << 16; }

// out[j·ldo + i] = pair j of key i for 16 keys (key i's pairs from k + i·ldk) × 16 pairs: a
// 16×16 transpose of 32-bit words in 64 in-register shuffles.
// Unpacking 32- then 64-bit halves leaves v[g][j], whose 128-bit lane L holds keys
// 4g ..< 4g + 4 at pair 4L + j; two rounds of 128-bit lane shuffles gather lane L of
// v[0 ..< 4][j] into the output row of pair 4L + j.
AK_BF16_INLINE void transpose16(const uint16_t *k, long ldk, uint32_t *out, long ldo) {
    __m512i r[16], v[4][4];
    AK_UNROLL for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(k + i * ldk);
    AK_UNROLL for (int g = 0; g < 4; g++) {
        __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]), t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
        __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]), t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
        v[g][0] = _mm512_unpacklo_epi64(t0, t2), v[g][1] = _mm512_unpackhi_epi64(t0, t2);
        v[g][2] = _mm512_unpacklo_epi64(t1, t3), v[g][3] = _mm512_unpackhi_epi64(t1, t3);
    }
    AK_UNROLL for (int j = 0; j < 4; j++) {
        __m512i x0 = _mm512_shuffle_i32x4(v[0][j], v[1][j], 0x44), x1 = _mm512_shuffle_i32x4(v[0][j], v[1][j], 0xEE);
        __m512i y0 = _mm512_shuffle_i32x4(v[2][j], v[3][j], 0x44), y1 = _mm512_shuffle_i32x4(v[2][j], v[3][j], 0xEE);
        _mm512_storeu_si512(out + j * ldo, _mm512_shuffle_i32x4(x0, y0, 0x88));
        _mm512_storeu_si512(out + (4 + j) * ldo, _mm512_shuffle_i32x4(x0, y0, 0xDD));
        _mm512_storeu_si512(out + (8 + j) * ldo, _mm512_shuffle_i32x4(x1, y1, 0x88));
        _mm512_storeu_si512(out + (12 + j) * ldo, _mm512_shuffle_i32x4(x1, y1, 0xDD));
    }
}

AK_BF16 void ak_bf16_pack_transposed_avx512(long cols, long d, const uint16_t *k, long ldk, uint32_t *out,
                                            long ldo, long colsPadded) {
    long pairs = (d + 1) / 2, full = d / 2;
    // 16 keys × 16 pairs at a time by transposes; the pairs past the last whole 16 by
    // 16-key gathers (32-bit strided; their indices must fit in 32 bits), the rest scalar.
    // Gathers for every pair took 5% of a bf16 S = 512 causal call, the transposes half that.
    long c16 = cols & ~15L, p16 = full & ~15L, gathered = c16;
    for (long c0 = 0; c0 < c16; c0 += 16)
        for (long p0 = 0; p0 < p16; p0 += 16) transpose16(k + c0 * ldk + 2 * p0, ldk, out + p0 * ldo + c0, ldo);
    if (p16 < full) {
        __m512i index = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                           _mm512_set1_epi32((int)ldk));
        if (ldk * 2 * 15 < 0x7FFFFFFF) {
            for (long c0 = 0; c0 < c16; c0 += 16)
                for (long p = p16; p < full; p++) {
                    __m512i v = _mm512_i32gather_epi32(index, (const void *)(k + c0 * ldk + 2 * p), 2);
                    _mm512_storeu_si512(out + p * ldo + c0, v);
                }
        } else {
            gathered = 0;
        }
    }
    for (long p = 0; p < full; p++)
        for (long c = p < p16 ? c16 : gathered; c < cols; c++) out[p * ldo + c] = pair(k[c * ldk + 2 * p], k[c * ldk + 2 * p + 1]);
    if (d & 1)
        for (long c = 0; c < cols; c++) out[(pairs - 1) * ldo + c] = k[c * ldk + d - 1];
    for (long p = 0; p < pairs; p++)
        for (long c = cols; c < colsPadded; c++) out[p * ldo + c] = 0;
}

AK_BF16 void ak_bf16_pack_interleaved_avx512(long rows, long cols, const uint16_t *v, long ldv, uint32_t *out,
                                             long ldo, long colsPadded) {
    long c16 = cols & ~15L;
    for (long p = 0; p < (rows + 1) / 2; p++) {
        const uint16_t *r0 = v + 2 * p * ldv, *r1 = r0 + ldv;
        int second = 2 * p + 1 < rows;
        uint32_t *o = out + p * ldo;
        for (long n = 0; n < c16; n += 16) {
            __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(r0 + n)));
            __m512i hi = second ? _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(r1 + n)))
                                : _mm512_setzero_si512();
            _mm512_storeu_si512(o + n, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
        for (long n = c16; n < cols; n++) o[n] = pair(r0[n], second ? r1[n] : 0);
        for (long n = cols; n < colsPadded; n++) o[n] = 0;
    }
}

// 32 floats (x0 the first 16, x1 the next) rounded to nearest even, as 32 consecutive 16-bit
// values: binary16 when `f16` (vcvtps2ph), else bf16.
AK_BF16_INLINE __m512i round32(int f16, __m512 x0, __m512 x1) {
    if (!f16) return (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
#define AK_NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(x0, AK_NEAREST)), _mm512_cvtps_ph(x1, AK_NEAREST), 1);
#undef AK_NEAREST
}

AK_BF16_INLINE void pairs_from_f32(int f16, long rows, long cols, const float *s, long lds, uint32_t *out, long ldo) {
    long c32 = cols & ~31L;
    for (long r = 0; r < rows; r++) {
        const float *sr = s + r * lds;
        uint32_t *o = out + r * ldo;
        for (long c = 0; c < c32; c += 32)
            _mm512_storeu_si512(o + c / 2, round32(f16, _mm512_loadu_ps(sr + c), _mm512_loadu_ps(sr + c + 16)));
        if (c32 < cols) {
            float tail[32] = {0};
            memcpy(tail, sr + c32, (size_t)(cols - c32) * sizeof(float));
            uint32_t words[16];
            _mm512_storeu_si512(words, round32(f16, _mm512_loadu_ps(tail), _mm512_loadu_ps(tail + 16)));
            memcpy(o + c32 / 2, words, (size_t)((cols - c32 + 1) / 2) * 4);
        }
    }
}

AK_BF16 void ak_bf16_pairs_from_f32_avx512(long rows, long cols, const float *s, long lds, uint32_t *out,
                                           long ldo) {
    pairs_from_f32(0, rows, cols, s, lds, out, ldo);
}

// The f16 pairs of the AMX-FP16 table (AttentionKernelsHalf.h: pairs_from_f32_f16).
AK_BF16 void ak_f16_pairs_from_f32_avx512(long rows, long cols, const float *s, long lds, uint32_t *out, long ldo) {
    pairs_from_f32(1, rows, cols, s, lds, out, ldo);
}

// C[MR × NV·16] from pairs: mode scale (rowScale NULL) or C = rowScale[r]·C + A·B.
AK_BF16_INLINE void micro(const int MR, const int NV, long depth, const uint32_t *a, long lda,
                          const uint32_t *b, long ldb, float *c, long ldc, float scale,
                          const float *rowScale) {
    __m512 acc[12][2];
    AK_UNROLL for (int r = 0; r < MR; r++) AK_UNROLL for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < depth; p++) {
        __m512bh bv[2];
        AK_UNROLL for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + p * ldb + 16 * v);
        AK_UNROLL for (int r = 0; r < MR; r++) {
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[r * lda + p]);
            AK_UNROLL for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], ar, bv[v]);
        }
    }
    AK_UNROLL for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        AK_UNROLL for (int v = 0; v < NV; v++) {
            __m512 out = rowScale ? _mm512_fmadd_ps(_mm512_set1_ps(rowScale[r]), _mm512_loadu_ps(cr + 16 * v), acc[r][v])
                                  : _mm512_mul_ps(_mm512_set1_ps(scale), acc[r][v]);
            _mm512_storeu_ps(cr + 16 * v, out);
        }
    }
}

// Column slices outermost, as in the fp32 kernels: one B slice (depth × 32 pairs) stays in
// L1 while the row panels of A stream past it.
AK_BF16 void ak_bf16_dot_gemm_avx512(long rows, long cols, long depth, const uint32_t *a, long lda,
                                     const uint32_t *b, long ldb, float *c, long ldc, float scale,
                                     const float *rowScale) {
    assert(rows % 12 == 0 && "ak_bf16_dot_gemm: rows must be a multiple of 12");
    assert(cols % 16 == 0 && "ak_bf16_dot_gemm: cols must be a multiple of 16");
    for (long j = 0; j < cols; j += 32) {
        for (long i = 0; i < rows; i += 12) {
            const float *rs = rowScale ? rowScale + i : 0;
            if (cols - j >= 32) micro(12, 2, depth, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, scale, rs);
            else micro(12, 1, depth, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, scale, rs);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Layer GEMM on bf16 weights: C[M×N] (+)= bf16(A)·B, A fp32 row-major, B packed in pairs
// by ak_bf16_pack_weight. A is rounded to bf16 12 rows at a time (pairs, zero-padded);
// partial tiles (the last rows, the last columns) go through a 12×32 buffer.

// packed[p·pairs·32 + q·32 + t] = (W[32p+t][2q], W[32p+t][2q+1]) for W [N × K] bf16 (row
// stride ldw), zero beyond N and for the odd last k.
AK_BF16 void ak_bf16_pack_weight_avx512(long K, long N, const uint16_t *w, long ldw, uint32_t *packed) {
    long pairs = (K + 1) / 2;
    for (long j0 = 0; j0 < N; j0 += 32) {
        long width = N - j0 < 32 ? N - j0 : 32;
        ak_bf16_pack_transposed_avx512(width, K, w + j0 * ldw, ldw, packed + (j0 / 32) * pairs * 32, 32, 32);
    }
}

// scratch[r·P + q] = bf16 pair (A[r][2q], A[r][2q+1]) for r < h, zero for h ≤ r < 12 (P =
// ceil(K/2)): the 12 rows of A one gemm_packed step multiplies (also the AMX kernel's).
AK_BF16 void ak_bf16_round_rows_avx512(long h, long K, const float *A, long lda, uint32_t *scratch) {
    long pairs = (K + 1) / 2;
    for (long r = 0; r < 12; r++) {
        if (r < h) ak_bf16_pairs_from_f32_avx512(1, K, A + r * lda, lda, scratch + r * pairs, pairs);
        else memset(scratch + r * pairs, 0, (size_t)pairs * 4);
    }
}

AK_BF16 void ak_bf16_gemm_packed_avx512(long M, long N, long K, const float *A, long lda, const uint32_t *packed,
                                        int accumulate, float *C, long ldc, uint32_t *scratch) {
    long pairs = (K + 1) / 2;
    float ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    float edge[12 * 32];
    for (long i0 = 0; i0 < M; i0 += 12) {
        long h = M - i0 < 12 ? M - i0 : 12;
        ak_bf16_round_rows_avx512(h, K, A + i0 * lda, lda, scratch);
        for (long j0 = 0; j0 < N; j0 += 32) {
            long w = N - j0 < 32 ? N - j0 : 32;
            const uint32_t *panel = packed + (j0 / 32) * pairs * 32;
            float *c = C + i0 * ldc + j0;
            if (h == 12 && w == 32) {
                micro(12, 2, pairs, scratch, pairs, panel, 32, c, ldc, 1.0f, accumulate ? ones : 0);
            } else {
                micro(12, 2, pairs, scratch, pairs, panel, 32, edge, 32, 1.0f, 0);
                for (long r = 0; r < h; r++)
                    for (long t = 0; t < w; t++) c[r * ldc + t] = (accumulate ? c[r * ldc + t] : 0) + edge[r * 32 + t];
            }
        }
    }
}
#endif
