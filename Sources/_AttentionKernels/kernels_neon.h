// arm64 (AArch64 NEON) micro-kernel for A operands whose rows are contiguous at each k: the
// 12-row panels of tile_gemm shape 0 (S = Q·Kᵀ), sgemm and sgemm_packed. Four rows of A come
// in with one 128-bit load and feed their FMAs by lane (FMLA v.4s, b.4s, a.s[i]), so a 12×8
// tile loads 3 A vectors and 2 B vectors per 24 FMAs, where the generic body loads 12
// broadcasts (LD1R) and 2 B vectors.
// Register budget (32 × 128-bit v registers): 24 accumulators + 2 B vectors + 3 A vectors = 29.
//
// Included by kernels_portable.c on AArch64 only, before kernels_impl.h, whose `micro` hands
// over to ak_neon_micro_lanes when A's row stride is 1. Both compute each C element as the
// same chain of fused multiply-adds over k, so the results are bit-identical to the generic
// body's (which the compiler also lowers to NEON FMLA).
#ifndef AK_KERNELS_NEON_H
#define AK_KERNELS_NEON_H
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

#define AK_NEON_LANES 1

/// C[MR × 4·NV] (+)= A[MR × depth]·B[depth × 4·NV] with A(r, k) = a[r + k·acs] (MR a multiple
/// of 4, at most 12; NV at most 4); B row k starts at b + k·ldb. mode 0: overwrite,
/// 1: accumulate, 2: C = rowScale[r]·C + A·B (the modes of kernels_impl.h's `micro`).
static inline __attribute__((always_inline)) void ak_neon_micro_lanes(
    const int MR, const int NV, long depth, const float *a, long acs, const float *b, long ldb,
    float *c, long ldc, int mode, const float *rowScale) {
    float32x4_t acc[12][4];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] = vdupq_n_f32(0);
    for (long k = 0; k < depth; k++) {
        const float *bk = b + k * ldb, *ak = a + k * acs;
        float32x4_t bv[4];
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) bv[v] = vld1q_f32(bk + 4 * v);
        _Pragma("clang loop unroll(full)") for (int q = 0; q < MR / 4; q++) {
            float32x4_t av = vld1q_f32(ak + 4 * q);  // rows 4q ..< 4q + 4 at this k
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {
                acc[4 * q + 0][v] = vfmaq_laneq_f32(acc[4 * q + 0][v], bv[v], av, 0);
                acc[4 * q + 1][v] = vfmaq_laneq_f32(acc[4 * q + 1][v], bv[v], av, 1);
                acc[4 * q + 2][v] = vfmaq_laneq_f32(acc[4 * q + 2][v], bv[v], av, 2);
                acc[4 * q + 3][v] = vfmaq_laneq_f32(acc[4 * q + 3][v], bv[v], av, 3);
            }
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {
            float32x4_t out = acc[r][v];
            if (mode == 1) out = vaddq_f32(out, vld1q_f32(cr + 4 * v));
            else if (mode == 2) out = vfmaq_n_f32(out, vld1q_f32(cr + 4 * v), rowScale[r]);
            vst1q_f32(cr + 4 * v, out);
        }
    }
}

#endif
#endif
