// AVX-512 variant: 16-wide vectors.
// Register budget (32 zmm): both tiles are 12×32 = 24 accumulators + 2 B vectors + 1 broadcast
// = 27. For O += P·V a 12-row tile halves the V bytes loaded per FMA compared with 6×64, which
// keeps the product under the L2→L1 bandwidth (measured: 116 → see PERFORMANCE.md).
#if defined(__x86_64__) || defined(_M_X64)
#define AK_VW 16
#define AK_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define AK_NAME(f) f##_avx512
#define QK_MR 12
#define QK_NV 2
#define PV_MR 12
#define PV_NV 2
// max/min as single instructions (x86 semantics: the second operand when either is NaN).
#include <immintrin.h>
#define AK_VMAX(a, b) ((vf)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define AK_VMIN(a, b) ((vf)_mm512_min_ps((__m512)(a), (__m512)(b)))
#include "kernels_impl.h"
// The bf16-pair decode kernel of the AVX512-BF16 reduced-precision table (shares the
// decode helpers above).
#include "decode_bf16_avx512.h"
#endif
