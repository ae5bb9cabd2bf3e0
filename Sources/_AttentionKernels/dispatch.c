// Run-time choice of the kernel variant: detected once with __builtin_cpu_supports, and
// overridable (tests force the portable path; SWIFTATTENTION_ISA=portable|avx2|avx512 too).
#include "variants.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void (*tile_gemm)(int, long, long, long, const float *, long, const float *, long, float *,
                      long, int, const float *);
    void (*sgemm)(int, int, long, long, long, float, const float *, long, const float *, long,
                  float, float *, long);
    void (*pack_panels)(long, long, long, const float *, long, float, float *);
    void (*pack_transposed)(long, long, const float *, long, float *, long, long);
    void (*pack_scaled)(long, long, const float *, long, float, float *, long, long);
    void (*online_softmax)(long, long, float *, long, float *, float *, float *, const long *, int);
    void (*softmax_rows)(long, long, float *, long);
    void (*exp)(long, const float *, float *);
    void (*add_alibi)(long, long, float *, long, float, long, long, long, int);
    void (*finalize_rows)(long, long, const float *, long, const float *, float *, long);
    float (*scan_rows)(long, long, const float *, long, unsigned char *);
} ak_table;

#define AK_TABLE(S)                                                    \
    {ak_tile_gemm_##S, ak_sgemm_##S, ak_pack_panels_##S, ak_pack_transposed_##S, ak_pack_scaled_##S,              \
     ak_online_softmax_##S, ak_softmax_rows_##S, ak_exp_##S, ak_add_alibi_##S,                \
     ak_finalize_rows_##S, ak_scan_rows_##S}

static const ak_table tables[3] = {
    AK_TABLE(portable),
#ifdef AK_HAS_X86
    AK_TABLE(avx2),
    AK_TABLE(avx512),
#endif
};

static _Atomic int active = -1;

int ak_detected_isa(void) {
#ifdef AK_HAS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
        return AK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return AK_ISA_AVX2;
#endif
    return AK_ISA_PORTABLE;
}

int ak_set_isa(int isa) {
    int best = ak_detected_isa();
    if (isa > best) isa = best;
    if (isa < 0) isa = 0;
    atomic_store(&active, isa);
    return isa;
}

int ak_active_isa(void) {
    int isa = atomic_load(&active);
    if (isa >= 0) return isa;
    isa = ak_detected_isa();
    const char *env = getenv("SWIFTATTENTION_ISA");
    if (env) {
        if (strcmp(env, "portable") == 0) isa = AK_ISA_PORTABLE;
        else if (strcmp(env, "avx2") == 0) isa = AK_ISA_AVX2;
    }
    return ak_set_isa(isa);
}

static inline const ak_table *table(void) { return &tables[ak_active_isa()]; }

void *ak_alloc_bytes(size_t bytes) {
    void *p = 0;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return 0;
    return p;
}

void ak_tile_gemm(int shape, long rows, long cols, long depth, const float *a, long lda,
                  const float *b, long ldb, float *c, long ldc, int accumulate,
                  const float *rowScale) {
    table()->tile_gemm(shape, rows, cols, depth, a, lda, b, ldb, c, ldc, accumulate, rowScale);
}

void ak_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A,
              long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    table()->sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void ak_pack_panels(long rows, long rowsPadded, long cols, const float *x, long ldx, float scale,
                    float *out) {
    table()->pack_panels(rows, rowsPadded, cols, x, ldx, scale, out);
}

void ak_pack_transposed(long cols, long d, const float *k, long ldk, float *kt, long ldkt,
                        long colsPadded) {
    table()->pack_transposed(cols, d, k, ldk, kt, ldkt, colsPadded);
}

void ak_pack_scaled(long rows, long cols, const float *x, long ldx, float scale, float *y,
                    long ldy, long colsPadded) {
    table()->pack_scaled(rows, cols, x, ldx, scale, y, ldy, colsPadded);
}

void ak_online_softmax(long rows, long cols, float *s, long lds, float *rowMax, float *rowSum,
                       float *alpha, const long *spans, int natural) {
    table()->online_softmax(rows, cols, s, lds, rowMax, rowSum, alpha, spans, natural);
}

void ak_softmax_rows(long rows, long cols, float *s, long lds) {
    table()->softmax_rows(rows, cols, s, lds);
}

void ak_exp(long n, const float *x, float *y) { table()->exp(n, x, y); }

void ak_mask_causal(long rows, long cols, float *s, long lds, long qStart, long kStart,
                    long shift) {
    for (long r = 0; r < rows; r++) {
        long first = qStart + r + shift - kStart + 1;  // first hidden column of this row
        if (first < 0) first = 0;
        for (long c = first; c < cols; c++) s[r * lds + c] = -__builtin_inff();
    }
}

void ak_add_alibi(long rows, long cols, float *s, long lds, float slope, long qStart,
                  long kStart, long shift, int symmetric) {
    table()->add_alibi(rows, cols, s, lds, slope, qStart, kStart, shift, symmetric);
}

void ak_finalize_rows(long rows, long cols, const float *o, long ldoi, const float *rowSum,
                      float *out, long ldo) {
    table()->finalize_rows(rows, cols, o, ldoi, rowSum, out, ldo);
}

float ak_scan_rows(long rows, long cols, const float *x, long ldx, unsigned char *bad) {
    return table()->scan_rows(rows, cols, x, ldx, bad);
}

long ak_atomic_fetch_add(long *counter, long value) {
    return __atomic_fetch_add(counter, value, __ATOMIC_RELAXED);
}
