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
#include "kernels_impl.h"
