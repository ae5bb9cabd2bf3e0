// Interleaved A/B of two builds of the AVX-512 decode kernels (scripts/decode-ab.sh links
// them with their global symbols prefixed A_ and B_). One process, one cache: each
// repetition runs the step of every KV head with A and with B (alternating which goes
// first), then a plain read of the same bytes. Prints the median ns per position and KV
// head of each, its fraction of the plain read, and the median of the per-repetition
// ratios B/A with its quartiles — robust to the slow and fast periods of a shared VM, which
// move both builds together.
//
// Shape: B = 1, rows = 4 query rows per KV head (32/8 GQA), D = Dv = 128, value rows.
// Usage: decode_ab POSITIONS KV_HEADS REPS bf16|f16|f32 (f16: the widening kernel)
// Compiled with -DAB_AVX2 it times the AVX2 variant (every dtype on the widening kernel)
// and reads plainly with AVX2.
#include "AttentionKernels.h"
#include "AttentionKernelsHalf.h"
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

typedef void decode_fn(const ak_decode_rows *, long, const ak_kv_run *);
#ifdef AB_AVX2
decode_fn A_ak_decode_partial_avx2, B_ak_decode_partial_avx2;
#define A_WIDEN A_ak_decode_partial_avx2
#define B_WIDEN B_ak_decode_partial_avx2
#define A_PAIRS A_ak_decode_partial_avx2
#define B_PAIRS B_ak_decode_partial_avx2
#else
decode_fn A_ak_decode_partial_avx512, B_ak_decode_partial_avx512, A_ak_decode_partial_bf16_avx512,
    B_ak_decode_partial_bf16_avx512;
#define A_WIDEN A_ak_decode_partial_avx512
#define B_WIDEN B_ak_decode_partial_avx512
#define A_PAIRS A_ak_decode_partial_bf16_avx512
#define B_PAIRS B_ak_decode_partial_bf16_avx512
#endif
void *ak_thread_buffer(int i, unsigned long n) { return 0; }  // not used by decode

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
#ifdef AB_AVX2
__attribute__((target("avx2"))) static float plain(const float *x, long n) {
    __m256 m = _mm256_setzero_ps(), m2 = m;
    for (long i = 0; i < n; i += 16) {
        m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 8));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_max_ps(m, m2));
    return fmaxf(fmaxf(fmaxf(t[0], t[1]), fmaxf(t[2], t[3])), fmaxf(fmaxf(t[4], t[5]), fmaxf(t[6], t[7])));
}
#else
__attribute__((target("avx512f"))) static float plain(const float *x, long n) {
    __m512 m = _mm512_setzero_ps(), m2 = m;
    for (long i = 0; i < n; i += 32) {
        m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 16));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m, m2));
}
#endif

int main(int argc, char **argv) {
    if (argc < 5) return fprintf(stderr, "usage: %s POSITIONS KV_HEADS REPS bf16|f16|f32\n", argv[0]), 2;
    const long N = atol(argv[1]), H = atol(argv[2]), d = 128, rows = 4;
    const int reps = atoi(argv[3]), bf = strcmp(argv[4], "bf16") == 0, f16 = strcmp(argv[4], "f16") == 0;
    const int w = bf || f16 ? 2 : 4, kvType = bf ? AK_KV_BF16 : f16 ? AK_KV_F16 : AK_KV_F32;
    const size_t bytes = (size_t)(H * N * d * w * 2), huge = (size_t)2 << 20;
    char *kv = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
    madvise(kv, bytes, MADV_HUGEPAGE);
    for (size_t i = 0; i < bytes / 2; i++) ((uint16_t *)kv)[i] = (uint16_t)((0x3c00 + (i * 7919) % 512) & 0x3fff);
    if (!bf && !f16)
        for (size_t i = 0; i < bytes / 4; i++) ((float *)kv)[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    float q[4 * 128], m[4], l[4], acc[4 * 128], scratch[4 * (AK_DECODE_BF16_TILE + 1)];
    uint32_t qp[4 * 64];
    for (int i = 0; i < 512; i++) q[i] = sinf((float)i) * 0.1f;
    for (int i = 0; i < 256; i++) qp[i] = 0x3c003c00;
    long lo[4] = {0, 0, 0, 0}, hi[4] = {N, N, N, N};
    decode_fn *fn[2] = {bf ? A_PAIRS : A_WIDEN, bf ? B_PAIRS : B_WIDEN};
    double *t[3], *ratio = malloc((size_t)reps * sizeof(double));
    for (int k = 0; k < 3; k++) t[k] = malloc((size_t)reps * sizeof(double));
    volatile float sink = 0;
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < 2; k++) {
            int which = r & 1 ? 1 - k : k;
            double t0 = now();
            for (long h = 0; h < H; h++) {
                for (int i = 0; i < 4; i++) m[i] = -INFINITY, l[i] = 0;
                memset(acc, 0, sizeof acc);
                char *base = kv + h * N * d * w * 2;
                ak_kv_run run = {base, base + N * d * w, d, d, 0, N, 0, 0};
                ak_decode_rows a = {rows, d,   d,       q,       lo,  hi,      NULL, NULL,
                                    0,    kvType, m,  l,   acc,     scratch, bf ? qp : NULL, bf ? 0.1f : 0};
                fn[which](&a, 1, &run);
                sink += acc[0];
            }
            t[which][r] = now() - t0;
        }
        ratio[r] = t[1][r] / t[0][r];
        double t0 = now();
        sink += plain((const float *)kv, (long)(bytes / 4));
        t[2][r] = now() - t0;
    }
    for (int k = 0; k < 3; k++) qsort(t[k], (size_t)reps, sizeof(double), cmp);
    qsort(ratio, (size_t)reps, sizeof(double), cmp);
    const double a = t[0][reps / 2], b = t[1][reps / 2], p = t[2][reps / 2], per = 1e9 / (double)(N * H);
    printf("%s positions %ld: A %.1f ns (%.0f%% of the plain read), B %.1f ns (%.0f%%), B/A %.3f [quartiles %.3f %.3f]\n",
           argv[4], N, a * per, 100 * p / a, b * per, 100 * p / b, ratio[reps / 2], ratio[reps / 4],
           ratio[3 * reps / 4]);
    return 0;
}
