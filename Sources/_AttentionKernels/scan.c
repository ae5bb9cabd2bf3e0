// Screening of attention inputs for NaN and infinity (the rule in docs/KERNELS.md,
// "Non-finite values"). One read of each input per call; memory-bound, so it is compiled once
// for the baseline instruction set rather than per variant.
#include "AttentionKernels.h"
#include <float.h>
#include <math.h>

float ak_scan_rows(long rows, long cols, const float *x, long ldx, unsigned char *bad) {
    float largest = 0;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float m = 0;
        int nonFinite = 0;
        for (long c = 0; c < cols; c++) {
            float a = fabsf(xr[c]);
            nonFinite |= !(a <= FLT_MAX);  // NaN and ±inf
            m = a > m ? a : m;
        }
        if (nonFinite) bad[r] = 1;
        else if (m > largest) largest = m;
    }
    return largest;
}
