// AVX2 + FMA variant: 8-wide vectors.
// Register budget (16 ymm): 6×16 tile = 12 accumulators + 2 B vectors + 1 broadcast = 15.
#if defined(__x86_64__) || defined(_M_X64)
#define AK_VW 8
#define AK_TARGET __attribute__((target("avx2,fma")))
#define AK_NAME(f) f##_avx2
#define QK_MR 6
#define QK_NV 2
#define PV_MR 6
#define PV_NV 2
// max/min as single instructions (x86 semantics: the second operand when either is NaN).
#include <immintrin.h>
#define AK_VMAX(a, b) ((vf)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define AK_VMIN(a, b) ((vf)_mm256_min_ps((__m256)(a), (__m256)(b)))
#include "kernels_impl.h"
#endif
