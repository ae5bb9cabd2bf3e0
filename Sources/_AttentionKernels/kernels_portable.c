// Portable variant: 4-wide vectors (SSE2 on x86-64, NEON on arm64), no FMA assumed.
// Register budget (16 vector registers on SSE2): 6×8 tile = 12 accumulators + 2 B vectors +
// 1 broadcast = 15.
#define AK_VW 4
#define AK_TARGET
#define AK_NAME(f) f##_portable
#define QK_MR 6
#define QK_NV 2
#define PV_MR 6
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
