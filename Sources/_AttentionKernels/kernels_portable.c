// Portable variant: 4-wide vectors (SSE2 on x86-64, NEON on arm64), no FMA assumed (arm64
// always has it: `acc + a * b` becomes FMLA there).
#define AK_VW 4
#define AK_TARGET
#define AK_NAME(f) f##_portable
#if defined(__aarch64__) && defined(__ARM_NEON)
// Register budget (32 × 128-bit v registers on AArch64): 12×8 tiles, as the AVX-512 variant's
// 12×32. Packed A (S = Q·Kᵀ, sgemm, sgemm_packed): 24 accumulators + 2 B vectors + 3 A
// vectors read by lane = 29 (kernels_neon.h); row-major A (O += P·V): 24 + 2 + 1 broadcast
// = 27.
#define QK_MR 12
#define PV_MR 12
#include "kernels_neon.h"
#else
// Register budget (16 vector registers on SSE2 and 32-bit NEON): 6×8 tile = 12 accumulators
// + 2 B vectors + 1 broadcast = 15.
#define QK_MR 6
#define PV_MR 6
#endif
#define QK_NV 2
#define PV_NV 2
// max/min as single instructions where the platform has them.
#if defined(__SSE2__)
#include <emmintrin.h>
#define AK_VMAX(a, b) ((vf)_mm_max_ps((__m128)(a), (__m128)(b)))
#define AK_VMIN(a, b) ((vf)_mm_min_ps((__m128)(a), (__m128)(b)))
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define AK_VMAX(a, b) ((vf)vmaxq_f32((float32x4_t)(a), (float32x4_t)(b)))
#define AK_VMIN(a, b) ((vf)vminq_f32((float32x4_t)(a), (float32x4_t)(b)))
#else
#define AK_VMAX(a, b) __builtin_elementwise_max(a, b)
#define AK_VMIN(a, b) __builtin_elementwise_min(a, b)
#endif
#include "kernels_impl.h"
