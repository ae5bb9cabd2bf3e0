// arm64 BF16 variant of the fused forward's tile products (BFDOT, FEAT_BF16: Apple M2 and
// later, Neoverse V1/N2, Graviton 3): the entry points and packed layouts of the AVX512-BF16
// variant (AttentionKernelsHalf.h), chosen at run time by half_dispatch.c only when
// ak_arm64_features() reports AK_ARM64_BF16. Compiled per function for +bf16, like the x86
// variants, never by package flags.
//
// `vbfdotq_f32(acc, b, a)`: 4 fp32 lanes, each += b[2i]·a[2i] + b[2i+1]·a[2i+1]. With B's
// pairs of 4 adjacent columns in `b` and one pair of A broadcast in `a`, that is one depth
// step (two bf16 products) of a 1×4 row of C. A 12×8 tile: 24 accumulators + 2 B vectors +
// 1 broadcast of the 32 q registers.
#include "half_variants.h"
#if defined(__aarch64__)
#if !defined(DEBUG) && !defined(NDEBUG)
#define NDEBUG 1
#endif
#include <arm_neon.h>
#include <assert.h>
#include <string.h>

#define AK_BF16 __attribute__((target("bf16")))
#define AK_BF16_INLINE static inline __attribute__((always_inline)) AK_BF16
#define AK_UNROLL _Pragma("clang loop unroll(full)")

static inline uint32_t pair(uint16_t lo, uint16_t hi) { return (uint32_t)lo | (uint32_t)hi << 16; }

AK_BF16 void ak_bf16_pack_transposed_neon(long cols, long d, const uint16_t *k, long ldk, uint32_t *out,
                                          long ldo, long colsPadded) {
    long pairs = (d + 1) / 2, full = d / 2;
    for (long c = 0; c < cols; c++) {
        const uint16_t *kc = k + c * ldk;
        for (long p = 0; p < full; p++) out[p * ldo + c] = pair(kc[2 * p], kc[2 * p + 1]);
        if (d & 1) out[(pairs - 1) * ldo + c] = kc[d - 1];
    }
    for (long p = 0; p < pairs; p++)
        for (long c = cols; c < colsPadded; c++) out[p * ldo + c] = 0;
}

AK_BF16 void ak_bf16_pack_interleaved_neon(long rows, long cols, const uint16_t *v, long ldv, uint32_t *out,
                                           long ldo, long colsPadded) {
    long c8 = cols & ~7L;
    for (long p = 0; p < (rows + 1) / 2; p++) {
        const uint16_t *r0 = v + 2 * p * ldv, *r1 = r0 + ldv;
        int second = 2 * p + 1 < rows;
        uint32_t *o = out + p * ldo;
        for (long n = 0; n < c8; n += 8) {
            uint16x8x2_t z = {{vld1q_u16(r0 + n), second ? vld1q_u16(r1 + n) : vdupq_n_u16(0)}};
            vst2q_u16((uint16_t *)(o + n), z);  // interleaves: lo, hi, lo, hi, ... = pairs
        }
        for (long n = c8; n < cols; n++) o[n] = pair(r0[n], second ? r1[n] : 0);
        for (long n = cols; n < colsPadded; n++) o[n] = 0;
    }
}

// fp32 → bf16 bits, to nearest even, NaN kept quiet: ak_float_to_half's rule, 4 lanes.
AK_BF16_INLINE uint32x4_t round_bf16(uint32x4_t bits) {
    uint32x4_t odd = vandq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(1));
    uint32x4_t rounded = vshrq_n_u32(vaddq_u32(bits, vaddq_u32(odd, vdupq_n_u32(0x7FFF))), 16);
    uint32x4_t nan = vcgtq_u32(vandq_u32(bits, vdupq_n_u32(0x7FFFFFFF)), vdupq_n_u32(0x7F800000));
    return vbslq_u32(nan, vorrq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(0x40)), rounded);
}

AK_BF16 void ak_bf16_pairs_from_f32_neon(long rows, long cols, const float *s, long lds, uint32_t *out,
                                         long ldo) {
    long c8 = cols & ~7L;
    for (long r = 0; r < rows; r++) {
        const float *sr = s + r * lds;
        uint32_t *o = out + r * ldo;
        for (long c = 0; c < c8; c += 8) {
            uint32x4x2_t x = vld2q_u32((const uint32_t *)(sr + c));  // even, odd columns
            vst1q_u32(o + c / 2, vorrq_u32(round_bf16(x.val[0]), vshlq_n_u32(round_bf16(x.val[1]), 16)));
        }
        for (long c = c8; c < cols; c += 2)
            o[c / 2] = pair(ak_float_to_half(AK_HALF_BF16, sr[c]),
                            c + 1 < cols ? ak_float_to_half(AK_HALF_BF16, sr[c + 1]) : 0);
    }
}

