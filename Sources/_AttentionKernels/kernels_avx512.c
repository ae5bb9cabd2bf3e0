// AVX-512 variant: 16-wide vectors.
// Register budget (32 zmm): S = Q·Kᵀ tile 12×32 = 24 accumulators + 2 B vectors + 1 broadcast
// = 27; O += P·V tile 6×64 = 24 accumulators + 4 B vectors + 1 broadcast = 29.
#if defined(__x86_64__) || defined(_M_X64)
#define AK_VW 16
#define AK_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define AK_NAME(f) f##_avx512
#define QK_MR 12
#define QK_NV 2
#define PV_MR 6
#define PV_NV 4
#include "kernels_impl.h"
#endif
