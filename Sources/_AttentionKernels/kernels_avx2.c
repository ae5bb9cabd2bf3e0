// AVX2 + FMA variant: 8-wide vectors.
// Register budget (16 ymm): 6×16 tile = 12 accumulators + 2 B vectors + 1 broadcast = 15.
#if defined(__x86_64__) || defined(_M_X64)
#define AK_VW 8
// F16C too (every AVX2 CPU has it; ak_detected_isa checks): the decode kernel converts f16
// caches with vcvtph2ps instead of the portable bit trick, which took 3.4x as long per
// cached position (docs/PERFORMANCE.md, "f16 caches on AVX2").
#define AK_TARGET __attribute__((target("avx2,fma,f16c")))
#define AK_HAS_F16C 1
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