// C[12 × 8] from pairs: mode scale (rowScale NULL) or C = rowScale[r]·C + A·B.
AK_BF16_INLINE void micro(long depth, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c, long ldc,
                          float scale, const float *rowScale) {
    float32x4_t acc[12][2];
    AK_UNROLL for (int r = 0; r < 12; r++) acc[r][0] = acc[r][1] = vdupq_n_f32(0);
    for (long p = 0; p < depth; p++) {
        bfloat16x8_t b0 = vreinterpretq_bf16_u32(vld1q_u32(b + p * ldb));
        bfloat16x8_t b1 = vreinterpretq_bf16_u32(vld1q_u32(b + p * ldb + 4));
        AK_UNROLL for (int r = 0; r < 12; r++) {
            bfloat16x8_t ar = vreinterpretq_bf16_u32(vld1q_dup_u32(a + r * lda + p));
            acc[r][0] = vbfdotq_f32(acc[r][0], b0, ar);
            acc[r][1] = vbfdotq_f32(acc[r][1], b1, ar);
        }
    }
    AK_UNROLL for (int r = 0; r < 12; r++) {
        float *cr = c + r * ldc;
        AK_UNROLL for (int v = 0; v < 2; v++) {
            float32x4_t out = rowScale ? vfmaq_n_f32(acc[r][v], vld1q_f32(cr + 4 * v), rowScale[r])
                                       : vmulq_n_f32(acc[r][v], scale);
            vst1q_f32(cr + 4 * v, out);
        }
    }
}

// Column slices outermost, as in the fp32 kernels: one B slice stays in L1 while the row
// panels of A stream past it.
AK_BF16 void ak_bf16_dot_gemm_neon(long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b,
                                   long ldb, float *c, long ldc, float scale, const float *rowScale) {
    assert(rows % 12 == 0 && "ak_bf16_dot_gemm: rows must be a multiple of 12");
    assert(cols % 16 == 0 && "ak_bf16_dot_gemm: cols must be a multiple of 16");
    for (long j = 0; j < cols; j += 8)
        for (long i = 0; i < rows; i += 12)
            micro(depth, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, scale, rowScale ? rowScale + i : 0);
}

// The layer GEMM on bf16 weights, as in bf16_avx512.c: A rounded to bf16 pairs 12 rows at a
// time, 32-column panels of pack_weight, partial tiles through a 12×32 buffer.
AK_BF16 void ak_bf16_pack_weight_neon(long K, long N, const uint16_t *w, long ldw, uint32_t *packed) {
    long pairs = (K + 1) / 2;
    for (long j0 = 0; j0 < N; j0 += 32) {
        long width = N - j0 < 32 ? N - j0 : 32;
        ak_bf16_pack_transposed_neon(width, K, w + j0 * ldw, ldw, packed + (j0 / 32) * pairs * 32, 32, 32);
    }
}

AK_BF16 void ak_bf16_gemm_packed_neon(long M, long N, long K, const float *A, long lda, const uint32_t *packed,
                                      int accumulate, float *C, long ldc, uint32_t *scratch) {
    long pairs = (K + 1) / 2;
    static const float ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    float edge[12 * 32];
    for (long i0 = 0; i0 < M; i0 += 12) {
        long h = M - i0 < 12 ? M - i0 : 12;
        ak_bf16_pairs_from_f32_neon(h, K, A + i0 * lda, lda, scratch, pairs);
        if (h < 12) memset(scratch + h * pairs, 0, (size_t)((12 - h) * pairs) * 4);
        for (long j0 = 0; j0 < N; j0 += 32) {
            long w = N - j0 < 32 ? N - j0 : 32;
            const uint32_t *panel = packed + (j0 / 32) * pairs * 32;
            float *c = C + i0 * ldc + j0;
            if (h == 12 && w == 32) {
                for (int q = 0; q < 4; q++)
                    micro(pairs, scratch, pairs, panel + 8 * q, 32, c + 8 * q, ldc, 1.0f, accumulate ? ones : 0);
            } else {
                for (int q = 0; q < 4; q++) micro(pairs, scratch, pairs, panel + 8 * q, 32, edge + 8 * q, 32, 1.0f, 0);
                for (long r = 0; r < h; r++)
                    for (long t = 0; t < w; t++) c[r * ldc + t] = (accumulate ? c[r * ldc + t] : 0) + edge[r * 32 + t];
            }
        }
    }
}
#endif
