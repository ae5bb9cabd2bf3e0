// The C kernels on their own, against plain double-precision references, at edge sizes.
//
// Built by scripts/test-arm64.sh together with the unchanged sources of Sources/_AttentionKernels
// (the flags SwiftPM uses, apart from the target) and run under qemu-aarch64, so that the
// NEON build of the portable variant is executed, not just compiled. It runs every variant
// the CPU offers (`ak_kernels(0 ... ak_detected_isa())`), so on an x86-64 host
// (`scripts/test-arm64.sh --host`) it checks the SSE2, AVX2 and AVX-512 builds as well.
//
// scripts/test-amx.sh builds it natively too, for the AMX-BF16 table: on the real tiles where
// the CPU has AMX, else with -DAK_AMX_EMULATE against the tile model of Tests/amx.
//
// Each group prints one line with its worst error, as a fraction of its bound or in ulp;
// any failure prints the case and makes the exit status 1.
#include "AttentionKernels.h"
#include "AttentionKernelsHalf.h"
#include "../../Sources/_AttentionKernels/cpu_features.h"
#ifdef AK_AMX_EMULATE
#include "../../Sources/_AttentionKernels/amx_tiles.h"
#endif

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#pragma clang assume_nonnull begin

// ---------------------------------------------------------------------------------------
// Bookkeeping

static const ak_table *K;         // the variant under test
static const char *variantName;   // its name, for messages
static long failures, checks;
static double worst;              // worst error of the current group (ulp or fraction of bound)

static void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *format, ...) {
    failures++;
    if (failures > 40) return;  // the first few say enough
    va_list args;
    va_start(args, format);
    printf("FAIL [%s] ", variantName);
    vprintf(format, args);
    printf("\n");
    va_end(args);
}

#define CHECK(cond, ...)                  \
    do {                                  \
        checks++;                         \
        if (!(cond)) fail(__VA_ARGS__);   \
    } while (0)

static void note(double error) {
    if (error > worst || error != error) worst = error;
}

static void report(const char *group, const char *unit, long cases) {
    printf("  %-22s %5ld cases  worst %.3g %s\n", group, cases, worst, unit);
    worst = 0;
}

// SplitMix64: reproducible inputs.
static uint64_t rngState = 0x9E3779B97F4A7C15u;
static uint64_t next64(void) {
    uint64_t z = (rngState += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}
/// Uniform in [−1, 1).
static float uniform(void) { return (float)((double)(next64() >> 11) * 0x1p-52 - 1.0); }

static float *floats(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) { printf("out of memory\n"); exit(2); }
    return p;
}
static float *randoms(long n) {
    float *p = floats(n);
    for (long i = 0; i < n; i++) p[i] = uniform();
    return p;
}
static void fill(float *p, long n, float v) {
    for (long i = 0; i < n; i++) p[i] = v;
}

/// A value that no kernel writes: cells outside a result must still hold it afterwards.
static const float SENTINEL = 1234.5f;

/// Distance in ulp between two floats of the same sign (0 for equal values, both NaN, ±0).
static double ulps(float a, float b) {
    if (a != a || b != b) return (a != a && b != b) ? 0 : INFINITY;
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia, ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return (double)llabs(oa - ob);
}

// The bound on a float dot product of n terms (fused or not): n·u·Σ|aᵢbᵢ| with u = 2⁻²⁴,
// plus 2u for the final scaling and addition.
static double dotBound(long n, double absSum) { return (double)(n + 2) * 0x1p-24 * absSum + 1e-30; }

static float bitsf(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static uint32_t fbits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

// ---------------------------------------------------------------------------------------
// sgemm: C = alpha·op(A)·op(B) + beta·C, all four transpositions, strided operands.

static void test_sgemm(void) {
    static const long dims[][3] = {{1, 1, 1},   {3, 5, 7},     {13, 17, 9},
                                   {12, 8, 256}, {97, 33, 300}, {100, 130, 17}};
    static const float ab[][2] = {{1, 0}, {-0.5f, 1}, {2, 0.25f}};
    long cases = 0;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        long M = dims[d][0], N = dims[d][1], Kd = dims[d][2];
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (size_t s = 0; s < sizeof ab / sizeof ab[0]; s++) {
                    float alpha = ab[s][0], beta = ab[s][1];
                    long lda = (tA ? M : Kd) + 3, ldb = (tB ? Kd : N) + 2, ldc = N + 5;
                    float *A = randoms((tA ? Kd : M) * lda), *B = randoms((tB ? N : Kd) * ldb);
                    float *C = randoms(M * ldc), *C0 = floats(M * ldc);
                    for (long i = 0; i < M; i++) fill(C + i * ldc + N, ldc - N, SENTINEL);
                    memcpy(C0, C, (size_t)(M * ldc) * sizeof(float));
                    K->sgemm(tA, tB, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc);
                    cases++;
                    for (long i = 0; i < M; i++)
                        for (long j = 0; j < ldc; j++) {
                            if (j >= N) {
                                CHECK(C[i * ldc + j] == SENTINEL, "sgemm %ldx%ldx%ld: wrote C(%ld,%ld) past N",
                                      M, N, Kd, i, j);
                                continue;
                            }
                            double ref = 0, abs = 0;
                            for (long k = 0; k < Kd; k++) {
                                double a = tA ? A[k * lda + i] : A[i * lda + k];
                                double b = tB ? B[j * ldb + k] : B[k * ldb + j];
                                ref += a * b;
                                abs += fabs(a * b);
                            }
                            double c0 = C0[i * ldc + j];
                            ref = alpha * ref + beta * c0;
                            double bound = dotBound(Kd, fabs(alpha) * abs + fabs(beta * c0));
                            double err = fabs(C[i * ldc + j] - ref);
                            note(err / bound);
                            CHECK(err <= bound, "sgemm %ldx%ldx%ld tA=%d tB=%d alpha=%g beta=%g: C(%ld,%ld) = %.9g, "
                                  "want %.9g (bound %.3g)", M, N, Kd, tA, tB, alpha, beta, i, j,
                                  C[i * ldc + j], ref, bound);
                        }
                    free(A), free(B), free(C), free(C0);
                }
    }
    report("sgemm", "of bound", cases);
}

// ---------------------------------------------------------------------------------------
// tile_gemm, both shapes and all three modes. Padding past each operand holds NaN (so a read
// past an edge would show) and C's padding a sentinel (so a write past an edge would).

static void test_tile_gemm(void) {
    static const long rowsList[] = {12, 36}, colsList[] = {16, 48, 80}, depthList[] = {1, 7, 64, 130};
    long cases = 0;
    for (int shape = 0; shape < 2; shape++)
        for (int r = 0; r < 2; r++)
            for (int ci = 0; ci < 3; ci++)
                for (int di = 0; di < 4; di++)
                    for (int mode = 0; mode < 3; mode++) {
                        long rows = rowsList[r], cols = colsList[ci], depth = depthList[di];
                        long lda = depth + 3, ldb = cols + 4, ldc = cols + 6;
                        float *x = randoms(rows * lda);  // A(r, k) = x[r·lda + k]
                        for (long i = 0; i < rows; i++) fill(x + i * lda + depth, 3, NAN);
                        float *a = x;
                        if (shape == 0) {  // 12-row panels, k-major, built here independently
                            a = floats(rows * depth);
                            for (long i = 0; i < rows; i++)
                                for (long k = 0; k < depth; k++)
                                    a[(i / 12) * 12 * depth + 12 * k + i % 12] = x[i * lda + k];
                        }
                        float *b = randoms(depth * ldb);
                        for (long k = 0; k < depth; k++) fill(b + k * ldb + cols, 4, NAN);
                        float *c = randoms(rows * ldc), *c0 = floats(rows * ldc), *scale = randoms(rows);
                        scale[0] = 0;
                        for (long i = 0; i < rows; i++) {
                            if (mode == 0) fill(c + i * ldc, cols, NAN);  // not read when overwriting
                            fill(c + i * ldc + cols, ldc - cols, SENTINEL);
                        }
                        memcpy(c0, c, (size_t)(rows * ldc) * sizeof(float));
                        K->tile_gemm(shape, rows, cols, depth, a, lda, b, ldb, c, ldc, mode == 1,
                                     mode == 2 ? scale : NULL);
                        cases++;
                        for (long i = 0; i < rows; i++)
                            for (long j = 0; j < ldc; j++) {
                                float got = c[i * ldc + j];
                                if (j >= cols) {
                                    CHECK(got == SENTINEL, "tile_gemm shape %d: wrote C(%ld,%ld) past cols %ld",
                                          shape, i, j, cols);
                                    continue;
                                }
                                double ref = 0, abs = 0;
                                for (long k = 0; k < depth; k++) {
                                    double p = (double)x[i * lda + k] * b[k * ldb + j];
                                    ref += p;
                                    abs += fabs(p);
                                }
                                double prior = mode == 1 ? c0[i * ldc + j] : mode == 2 ? (double)scale[i] * c0[i * ldc + j] : 0;
                                ref += prior;
                                double bound = dotBound(depth, abs + fabs(prior));
                                double err = fabs(got - ref);
                                note(err / bound);
                                CHECK(err <= bound, "tile_gemm shape %d mode %d %ldx%ldx%ld: C(%ld,%ld) = %.9g, want %.9g",
                                      shape, mode, rows, cols, depth, i, j, got, ref);
                            }
                        if (a != x) free(a);
                        free(x), free(b), free(c), free(c0), free(scale);
                    }
    report("tile_gemm", "of bound", cases);
}

// ---------------------------------------------------------------------------------------
// pack_b (exact layout) and sgemm_packed (against double; C not read when overwriting).

static void test_packed_gemm(void) {
    static const long Ms[] = {1, 7, 13, 97}, Ns[] = {1, 31, 33, 70}, Ks[] = {1, 17, 260};
    long cases = 0;
    for (int tB = 0; tB < 2; tB++)
        for (int ni = 0; ni < 4; ni++)
            for (int ki = 0; ki < 3; ki++) {
                long N = Ns[ni], Kd = Ks[ki], ldb = (tB ? Kd : N) + 3;
                float *B = randoms((tB ? N : Kd) * ldb);
                long size = ak_packed_b_floats(Kd, N);
                float *packed = floats(size + 8);
                fill(packed + size, 8, SENTINEL);
                K->pack_b(tB, Kd, N, B, ldb, packed);
                for (long p = 0; p * AK_PANEL < N; p++)
                    for (long k = 0; k < Kd; k++)
                        for (long t = 0; t < AK_PANEL; t++) {
                            long j = p * AK_PANEL + t;
                            float want = j < N ? (tB ? B[j * ldb + k] : B[k * ldb + j]) : 0;
                            float got = packed[p * Kd * AK_PANEL + k * AK_PANEL + t];
                            CHECK(got == want, "pack_b tB=%d K=%ld N=%ld: (k %ld, col %ld) = %g, want %g", tB, Kd, N,
                                  k, j, got, want);
                        }
                for (long i = 0; i < 8; i++) CHECK(packed[size + i] == SENTINEL, "pack_b wrote past its size");
                for (int mi = 0; mi < 4; mi++)
                    for (int acc = 0; acc < 2; acc++) {
                        long M = Ms[mi], lda = Kd + 1, ldc = N + 3;
                        float *A = randoms(M * lda), *C = randoms(M * ldc), *C0 = floats(M * ldc);
                        for (long i = 0; i < M; i++) {
                            if (!acc) fill(C + i * ldc, N, NAN);
                            fill(C + i * ldc + N, ldc - N, SENTINEL);
                        }
                        memcpy(C0, C, (size_t)(M * ldc) * sizeof(float));
                        K->sgemm_packed(M, N, Kd, A, lda, packed, acc, C, ldc);
                        cases++;
                        for (long i = 0; i < M; i++)
                            for (long j = 0; j < ldc; j++) {
                                if (j >= N) {
                                    CHECK(C[i * ldc + j] == SENTINEL, "sgemm_packed wrote C(%ld,%ld) past N", i, j);
                                    continue;
                                }
                                double ref = acc ? C0[i * ldc + j] : 0, abs = fabs(ref);
                                for (long k = 0; k < Kd; k++) {
                                    double p = (double)A[i * lda + k] * (tB ? B[j * ldb + k] : B[k * ldb + j]);
                                    ref += p;
                                    abs += fabs(p);
                                }
                                double bound = dotBound(Kd, abs), err = fabs(C[i * ldc + j] - ref);
                                note(err / bound);
                                CHECK(err <= bound, "sgemm_packed %ldx%ldx%ld tB=%d acc=%d: C(%ld,%ld) = %.9g, want %.9g",
                                      M, N, Kd, tB, acc, i, j, C[i * ldc + j], ref);
                            }
                        free(A), free(C), free(C0);
                    }
                free(B), free(packed);
            }
    report("pack_b + sgemm_packed", "of bound", cases);
}

// ---------------------------------------------------------------------------------------
// exp over the whole normal range (≤ 2 ulp) and its special values; odd lengths exercise the
// vector tail.

static void test_exp(void) {
    long cap = 1 << 16, n = 0;
    float *xs = floats(cap);
    static const float hand[] = {0, -0.0f, 1, -1, 0.5f, -0.5f, 1e-8f, -1e-8f, 88.7f, -87.3f, 20, -20,
                                 0.693147f, -0.693147f, 88.72f, -87.33f, 1e-30f, -1e-30f};
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) xs[n++] = hand[i];
    // Every 97·1024th float bit pattern from −87.33 to −0, and a geometric sweep up to 88.72.
    uint32_t bits;
    float v = -87.33f;
    memcpy(&bits, &v, 4);
    while (bits > 0x80000000u + 97 * 1024 && n < cap / 2) {
        memcpy(&v, &bits, 4);
        xs[n++] = v;
        bits -= 97 * 1024;
    }
    for (v = 1e-30f; v < 88.72f && n < cap; v *= 1.003f) xs[n++] = v;
    if (n % 2 == 0) xs[n++] = 3.25f;  // an odd length: the vector tail
    float *ys = floats(n + 1);
    ys[n] = SENTINEL;
    K->exp(n, xs, ys);
    CHECK(ys[n] == SENTINEL, "exp wrote past n");
    for (long i = 0; i < n; i++) {
        float want = (float)exp((double)xs[i]);
        double e = ulps(ys[i], want);
        note(e);
        CHECK(e <= 2, "exp(%.9g) = %.9g, want %.9g (%g ulp)", xs[i], ys[i], want, e);
    }
    // Special values, each alone (n = 1, 3: tail only).
    static const float special[] = {-INFINITY, -1000, -88, 89, INFINITY, NAN, -87.0f, 0};
    float out[8];
    for (int i = 0; i < 8; i++) K->exp(1, &special[i], &out[i]);
    CHECK(out[0] == 0 && out[1] == 0, "exp(-inf) = %g, exp(-1000) = %g, want 0", out[0], out[1]);
    CHECK(out[2] >= 0 && out[2] < FLT_MIN, "exp(-88) = %g: below FLT_MIN flushes toward 0", out[2]);
    CHECK(out[3] == INFINITY && out[4] == INFINITY, "exp(89) = %g, exp(inf) = %g, want inf", out[3], out[4]);
    CHECK(out[5] != out[5], "exp(NaN) = %g, want NaN", out[5]);
    CHECK(ulps(out[6], (float)exp(-87.0)) <= 2, "exp(-87) = %g", out[6]);
    CHECK(out[7] == 1, "exp(0) = %.9g, want exactly 1", out[7]);
    float three[3];
    K->exp(3, special + 5, three);
    CHECK(three[0] != three[0] && ulps(three[1], (float)exp(-87.0)) <= 2 && three[2] == 1, "exp over a 3-tail");
    report("exp", "ulp", n + 9);
    free(xs), free(ys);
}

// ---------------------------------------------------------------------------------------
// The softmax's exponentials (2^x in base 2, e^x in natural units, x ≤ 0) seen through
// online_softmax on one row whose maximum is 0: p_j = 2^(s_j) exactly as the polynomial
// computes it.

static void test_exp2_nonpositive(void) {
    long cap = 1 << 15;
    float *row = floats(cap);
    for (int natural = 0; natural < 2; natural++) {
        long n = 0;
        row[n++] = 0;  // the row's max
        float lowest = natural ? -87.33f : -126.0f;
        static const float hand[] = {-0.0f, -1e-30f, -1e-8f, -0.5f, -0.25f, -1, -2, -1.5f, -126, -87.33f,
                                     -126.4f, -126.6f, -127, -200, -INFINITY, -3.3e38f};
        for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) row[n++] = hand[i];
        // Every 53·1024th bit pattern from `lowest` to −0.
        uint32_t bits;
        float v = lowest;
        memcpy(&bits, &v, 4);
        while (bits > 0x80000000u + 53 * 1024 && n < cap) {
            memcpy(&v, &bits, 4);
            row[n++] = v;
            bits -= 53 * 1024;
        }
        float *s = floats(n);
        memcpy(s, row, (size_t)n * sizeof(float));
        float m = -INFINITY, l = 0, alpha = -1;
        K->online_softmax(1, n, s, n, &m, &l, &alpha, NULL, natural);
        CHECK(m == 0 && alpha == 0, "online_softmax first visit: m = %g, alpha = %g (want 0, 0)", m, alpha);
        double sum = 0;
        for (long j = 0; j < n; j++) {
            double x = row[j], want = natural ? exp(x) : exp2(x);
            sum += want;
            if (want >= FLT_MIN) {
                double e = ulps(s[j], (float)want);
                note(e);
                CHECK(e <= 2, "%s(%.9g) = %.9g, want %.9g (%g ulp)", natural ? "exp" : "exp2", x, s[j], want, e);
            } else {
                CHECK(s[j] >= 0 && s[j] < FLT_MIN, "%s(%.9g) = %g: below FLT_MIN must flush toward 0",
                      natural ? "exp" : "exp2", x, s[j]);
            }
        }
        CHECK(fabs(l - sum) <= (double)n * 0x1p-23 * sum, "row sum %.9g, want %.9g", l, sum);
        report(natural ? "softmax exp (natural)" : "softmax exp2 (base 2)", "ulp", n);
        free(s);
    }
    free(row);
}

// ---------------------------------------------------------------------------------------
// online_softmax: two tiles per row block, with spans, fully hidden rows and −inf entries,
// against the formula in double (AttentionKernels.h).

typedef struct {
    double m, l;
} row_state;

/// One step of the reference for one row; writes the expected p into `want`, returns alpha.
static double softmax_step(const float *s, long cols, long lo, long hi, int natural, row_state *st, double *want) {
    double mx = -INFINITY;
    for (long j = lo; j < hi; j++) mx = s[j] > mx ? s[j] : mx;
    double mNew = mx > st->m ? mx : st->m;
    for (long j = 0; j < cols; j++) want[j] = 0;
    if (mNew == -INFINITY) return 1;  // nothing visible yet
    double sum = 0;
    for (long j = lo; j < hi; j++) {
        // The kernel subtracts in float: s − m' rounded, then exponentiates. The reference
        // does the same subtraction (one IEEE operation) and the rest in double.
        float d = s[j] - (float)mNew;
        want[j] = natural ? exp((double)d) : exp2((double)d);
        sum += want[j];
    }
    float dm = (float)st->m - (float)mNew;  // the same float subtraction as the kernel's
    double alpha = st->m == -INFINITY ? 0 : natural ? exp((double)dm) : exp2((double)dm);
    st->l = st->l * alpha + sum;
    st->m = mNew;
    return alpha;
}

static void test_online_softmax(void) {
    static const long rowsList[] = {1, 5, 70}, colsList[] = {1, 3, 17, 128};
    long cases = 0;
    double worstSum = 0;
    for (int natural = 0; natural < 2; natural++)
        for (int withSpans = 0; withSpans < 2; withSpans++)
            for (int ri = 0; ri < 3; ri++)
                for (int ci = 0; ci < 4; ci++) {
                    long rows = rowsList[ri], cols = colsList[ci], lds = cols + 3;
                    float *m = floats(rows), *l = floats(rows), *alpha = floats(rows);
                    row_state *st = calloc((size_t)rows, sizeof *st);
                    double *want = malloc((size_t)cols * sizeof(double));
                    long *spans = malloc((size_t)(2 * rows) * sizeof(long));
                    fill(m, rows, -INFINITY), fill(l, rows, 0);
                    for (long r = 0; r < rows; r++) st[r].m = -INFINITY, st[r].l = 0;
                    for (int step = 0; step < 2; step++) {
                        float *s = floats(rows * lds), *s0 = floats(rows * lds);
                        for (long i = 0; i < rows * lds; i++) s[i] = 6 * uniform() + (step ? 3 : 0);
                        for (long r = 0; r < rows; r++) {
                            if (r % 4 == 1) fill(s + r * lds, cols, -INFINITY);        // hidden row
                            if (r % 4 == 2) s[r * lds + r % cols] = -INFINITY;           // one hidden key
                            fill(s + r * lds + cols, 3, SENTINEL);
                            long a = (long)(next64() % (uint64_t)(cols + 1)), b = (long)(next64() % (uint64_t)(cols + 1));
                            spans[2 * r] = withSpans ? (a < b ? a : b) : 0;
                            spans[2 * r + 1] = withSpans ? (a < b ? b : a) : cols;
                        }
                        memcpy(s0, s, (size_t)(rows * lds) * sizeof(float));
                        K->online_softmax(rows, cols, s, lds, m, l, alpha, withSpans ? spans : NULL, natural);
                        cases++;
                        for (long r = 0; r < rows; r++) {
                            double a = softmax_step(s0 + r * lds, cols, spans[2 * r], spans[2 * r + 1], natural,
                                                    &st[r], want);
                            for (long j = 0; j < cols; j++) {
                                float got = s[r * lds + j];
                                double e = want[j] >= FLT_MIN ? ulps(got, (float)want[j])
                                                              : (got >= 0 && got < FLT_MIN ? 0 : INFINITY);
                                note(e);
                                CHECK(e <= 2, "online_softmax %ldx%ld natural=%d spans=%d step %d: p(%ld,%ld) = %.9g, want %.9g",
                                      rows, cols, natural, withSpans, step, r, j, got, want[j]);
                            }
                            for (long j = cols; j < lds; j++)
                                CHECK(s[r * lds + j] == SENTINEL, "online_softmax wrote past cols");
                            CHECK(m[r] == (float)st[r].m, "online_softmax row %ld: max %g, want %g", r, m[r], st[r].m);
                            CHECK(a == 0 || a == 1 ? alpha[r] == a : ulps(alpha[r], (float)a) <= 2,
                                  "online_softmax row %ld step %d: alpha %.9g, want %.9g", r, step, alpha[r], a);
                            double sumError = fabs(l[r] - st[r].l) / (st[r].l * (cols + 4) * 0x1p-24 + 1e-30);
                            if (sumError > worstSum) worstSum = sumError;
                            CHECK(sumError <= 1, "online_softmax row %ld step %d: sum %.9g, want %.9g", r, step, l[r],
                                  st[r].l);
                        }
                        free(s), free(s0);
                    }
                    free(m), free(l), free(alpha), free(st), free(want), free(spans);
                }
    report("online_softmax p", "ulp", cases);
    printf("  %-22s %5s        worst %.3g of bound\n", "online_softmax sums", "", worstSum);
}

// softmax_rows against double; a fully hidden row becomes zeros.
static void test_softmax_rows(void) {
    static const long rowsList[] = {1, 4, 9}, colsList[] = {1, 5, 33, 130};
    long cases = 0;
    for (int ri = 0; ri < 3; ri++)
        for (int ci = 0; ci < 4; ci++) {
            long rows = rowsList[ri], cols = colsList[ci], lds = cols + 2;
            float *s = floats(rows * lds), *s0 = floats(rows * lds);
            for (long i = 0; i < rows * lds; i++) s[i] = 8 * uniform();
            for (long r = 0; r < rows; r++) {
                if (r % 3 == 1) fill(s + r * lds, cols, -INFINITY);
                if (r % 3 == 2) s[r * lds + (r * 7) % cols] = -INFINITY;
                fill(s + r * lds + cols, 2, SENTINEL);
            }
            memcpy(s0, s, (size_t)(rows * lds) * sizeof(float));
            K->softmax_rows(rows, cols, s, lds);
            cases++;
            for (long r = 0; r < rows; r++) {
                const float *x = s0 + r * lds;
                double mx = -INFINITY, sum = 0;
                for (long j = 0; j < cols; j++) mx = x[j] > mx ? x[j] : mx;
                // x − max rounded to float, as the kernel computes it (one IEEE subtraction).
                for (long j = 0; j < cols; j++) sum += mx == -INFINITY ? 0 : exp((double)(x[j] - (float)mx));
                for (long j = 0; j < cols; j++) {
                    double want = mx == -INFINITY ? 0 : exp((double)(x[j] - (float)mx)) / sum;
                    // exp (2 ulp), the sum (cols terms), the reciprocal and the product.
                    double bound = (4 + cols) * 0x1p-24 * want;
                    double err = fabs(s[r * lds + j] - want);
                    note(bound > 0 ? err / bound : err);
                    CHECK(err <= bound, "softmax_rows %ldx%ld: (%ld,%ld) = %.9g, want %.9g", rows, cols, r, j,
                          s[r * lds + j], want);
                }
                for (long j = cols; j < lds; j++) CHECK(s[r * lds + j] == SENTINEL, "softmax_rows wrote past cols");
            }
            free(s), free(s0);
        }
    report("softmax_rows", "of bound", cases);
}

// ---------------------------------------------------------------------------------------
// Packing: exact copies (a product by `scale` is one IEEE multiplication either way).

static void test_packing(void) {
    long cases = 0;
    static const long rowsList[] = {1, 4, 5, 12, 13, 25}, colsList[] = {1, 3, 4, 7, 9, 64};
    const float scale = 0.37f;
    for (int ri = 0; ri < 6; ri++)
        for (int ci = 0; ci < 6; ci++)
            for (int extra = 0; extra < 2; extra++) {
                long rows = rowsList[ri], cols = colsList[ci], ldx = cols + 5;
                long padded = (rows + 11) / 12 * 12 + 12 * extra;
                float *x = randoms(rows * ldx), *out = floats(padded * cols + 4);
                fill(out, padded * cols, NAN);
                fill(out + padded * cols, 4, SENTINEL);
                K->pack_panels(rows, padded, cols, x, ldx, scale, out);
                cases++;
                for (long r = 0; r < padded; r++)
                    for (long k = 0; k < cols; k++) {
                        float want = r < rows ? x[r * ldx + k] * scale : 0;
                        float got = out[(r / 12) * 12 * cols + 12 * k + r % 12];
                        CHECK(got == want, "pack_panels %ldx%ld→%ld: (%ld,%ld) = %g, want %g", rows, cols, padded, r,
                              k, got, want);
                    }
                for (int i = 0; i < 4; i++) CHECK(out[padded * cols + i] == SENTINEL, "pack_panels wrote past its panels");
                free(x), free(out);
            }
    static const long keys[] = {1, 7, 8, 9, 17, 33}, dims[] = {1, 7, 8, 16, 19};
    for (int ki = 0; ki < 6; ki++)
        for (int di = 0; di < 5; di++)
            for (int pad = 0; pad < 2; pad++) {
                long cols = keys[ki], d = dims[di], ldk = d + 2, colsPadded = cols + 5 * pad, ldkt = colsPadded + 3;
                float *k = randoms(cols * ldk), *kt = floats(d * ldkt);
                fill(kt, d * ldkt, SENTINEL);
                K->pack_transposed(cols, d, k, ldk, kt, ldkt, colsPadded);
                cases++;
                for (long i = 0; i < d; i++)
                    for (long c = 0; c < ldkt; c++) {
                        float want = c < cols ? k[c * ldk + i] : c < colsPadded ? 0 : SENTINEL;
                        CHECK(kt[i * ldkt + c] == want, "pack_transposed %ldx%ld (padded %ld): kt(%ld,%ld) = %g, want %g",
                              cols, d, colsPadded, i, c, kt[i * ldkt + c], want);
                    }
                free(k), free(kt);
            }
    for (long rows = 1; rows <= 3; rows += 2)
        for (long cols = 1; cols <= 17; cols += 8) {
            long ldx = cols + 1, colsPadded = cols + 3, ldy = colsPadded + 2;
            float *x = randoms(rows * ldx), *y = floats(rows * ldy);
            fill(y, rows * ldy, SENTINEL);
            K->pack_scaled(rows, cols, x, ldx, -1.5f, y, ldy, colsPadded);
            cases++;
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < ldy; c++) {
                    float want = c < cols ? x[r * ldx + c] * -1.5f : c < colsPadded ? 0 : SENTINEL;
                    CHECK(y[r * ldy + c] == want, "pack_scaled %ldx%ld: (%ld,%ld) = %g, want %g", rows, cols, r, c,
                          y[r * ldy + c], want);
                }
            free(x), free(y);
        }
    report("pack/transposes", "(exact)", cases);
}

// ---------------------------------------------------------------------------------------
// decode_partial: one key/value group's online-softmax partial over runs of a cache, with
// values as rows or as panels (ak_kv_run.vpanel), f32 and bf16 elements, runs split at
// any position (mid-panel), rows seeing sub-ranges, some none.

// Element (t, c) of values stored in panels of P rows and AK_DECODE_VBLOCK-column blocks.
static long panel_offset(long t, long c, long P, long dv) {
    return t / P * P * dv + c / AK_DECODE_VBLOCK * AK_DECODE_VBLOCK * P + t % P * AK_DECODE_VBLOCK +
           c % AK_DECODE_VBLOCK;
}

// The visible positions [lo[r], hi[r]) of each of `rows` query rows over n positions:
// row 0 a random suffix, row 1 nothing, row 2 all, the others random sub-ranges (some empty).
static void decode_spans(long rows, long n, long *lo, long *hi) {
    for (long r = 0; r < rows; r++) {
        lo[r] = r == 1 ? n : (long)(next64() % (uint64_t)n);
        hi[r] = r == 0 ? n : lo[r] + (long)(next64() % (uint64_t)(n - lo[r] + 1));
        if (r == 2) lo[r] = 0, hi[r] = n;
    }
}

static uint32_t ref_to_f32(int format, uint16_t h);
static uint16_t ref_from_f32(int format, float x);

// f32, bf16 and f16 caches. The values are exact in every element type; the f16 case puts
// them where the widening kernels' conversion must handle subnormals: keys scaled by 2^-10
// (those below 2^-14 in magnitude are subnormal), values by 2^-14 (all subnormal or zero).
static void test_decode_partial(void) {
    long cases = 0;
    static const char *typeName[] = {"f32", "bf16", "f16"};
    static const long shapes[][4] = {  // rows, d, dv, panel (0: rows)
        {4, 64, 128, 32}, {1, 17, 64, 16}, {5, 64, 128, 25}, {3, 17, 37, 0}, {4, 128, 64, 0}, {2, 8, 192, 20}};
    for (int si = 0; si < 6; si++)
        for (int type = AK_KV_F32; type <= AK_KV_F16; type++)
            for (long n = 1; n <= 100; n += 33) {
                const long rows = shapes[si][0], d = shapes[si][1], dv = shapes[si][2], P = shapes[si][3];
                const long ldk = d + 3, ldv = dv + 5, width = type == AK_KV_F32 ? 4 : 2;
                const int half = type == AK_KV_BF16 ? AK_HALF_BF16 : AK_HALF_F16;
                const float vmax = type == AK_KV_F16 ? 0x1p-14f : 1;  // |values| < vmax
                float *kf = randoms(n * ldk), *vf = randoms(n * dv), *q = randoms(rows * d);
                // Round to the element type (exact afterwards), as stored.
                for (long i = 0; i < n * ldk; i++)
                    if (type != AK_KV_F32)
                        kf[i] = bitsf(ref_to_f32(half, ref_from_f32(half, kf[i] * (type == AK_KV_F16 ? 0x1p-10f : 1))));
                for (long i = 0; i < n * dv; i++)
                    if (type != AK_KV_F32) vf[i] = bitsf(ref_to_f32(half, ref_from_f32(half, vf[i] * vmax)));
                for (long i = 0; i < rows * d; i++) q[i] *= type == AK_KV_F16 ? 300.0f : 0.3f;
                char *kb = malloc((size_t)(n * ldk * width)), *vb = malloc((size_t)((n + 32) * ldv * width));
                for (long t = 0; t < n; t++) {
                    for (long i = 0; i < d; i++) {
                        float x = kf[t * ldk + i];
                        if (type != AK_KV_F32) ((uint16_t *)kb)[t * ldk + i] = ref_from_f32(half, x);
                        else ((float *)kb)[t * ldk + i] = x;
                    }
                    for (long c = 0; c < dv; c++) {
                        long o = P ? panel_offset(t, c, P, dv) : t * ldv + c;
                        float x = vf[t * dv + c];
                        if (type != AK_KV_F32) ((uint16_t *)vb)[o] = ref_from_f32(half, x);
                        else ((float *)vb)[o] = x;
                    }
                }
                // Two runs split at a (mid-panel for most a), the second continuing the first.
                long a = n / 3 + 1 > n ? n : n / 3 + 1;
                ak_kv_run runs[2];
                long nruns = 0;
                for (long part = 0; part < 2; part++) {
                    long first = part ? a : 0, count = part ? n - a : a;
                    if (count == 0) continue;
                    long vstart = P ? first / P * P * dv : first * ldv;
                    runs[nruns++] = (ak_kv_run){kb + first * ldk * width, vb + vstart * width, ldk, P ? 0 : ldv,
                                                first, count, P, P ? first % P : 0};
                }
                long lo[8], hi[8];
                decode_spans(rows, n, lo, hi);
                float m[8], l[8], *acc = floats(rows * dv), *scratch = floats(rows * (AK_DECODE_TILE + 1));
                fill(m, rows, -INFINITY), fill(l, rows, 0), fill(acc, rows * dv, 0);
                ak_decode_rows args = {rows, d, dv, q, lo, hi, NULL, NULL, 0, type, m, l, acc, scratch, NULL, 0};
                K->decode_partial(&args, nruns, runs);
                cases++;
                for (long r = 0; r < rows; r++) {
                    // Double reference in base 2 (the kernel's units): s = q·k.
                    double mx = -INFINITY, sum = 0, absDot = 0;
                    for (long t = lo[r]; t < hi[r]; t++) {
                        double x = 0;
                        for (long i = 0; i < d; i++) x += (double)q[r * d + i] * kf[t * ldk + i];
                        if (x > mx) mx = x;
                    }
                    if (lo[r] >= hi[r]) {
                        CHECK(l[r] == 0 && m[r] == -INFINITY, "decode rows %ld n %ld row %ld sees nothing: m %g l %g", rows, n, r, m[r], l[r]);
                        for (long c = 0; c < dv; c++) CHECK(acc[r * dv + c] == 0, "decode: unseen row's acc %g", acc[r * dv + c]);
                        continue;
                    }
                    for (long t = lo[r]; t < hi[r]; t++) {
                        double x = 0, ax = 0;
                        for (long i = 0; i < d; i++) {
                            x += (double)q[r * d + i] * kf[t * ldk + i];
                            ax += fabs((double)q[r * d + i] * kf[t * ldk + i]);
                        }
                        sum += exp2(x - mx);
                        if (ax > absDot) absDot = ax;
                    }
                    double lse = mx + log2(sum), got = m[r] + log2(l[r]);
                    double bound = dotBound(d, absDot) * 2 + 1e-6;  // scores, then exp2 and the sum
                    note(fabs(got - lse) / bound);
                    CHECK(fabs(got - lse) <= bound, "decode %s rows %ld d %ld panel %ld n %ld row %ld: lse %.9g, want %.9g",
                          typeName[type], rows, d, P, n, r, got, lse);
                    for (long c = 0; c < dv; c++) {
                        double want = 0;
                        for (long t = lo[r]; t < hi[r]; t++) {
                            double x = 0;
                            for (long i = 0; i < d; i++) x += (double)q[r * d + i] * kf[t * ldk + i];
                            want += exp2(x - mx) / sum * vf[t * dv + c];
                        }
                        double out = acc[r * dv + c] / l[r];
                        // Averages of values in (−vmax, vmax): float sums over ≤ 100 terms.
                        CHECK(fabs(out - want) <= 1e-5 * vmax, "decode %s rows %ld d %ld dv %ld panel %ld n %ld row %ld col %ld: %.9g, want %.9g",
                              typeName[type], rows, d, dv, P, n, r, c, out, want);
                    }
                }
                free(kf), free(vf), free(q), free(kb), free(vb), free(acc), free(scratch);
            }
    report("decode_partial", "of bound", cases);
}

// ---------------------------------------------------------------------------------------
// Masks and biases, the last step and the non-finite screen.

static void test_masks(void) {
    long cases = 0;
    static const long starts[][3] = {{0, 0, 0}, {5, 0, 0}, {0, 7, 0}, {3, 11, 4}, {20, 0, -9}};
    for (int si = 0; si < 5; si++)
        for (long rows = 1; rows <= 13; rows += 6)
            for (long cols = 1; cols <= 33; cols += 16) {
                long q0 = starts[si][0], k0 = starts[si][1], shift = starts[si][2], lds = cols + 2;
                float *s = randoms(rows * lds), *s0 = floats(rows * lds);
                memcpy(s0, s, (size_t)(rows * lds) * sizeof(float));
                ak_mask_causal(rows, cols, s, lds, q0, k0, shift);
                cases++;
                for (long r = 0; r < rows; r++)
                    for (long c = 0; c < lds; c++) {
                        int hidden = c < cols && k0 + c > q0 + r + shift;
                        float want = hidden ? -INFINITY : s0[r * lds + c];
                        CHECK(s[r * lds + c] == want, "mask_causal q0=%ld k0=%ld shift=%ld: (%ld,%ld) = %g, want %g", q0,
                              k0, shift, r, c, s[r * lds + c], want);
                    }
                for (int symmetric = 0; symmetric < 2; symmetric++) {
                    memcpy(s, s0, (size_t)(rows * lds) * sizeof(float));
                    const float slope = 0.0625f * (1 + si);
                    K->add_alibi(rows, cols, s, lds, slope, q0, k0, shift, symmetric);
                    cases++;
                    for (long r = 0; r < rows; r++)
                        for (long c = 0; c < lds; c++) {
                            double dist = (double)(q0 + r + shift) - (double)(k0 + c);
                            if (symmetric) dist = fabs(dist);
                            double want = c < cols ? s0[r * lds + c] - slope * dist : s0[r * lds + c];
                            double bound = 0x1p-23 * (fabs(s0[r * lds + c]) + fabs(slope * dist));
                            double err = fabs(s[r * lds + c] - want);
                            note(bound > 0 ? err / bound : err);
                            CHECK(err <= bound, "add_alibi symmetric=%d: (%ld,%ld) = %.9g, want %.9g", symmetric, r, c,
                                  s[r * lds + c], want);
                        }
                }
                free(s), free(s0);
            }
    report("mask_causal + add_alibi", "of bound", cases);

    // finalize_rows: o/l, 0 where l = 0, NaN where l is NaN.
    for (long rows = 1; rows <= 6; rows += 5)
        for (long cols = 1; cols <= 21; cols += 10) {
            long ldoi = cols + 3, ldo = cols + 1;
            float *o = randoms(rows * ldoi), *l = randoms(rows), *out = floats(rows * ldo);
            for (long r = 0; r < rows; r++) l[r] = fabsf(l[r]) + 0.01f;
            l[0] = 0;
            if (rows > 1) l[1] = NAN;
            fill(out, rows * ldo, SENTINEL);
            K->finalize_rows(rows, cols, o, ldoi, l, out, ldo);
            cases++;
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < ldo; c++) {
                    float got = out[r * ldo + c];
                    if (c >= cols) { CHECK(got == SENTINEL, "finalize_rows wrote past cols"); continue; }
                    if (l[r] == 0) { CHECK(got == 0, "finalize_rows: l = 0 gives %g, want 0", got); continue; }
                    if (l[r] != l[r]) { CHECK(got != got, "finalize_rows: l = NaN gives %g, want NaN", got); continue; }
                    double want = (double)o[r * ldoi + c] / l[r], e = ulps(got, (float)want);
                    note(e);
                    CHECK(e <= 2, "finalize_rows (%ld,%ld) = %.9g, want %.9g", r, c, got, want);
                }
            free(o), free(l), free(out);
        }
    report("finalize_rows", "ulp", 4);

    // scan_rows: rows with NaN or ±inf flagged (others untouched), the largest |x| of the rest.
    static const float bad[] = {NAN, INFINITY, -INFINITY};
    for (long rows = 1; rows <= 9; rows += 4)
        for (long cols = 1; cols <= 37; cols += 9) {
            long ldx = cols + 2;
            float *x = randoms(rows * ldx);
            for (long i = 0; i < rows * ldx; i++) x[i] *= 100;
            unsigned char *flags = malloc((size_t)rows);
            for (long r = 0; r < rows; r++) {
                flags[r] = (unsigned char)(r % 2 ? 7 : 0);
                fill(x + r * ldx + cols, 2, NAN);  // past the row: never read
                if (r % 3 == 2) x[r * ldx + (r * 5) % cols] = bad[r % 3 == 2 ? (r / 3) % 3 : 0];
            }
            x[(rows - 1) * ldx] = rows == 1 ? 250 : x[(rows - 1) * ldx];
            float got = K->scan_rows(rows, cols, x, ldx, flags);
            cases++;
            float largest = 0;
            for (long r = 0; r < rows; r++) {
                int nonFinite = 0;
                float mx = 0;
                for (long c = 0; c < cols; c++) {
                    float a = fabsf(x[r * ldx + c]);
                    if (!(a <= FLT_MAX)) nonFinite = 1;
                    else if (a > mx) mx = a;
                }
                unsigned char want = nonFinite ? 1 : (unsigned char)(r % 2 ? 7 : 0);
                CHECK(flags[r] == want, "scan_rows %ldx%ld: flag of row %ld = %d, want %d", rows, cols, r, flags[r], want);
                if (!nonFinite && mx > largest) largest = mx;
            }
            CHECK(got == largest, "scan_rows %ldx%ld: largest %g, want %g", rows, cols, got, largest);
            free(x), free(flags);
        }
    report("scan_rows", "(exact)", cases);
}

// ---------------------------------------------------------------------------------------

// ak_arm64_features against what the emulated CPU is known to have (EXPECT_ARM64_FEATURES,
// set by scripts/test-arm64.sh per qemu -cpu model: 0xf for `max`, 0 for `cortex-a53`).
static void test_cpu_features(void) {
    unsigned found = ak_arm64_features();
    const char *expected = getenv("EXPECT_ARM64_FEATURES");
    printf("arm64 features 0x%x (fp16 %d, bf16 %d, i8mm %d, sme %d)\n", found, !!(found & AK_ARM64_FP16),
           !!(found & AK_ARM64_BF16), !!(found & AK_ARM64_I8MM), !!(found & AK_ARM64_SME));
    if (expected && *expected) {
        unsigned want = (unsigned)strtoul(expected, NULL, 0);
        CHECK(found == want, "ak_arm64_features() = 0x%x, want 0x%x", found, want);
    }
}

// ---------------------------------------------------------------------------------------
// The reduced-precision table (AttentionKernelsHalf.h): conversions bit-exact against the
// references below, for every table this CPU has; the bf16 tile products (where a variant
// has them: AVX512-BF16, arm64 BF16, AMX-BF16) exactly (packing) or within the fp32-accumulation
// bound against double sums of the same bf16 inputs; the f16 tile products of AMX-FP16 the
// same way with f16 pairs (pairFormat). On arm64 the BF16 variant must be chosen
// exactly when ak_arm64_features() reports FEAT_BF16.

static const ak_half_table *H;
static int pairFormat = AK_HALF_BF16;  // the pairs under test: bf16, or f16 (AMX-FP16's entries)

/// The table's pair entries for pairFormat.
static void pairs_from_f32(long rows, long cols, const float *s, long lds, uint32_t *out, long ldo) {
    (pairFormat == AK_HALF_F16 ? H->pairs_from_f32_f16 : H->pairs_from_f32)(rows, cols, s, lds, out, ldo);
}
static void dot_gemm(long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                     long ldc, float scale, const float *_Nullable rowScale) {
    (pairFormat == AK_HALF_F16 ? H->dot_gemm_f16 : H->dot_gemm)(rows, cols, depth, a, lda, b, ldb, c, ldc, scale, rowScale);
}


/// The value of a 2-byte pattern, from its fields (double holds every one exactly).
static double ref_half_value(int format, uint16_t h) {
    if (format == AK_HALF_BF16) return (double)bitsf((uint32_t)h << 16);
    int sign = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

/// binary32 bits of a 2-byte pattern: its value, NaN payloads shifted into place.
static uint32_t ref_to_f32(int format, uint16_t h) {
    if (format == AK_HALF_BF16) return (uint32_t)h << 16;
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF))
        return (uint32_t)(h & 0x8000) << 16 | 0x7F800000 | (uint32_t)(h & 0x3FF) << 13;
    return fbits((float)ref_half_value(format, h));
}

/// x rounded to the format, to nearest, ties to the even pattern, overflow to infinity;
/// NaN: the quiet NaN with the leading payload bits. By comparing the two neighbours.
static uint16_t ref_from_f32(int format, float x) {
    uint32_t b = fbits(x);
    uint16_t sign = (uint16_t)(b >> 16 & 0x8000);
    if (x != x) return format == AK_HALF_BF16 ? (uint16_t)((b >> 16) | 0x40) : sign | 0x7E00 | (uint16_t)((b & 0x7FFFFF) >> 13);
    double a = fabs((double)x);
    uint16_t infinity = format == AK_HALF_BF16 ? 0x7F80 : 0x7C00;
    if (a == INFINITY) return sign | infinity;
    // the largest pattern not above a (positive patterns are ordered by value)
    uint16_t lo = 0, hi = infinity;  // value(lo) <= a < value(hi), with value(infinity) = 2^emax+1
    while (hi - lo > 1) {
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (ref_half_value(format, mid) <= a) lo = mid; else hi = mid;
    }
    double below = ref_half_value(format, lo);
    if (below == a) return sign | lo;
    double above = hi == infinity ? (format == AK_HALF_BF16 ? 0x1p128 : 65536.0) : ref_half_value(format, hi);
    uint16_t r = a - below < above - a ? lo : a - below > above - a ? hi : (lo & 1 ? hi : lo);
    return sign | r;
}

static void test_half_conversions(void) {
    long cases = 0;
    for (int format = 0; format <= 1; format++) {
        // widening: every pattern
        uint16_t *h = malloc(65536 * 2);
        float *y = floats(65536 + 1);
        for (long i = 0; i < 65536; i++) h[i] = (uint16_t)i;
        for (long n = 65536; n >= 65536 - 9; n -= 3) {  // full vectors and tails
            y[n] = SENTINEL;
            H->to_f32(format, n, h, y);
            for (long i = 0; i < n; i++) {
                cases++;
                // F16C (vcvtph2ps) quiets a signaling NaN: payload kept, quiet bit set.
                uint32_t want = ref_to_f32(format, h[i]), quieted = want | 0x00400000;
                int signaling = (want & 0x7FC00000) == 0x7F800000 && (want & 0x3FFFFF);
                CHECK(fbits(y[i]) == want || (signaling && fbits(y[i]) == quieted), "to_f32 fmt %d: 0x%04x -> 0x%08x, want 0x%08x", format, h[i], fbits(y[i]), ref_to_f32(format, h[i]));
            }
            CHECK(y[n] == SENTINEL, "to_f32 wrote past n = %ld", n);
        }
        // narrowing: edge values, ties and their neighbours, random patterns
        enum { N = 40000 };
        float *x = floats(N);
        uint16_t *got = malloc((N + 1) * 2);
        const uint32_t edges[] = {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001,
                                  0x7FA00000, 0xFF812345, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000,
                                  0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x477FE000, 0x477FEFFF,
                                  0x477FF000, 0x477FF001, 0x47800000, 0x33800000, 0x33800001, 0x337FFFFF,
                                  0x33000000, 0x33000001, 0x38800000, 0x387FE000, 0x387FF000, 0x3F808000,
                                  0x3F818000, 0x3F801000, 0x3F803000, 0x3F800FFF, 0x3F801001};
        long ne = (long)(sizeof edges / sizeof edges[0]);
        for (long i = 0; i < N; i++) {
            uint32_t b;
            if (i < ne) b = edges[i];
            else if (i % 3 == 0) b = (uint32_t)next64();
            else {  // an exact tie of the format, or one ulp either side
                uint32_t tie = format == AK_HALF_BF16 ? 0x8000 : 0x1000, mask = format == AK_HALF_BF16 ? 0xFFFF0000 : 0xFFFFE000;
                b = ((uint32_t)next64() & mask) | tie;
                if (format == AK_HALF_F16) b = (b & 0x807FFFFF) | (uint32_t)(100 + next64() % 45) << 23;  // f16 range
                b += (uint32_t)((i / 3) % 3) - 1u;
            }
            x[i] = bitsf(b);
        }
        for (long n = N; n >= N - 9; n -= 3) {
            got[n] = 0xABCD;
            H->from_f32(format, n, x, got);
            for (long i = 0; i < n; i++) {
                cases++;
                uint16_t want = ref_from_f32(format, x[i]);
                CHECK(got[i] == want, "from_f32 fmt %d: 0x%08x -> 0x%04x, want 0x%04x", format, fbits(x[i]),
                      got[i], want);
            }
            CHECK(got[n] == 0xABCD, "from_f32 wrote past n = %ld", n);
        }
        free(h), free(y), free(x), free(got);
    }
    report("half conversions", "(bit-exact)", cases);
}

// scan_rows on 2-byte rows of both formats: lengths around the 16- and 32-element steps, a
// non-finite value (±inf, NaN) in some rows and the largest finite |x| in another, each
// placed at every column in turn (vector body and scalar tail); row padding holds
// infinities that must not be read.
static void test_half_scan(void) {
    long cases = 0;
    const long colsList[] = {1, 7, 15, 16, 17, 31, 32, 33, 64, 100};
    for (int format = 0; format <= 1; format++) {
        const uint16_t infinity = format == AK_HALF_BF16 ? 0x7F80 : 0x7C00;
        for (int ci = 0; ci < 10; ci++)
            for (long shift = 0; shift < colsList[ci]; shift++) {
                long rows = 9, cols = colsList[ci], ldx = cols + 3;
                uint16_t *x = malloc((size_t)(rows * ldx) * 2);
                unsigned char flags[9];
                for (long i = 0; i < rows * ldx; i++)
                    x[i] = i % ldx < cols ? ref_from_f32(format, uniform()) : (uint16_t)(infinity | (i & 1) << 15);
                for (long r = 0; r < rows; r++) {
                    long c = (r * 7 + shift) % cols;
                    if (r % 3 == 1) x[r * ldx + c] = r % 2 ? infinity | 0x8000 : (uint16_t)(infinity | 1);  // -inf, NaN
                    if (r == 4) x[r * ldx + c] = ref_from_f32(format, -3.5f);  // the largest finite |x|
                }
                memset(flags, 7, sizeof flags);
                float got = H->scan_rows(format, rows, cols, x, ldx, flags);
                double largest = 0;
                for (long r = 0; r < rows; r++) {
                    int bad = 0;
                    double m = 0;
                    for (long c = 0; c < cols; c++) {
                        double v = ref_half_value(format, x[r * ldx + c]);
                        if (!isfinite(v)) bad = 1;
                        else if (fabs(v) > m) m = fabs(v);
                    }
                    CHECK(flags[r] == (bad ? 1 : 7), "scan_rows (%s) %ld cols: flag of row %ld = %d, non-finite %d",
                          format ? "f16" : "bf16", cols, r, flags[r], bad);
                    if (!bad && m > largest) largest = m;
                }
                CHECK(got == (float)largest, "scan_rows (%s) %ld cols: largest %g, want %g", format ? "f16" : "bf16", cols,
                      got, largest);
                cases++;
                free(x);
            }
    }
    report("half scan_rows", "(exact)", cases);
}

static uint16_t *random_bf16(long n) {
    uint16_t *p = malloc((size_t)(n > 0 ? n : 1) * 2);
    for (long i = 0; i < n; i++) p[i] = ref_from_f32(AK_HALF_BF16, uniform());
    return p;
}
static double lo_value(uint32_t w) { return ref_half_value(pairFormat, (uint16_t)w); }
static double hi_value(uint32_t w) { return ref_half_value(pairFormat, (uint16_t)(w >> 16)); }
static uint32_t *words(long n) {
    uint32_t *p = malloc((size_t)(n > 0 ? n : 1) * 4);
    for (long i = 0; i < n; i++) p[i] = 0xDEADBEEF;
    return p;
}

static void test_half_packing(void) {
    long cases = 0;
    const long dims[] = {1, 2, 7, 16, 33, 64};
    for (int di = 0; di < 6; di++)
        for (long rows = 1; rows <= 40; rows += 13) {
            long d = dims[di], pairs = (d + 1) / 2, ld = d + 3, ldo = pairs + 2, padded = rows + 5;
            uint16_t *x = random_bf16(padded * ld);
            uint32_t *out = words(padded * ldo);
            H->pack_rows(rows, padded, d, x, ld, out, ldo);
            for (long r = 0; r < padded; r++)
                for (long p = 0; p < pairs; p++) {
                    uint16_t lo = r < rows ? x[r * ld + 2 * p] : 0, hi = r < rows && 2 * p + 1 < d ? x[r * ld + 2 * p + 1] : 0;
                    CHECK(out[r * ldo + p] == ((uint32_t)hi << 16 | lo), "pack_rows %ldx%ld: (%ld, %ld)", rows, d, r, p);
                }
            cases++;
            // Kᵀ: x as keys [rows × d]
            long colsPadded = rows + 9, ldt = colsPadded + 1;
            uint32_t *t = words(pairs * ldt);
            H->pack_transposed(rows, d, x, ld, t, ldt, colsPadded);
            for (long p = 0; p < pairs; p++)
                for (long c = 0; c < colsPadded; c++) {
                    uint16_t lo = c < rows ? x[c * ld + 2 * p] : 0, hi = c < rows && 2 * p + 1 < d ? x[c * ld + 2 * p + 1] : 0;
                    CHECK(t[p * ldt + c] == ((uint32_t)hi << 16 | lo), "pack_transposed %ldx%ld: (%ld, %ld)", rows, d, p, c);
                }
            cases++;
            // V: x as values [rows × d], pairs of rows
            long dPadded = d + 11, ldv = dPadded + 2, rp = (rows + 1) / 2;
            uint32_t *v = words(rp * ldv);
            H->pack_interleaved(rows, d, x, ld, v, ldv, dPadded);
            for (long p = 0; p < rp; p++)
                for (long n = 0; n < dPadded; n++) {
                    uint16_t lo = n < d ? x[2 * p * ld + n] : 0, hi = n < d && 2 * p + 1 < rows ? x[(2 * p + 1) * ld + n] : 0;
                    CHECK(v[p * ldv + n] == ((uint32_t)hi << 16 | lo), "pack_interleaved %ldx%ld: (%ld, %ld)", rows, d, p, n);
                }
            cases++;
            free(x), free(out), free(t), free(v);
        }
    report("bf16 packing", "(exact)", cases);
}

// fp32 → pairs of pairFormat, bit-exact against ref_from_f32: ties (bf16: half an ulp
// exactly; f16: values whose 13 dropped bits are 0x1000), and for f16 values that overflow
// (65520 is the tie between 65504 and infinity) or become subnormal.
static void test_half_pairs_from_f32(void) {
    long cases = 0;
    const long dims[] = {1, 2, 7, 16, 33, 64};
    for (int di = 0; di < 6; di++)
        for (long rows = 1; rows <= 40; rows += 13) {
            long d = dims[di], pairs = (d + 1) / 2, ld = d + 3, ldo = pairs + 2;
            float *s = randoms(rows * ld);
            const uint32_t tie = pairFormat == AK_HALF_BF16 ? 0x8000 : 0x1000;
            for (long i = 0; i < rows * ld; i += 17) s[i] = bitsf((fbits(s[i]) & ~(2 * tie - 1)) | tie);
            if (pairFormat == AK_HALF_F16) {
                const float special[] = {65504, 65519.99f, 65520, -70000, 3e-6f, -2.9802322e-8f, 2.9802326e-8f, 1e-9f};
                for (long i = 0, j = 5; i < 8 && j < rows * ld; i++, j += 7) s[j] = special[i];
            }
            uint32_t *sp = words(rows * ldo);
            pairs_from_f32(rows, d, s, ld, sp, ldo);
            for (long r = 0; r < rows; r++)
                for (long p = 0; p < pairs; p++) {
                    uint16_t lo = ref_from_f32(pairFormat, s[r * ld + 2 * p]);
                    uint16_t hi = 2 * p + 1 < d ? ref_from_f32(pairFormat, s[r * ld + 2 * p + 1]) : 0;
                    CHECK(sp[r * ldo + p] == ((uint32_t)hi << 16 | lo), "pairs_from_f32 (%s) %ldx%ld: (%ld, %ld) = 0x%08x",
                          pairFormat == AK_HALF_F16 ? "f16" : "bf16", rows, d, r, p, sp[r * ldo + p]);
                }
            cases++;
            free(s), free(sp);
        }
    report(pairFormat == AK_HALF_F16 ? "f16 pairs_from_f32" : "bf16 pairs_from_f32", "(exact)", cases);
}

// Buffers whose last byte is followed by an inaccessible page, so that a kernel reading or
// writing one element past the end of an operand (its last row) faults instead of passing.
static struct { void *map; size_t length; } guards[8];
static int guardCount;

static void *guarded(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), body = (bytes + page - 1) / page * page;
    char *map = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + body, page, PROT_NONE) != 0 || guardCount == 8) {
        printf("guarded allocation failed\n");
        exit(2);
    }
    guards[guardCount].map = map, guards[guardCount++].length = body + page;
    return map + body - bytes;
}
static void free_guarded(void) {
    while (guardCount) munmap(guards[guardCount - 1].map, guards[guardCount - 1].length), guardCount--;
}

/// A pair of random values of pairFormat; nan_pair() fills the padding between rows.
static uint32_t random_pair(void) {
    return (uint32_t)ref_from_f32(pairFormat, uniform()) | (uint32_t)ref_from_f32(pairFormat, uniform()) << 16;
}
static uint32_t nan_pair(void) { return pairFormat == AK_HALF_F16 ? 0x7E007E00 : 0x7FC07FC0; }

// dot_gemm at every row count of the contract up to 96 (tails of 4…28 rows after 32-row
// blocks), 16-column tails, depths around the 16-pair steps of AMX; operands end at a guard
// page and their row padding holds NaN (a read past `depth` or `cols` would show), C's
// padding a sentinel. Against double sums of the same values (pairs of pairFormat).
static void test_half_dot_gemm(void) {
    long cases = 0;
    const long rowsList[] = {12, 24, 36, 48, 60, 72, 84, 96}, colsList[] = {16, 32, 48, 80};
    const long depths[] = {1, 5, 15, 16, 17, 33, 40};
    for (int ri = 0; ri < 8; ri++)
        for (int ci = 0; ci < 4; ci++)
            for (int di = 0; di < 7; di++)
                for (int mode = 0; mode < 2; mode++) {
                    long rows = rowsList[ri], cols = colsList[ci], depth = depths[di];
                    long lda = depth + 3, ldb = cols + 5, ldc = cols + 3;
                    long na = (rows - 1) * lda + depth, nb = (depth - 1) * ldb + cols, nc = (rows - 1) * ldc + cols;
                    uint32_t *a = guarded((size_t)na * 4), *b = guarded((size_t)nb * 4);
                    float *c = guarded((size_t)nc * 4), *c0 = floats(nc), *rs = randoms(rows);
                    for (long i = 0; i < na; i++) a[i] = i % lda < depth ? random_pair() : nan_pair();
                    for (long i = 0; i < nb; i++) b[i] = i % ldb < cols ? random_pair() : nan_pair();
                    for (long i = 0; i < nc; i++) c[i] = i % ldc >= cols ? SENTINEL : mode ? uniform() : NAN;
                    rs[0] = 0;
                    memcpy(c0, c, (size_t)nc * sizeof(float));
                    float scale = 0.37f;
                    dot_gemm(rows, cols, depth, a, lda, b, ldb, c, ldc, scale, mode ? rs : NULL);
                    for (long i = 0; i < rows; i++) {
                        for (long j = 0; j < cols; j++) {
                            double sum = 0, abs = 0;
                            for (long p = 0; p < depth; p++) {
                                uint32_t x = a[i * lda + p], y = b[p * ldb + j];
                                double t0 = lo_value(x) * lo_value(y), t1 = hi_value(x) * hi_value(y);
                                sum += t0 + t1, abs += fabs(t0) + fabs(t1);
                            }
                            double prior = mode ? (double)rs[i] * c0[i * ldc + j] : 0;
                            double want = mode ? prior + sum : scale * sum;
                            double bound = (double)(2 * depth + 3) * 0x1p-23 * (mode ? abs + fabs(prior) : scale * abs) + 1e-30;
                            double err = fabs(c[i * ldc + j] - want) / bound;
                            note(err);
                            CHECK(err <= 1, "dot_gemm %ldx%ldx%ld mode %d: C(%ld, %ld) = %.9g, want %.9g (bound %.3g)", rows, cols, depth, mode, i, j, c[i * ldc + j], want, bound);
                        }
                        for (long j = cols; j < ldc && i * ldc + j < nc; j++)
                            CHECK(c[i * ldc + j] == SENTINEL, "dot_gemm wrote past cols at (%ld, %ld)", i, j);
                    }
                    cases++;
                    free(c0), free(rs), free_guarded();
                }
    report(pairFormat == AK_HALF_F16 ? "f16 dot_gemm" : "bf16 dot_gemm", "of bound", cases);
}

static void test_half_gemm_packed(void) {
    long cases = 0;
    // gemm_packed: A's padding NaN, every operand (A, the packed weight, scratch, C) ending at
    // a guard page; rows around the 12-row blocks, columns around the 32-column panels, K odd
    // and even around the 16-pair steps.
    const long ms[] = {1, 12, 13, 30, 40}, ns[] = {1, 32, 45, 80}, ks[] = {1, 7, 32, 33, 64, 95};
    for (int mi = 0; mi < 5; mi++)
        for (int ni = 0; ni < 4; ni++)
            for (int ki = 0; ki < 6; ki++)
                for (int acc = 0; acc < 2; acc++) {
                    long M = ms[mi], N = ns[ni], K = ks[ki], lda = K + 2, ldw = K + 1, ldc = N + 3;
                    long na = (M - 1) * lda + K, nc = (M - 1) * ldc + N, nw = ak_bf16_packed_words(K, N);
                    uint16_t *w = random_bf16(N * ldw);
                    uint32_t *packed = guarded((size_t)nw * 4), *scratch = guarded((size_t)(12 * ((K + 1) / 2)) * 4);
                    float *A = guarded((size_t)na * 4), *C = guarded((size_t)nc * 4), *C0 = floats(nc);
                    for (long i = 0; i < na; i++) A[i] = i % lda < K ? uniform() : NAN;
                    for (long i = 0; i < nc; i++) C[i] = i % ldc >= N ? SENTINEL : acc ? uniform() : NAN;
                    memcpy(C0, C, (size_t)nc * sizeof(float));
                    H->pack_weight(K, N, w, ldw, packed);
                    H->gemm_packed(M, N, K, A, lda, packed, acc, C, ldc, scratch);
                    for (long i = 0; i < M; i++) {
                        for (long j = 0; j < N; j++) {
                            double sum = 0, abs = 0;
                            for (long k = 0; k < K; k++) {
                                double t = ref_half_value(AK_HALF_BF16, ref_from_f32(AK_HALF_BF16, A[i * lda + k])) *
                                           ref_half_value(AK_HALF_BF16, w[j * ldw + k]);
                                sum += t, abs += fabs(t);
                            }
                            double base = acc ? C0[i * ldc + j] : 0, want = base + sum;
                            double bound = (double)(K + 4) * 0x1p-23 * (abs + fabs(base)) + 1e-30;
                            double err = fabs(C[i * ldc + j] - want) / bound;
                            note(err);
                            CHECK(err <= 1, "gemm_packed %ldx%ldx%ld acc %d: C(%ld, %ld) = %.9g, want %.9g", M, N, K,
                                  acc, i, j, C[i * ldc + j], want);
                        }
                        for (long j = N; j < ldc && i * ldc + j < nc; j++)
                            CHECK(C[i * ldc + j] == SENTINEL, "gemm_packed wrote past N at (%ld, %ld)", i, j);
                    }
                    cases++;
                    free(w), free(C0), free_guarded();
                }
    report("bf16 gemm_packed", "of bound", cases);
}

// Two threads calling dot_gemm at once with different shapes (so different AMX tile
// configurations) must each get the result of a call made alone: no state shared between
// calls, tile configuration per thread.
typedef struct {
    long rows, cols, depth;
    uint32_t *a, *b;
    float *c, *alone;
    int mismatches;
} concurrent_job;

static void *_Nullable concurrent_worker(void *_Nullable argument) {
    concurrent_job *job = argument;
    for (int round = 0; round < 40; round++) {
        dot_gemm(job->rows, job->cols, job->depth, job->a, job->depth, job->b, job->cols, job->c, job->cols, 0.5f, NULL);
        if (memcmp(job->c, job->alone, (size_t)(job->rows * job->cols) * sizeof(float)) != 0) job->mismatches++;
    }
    return NULL;
}

static void test_half_concurrent(void) {
    concurrent_job jobs[2] = {{.rows = 36, .cols = 48, .depth = 33}, {.rows = 84, .cols = 80, .depth = 20}};
    for (int t = 0; t < 2; t++) {
        concurrent_job *j = &jobs[t];
        j->a = words(j->rows * j->depth), j->b = words(j->depth * j->cols);
        for (long i = 0; i < j->rows * j->depth; i++) j->a[i] = random_pair();
        for (long i = 0; i < j->depth * j->cols; i++) j->b[i] = random_pair();
        j->c = floats(j->rows * j->cols), j->alone = floats(j->rows * j->cols);
        dot_gemm(j->rows, j->cols, j->depth, j->a, j->depth, j->b, j->cols, j->alone, j->cols, 0.5f, NULL);
    }
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) pthread_create(&threads[t], NULL, concurrent_worker, &jobs[t]);
    for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) {
        CHECK(jobs[t].mismatches == 0, "dot_gemm %ldx%ld on two threads: %d of 40 calls differ from a call alone",
              jobs[t].rows, jobs[t].cols, jobs[t].mismatches);
        free(jobs[t].a), free(jobs[t].b), free(jobs[t].c), free(jobs[t].alone);
    }
    printf("  %-22s %5d cases  (bit-identical to calls alone)\n",
           pairFormat == AK_HALF_F16 ? "f16 dot_gemm, 2 threads" : "bf16 dot_gemm, 2 threads", 80);
}

#ifdef AK_AMX_EMULATE
// The emulator's TDPBF16PS on hand-made cases (scripts/test-amx.sh): exact sums, the two
// lanes kept apart until the end, DAZ on bf16 inputs, FTZ on results, ties to even; and
// that the AMX kernels ran on it.
long ak_amx_emu_products(void), ak_amx_emu_configs(void);

static float emulated_dot(int f16, const uint32_t *a, const uint32_t *b, int k, float initial) {
    ak_tile_config config = {.palette = 1};
    config.rows[0] = 1, config.colsb[0] = 4;       // C: 1 × 1
    config.rows[1] = 1, config.colsb[1] = 4 * k;   // A: 1 × k pairs
    config.rows[2] = k, config.colsb[2] = 4;       // B: k pair rows × 1
    float c = initial;
    AK_TILE_LOADCONFIG(&config);
    AK_TILE_LOAD(0, &c, 4);
    AK_TILE_LOAD(1, a, 4 * k);
    AK_TILE_LOAD(2, b, 4);
    if (f16) AK_TILE_DPFP16PS(0, 1, 2);
    else AK_TILE_DPBF16PS(0, 1, 2);
    AK_TILE_STORE(0, &c, 4);
    AK_TILE_RELEASE();
    return c;
}

static uint32_t bf16_pair(float lo, float hi) { return fbits(lo) >> 16 | (fbits(hi) & 0xFFFF0000u); }
static uint32_t f16_pair(float lo, float hi) {
    return (uint32_t)ref_from_f32(AK_HALF_F16, lo) | (uint32_t)ref_from_f32(AK_HALF_F16, hi) << 16;
}

static void test_amx_emulator(void) {
    variantName = "AMX emulator";
    uint32_t one = bf16_pair(1, 1), a[4], b[4];
    // 1·1 + 1·1 over 4 pairs = 8, added to 0.5
    for (int i = 0; i < 4; i++) a[i] = one, b[i] = one;
    CHECK(emulated_dot(0, a, b, 4, 0.5f) == 8.5f, "sum of products");
    // Even lane 2^24, odd lane 1 + 1: each exact in its own lane, then (2^24 + 2) exactly.
    a[0] = bf16_pair(0x1p24f, 1), b[0] = one, a[1] = bf16_pair(0, 1), b[1] = one;
    CHECK(emulated_dot(0, a, b, 2, 0) == 0x1p24f + 2, "the two lanes are summed separately");
    // In one lane 2^24 + 1 rounds to even (2^24), + 1 again stays 2^24.
    a[0] = bf16_pair(0x1p24f, 0), a[1] = bf16_pair(1, 0), a[2] = bf16_pair(1, 0);
    for (int i = 0; i < 3; i++) b[i] = one;
    CHECK(emulated_dot(0, a, b, 3, 0) == 0x1p24f, "round to nearest even per accumulation");
    // DAZ: a bf16 subnormal (2^-130) times 2^100 counts as 0, not 2^-30.
    a[0] = 0x00000010u, b[0] = bf16_pair(0x1p100f, 0);
    CHECK(emulated_dot(0, a, b, 1, 0) == 0, "bf16 input subnormals treated as zero");
    // FTZ: 2^-70 · 2^-70 = 2^-140 is a binary32 subnormal, flushed to zero.
    a[0] = bf16_pair(0x1p-70f, 0), b[0] = bf16_pair(0x1p-70f, 0);
    CHECK(emulated_dot(0, a, b, 1, 0) == 0, "subnormal results flushed to zero");
    // TDPFP16PS: 1·1 + 1·1 over 4 pairs added to 0.5 again.
    uint32_t fone = f16_pair(1, 1);
    for (int i = 0; i < 4; i++) a[i] = fone, b[i] = fone;
    CHECK(emulated_dot(1, a, b, 4, 0.5f) == 8.5f, "fp16: sum of products");
    // The two lanes apart, as for bf16: 4096·4096 = 2^24 in the even lane, 1 + 1 in the odd
    // one, then 2^24 + 2 exactly (one accumulator would round each + 1 away: 2^24).
    a[0] = f16_pair(4096, 1), b[0] = f16_pair(4096, 1), a[1] = f16_pair(0, 1), b[1] = fone;
    CHECK(emulated_dot(1, a, b, 2, 0) == 0x1p24f + 2, "fp16: the two lanes are summed separately");
    // f16 subnormal inputs count: 2^-24 · 1024 = 2^-14.
    a[0] = 0x00000001u, b[0] = f16_pair(1024, 0);
    CHECK(emulated_dot(1, a, b, 1, 0) == 0x1p-14f, "fp16 input subnormals are kept");
    // DAZ/FTZ on the fp32 side: a subnormal binary32 accumulator plus a zero product is 0.
    a[0] = f16_pair(0, 0), b[0] = fone;
    CHECK(emulated_dot(1, a, b, 1, 0x1p-130f) == 0, "fp16: subnormal fp32 values flushed to zero");
    printf("  %-22s %5d cases\n", "AMX emulator self-test", 9);
}
#endif

// decode_partial_bf16 (tables that have it): a bf16 cache in pairs, run by two calls that
// continue one another (the second starts from the first's m, l and acc, as a chunk's runs
// across calls would), against a double reference. P is rounded to bf16 pairs, so each
// output may be off by 2^-9 of the largest |value| (here < 1); the bound below is twice that.
static void test_half_decode_partial(void) {
    long cases = 0;
    static const long shapes[][3] = {{4, 128, 128}, {1, 64, 64}, {5, 17, 37}, {3, 128, 192}, {4, 100, 96}, {2, 8, 130}};
    for (int si = 0; si < 6; si++)
        for (long n = 1; n <= 200; n += 47) {
            const long rows = shapes[si][0], d = shapes[si][1], dv = shapes[si][2], qw = (d + 1) / 2;
            const long ldk = d + 3, ldv = dv + 5;
            float *kf = randoms(n * ldk), *vf = randoms(n * ldv), *q = randoms(rows * d);
            for (long i = 0; i < n * ldk; i++) kf[i] = bitsf(fbits(kf[i]) & 0xFFFF0000u);
            for (long i = 0; i < n * ldv; i++) vf[i] = bitsf(fbits(vf[i]) & 0xFFFF0000u);
            for (long i = 0; i < rows * d; i++) q[i] = bitsf(fbits(q[i] * 0.3f) & 0xFFFF0000u);
            uint16_t *kb = malloc((size_t)(n * ldk) * 2), *vb = malloc((size_t)(n * ldv) * 2);
            for (long i = 0; i < n * ldk; i++) kb[i] = (uint16_t)(fbits(kf[i]) >> 16);
            for (long i = 0; i < n * ldv; i++) vb[i] = (uint16_t)(fbits(vf[i]) >> 16);
            uint32_t *qp = malloc((size_t)(rows * qw) * 4);
            H->pairs_from_f32(rows, d, q, d, qp, qw);
            long lo[8], hi[8];
            decode_spans(rows, n, lo, hi);
            float m[8], l[8], *acc = floats(rows * dv), *scratch = floats(rows * (AK_DECODE_BF16_TILE + 1));
            fill(m, rows, -INFINITY), fill(l, rows, 0), fill(acc, rows * dv, 0);
            ak_decode_rows args = {rows, d, dv, q, lo, hi, NULL, NULL, 0, AK_KV_BF16, m, l, acc, scratch, qp, 1.0f};
            long a = n / 3 + 1 > n ? n : n / 3 + 1;  // first call: positions [0, a)
            for (long part = 0; part < 2; part++) {
                long first = part ? a : 0, count = part ? n - a : a;
                if (count == 0) continue;
                ak_kv_run run = {kb + first * ldk, vb + first * ldv, ldk, ldv, first, count, 0, 0};
                H->decode_partial_bf16(&args, 1, &run);
            }
            cases++;
            for (long r = 0; r < rows; r++) {
                double mx = -INFINITY, sum = 0, absDot = 0, vmax = 0;
                if (lo[r] >= hi[r]) {
                    CHECK(l[r] == 0 && m[r] == -INFINITY, "decode_bf16 rows %ld n %ld row %ld sees nothing: m %g l %g", rows, n, r, m[r], l[r]);
                    for (long c = 0; c < dv; c++) CHECK(acc[r * dv + c] == 0, "decode_bf16: unseen row's acc %g", acc[r * dv + c]);
                    continue;
                }
                double *sc = malloc((size_t)n * sizeof(double));
                for (long t = lo[r]; t < hi[r]; t++) {
                    double x = 0, ax = 0;
                    for (long i = 0; i < d; i++) {
                        x += (double)q[r * d + i] * kf[t * ldk + i];
                        ax += fabs((double)q[r * d + i] * kf[t * ldk + i]);
                    }
                    sc[t] = x;
                    if (x > mx) mx = x;
                    if (ax > absDot) absDot = ax;
                    for (long c = 0; c < dv; c++) vmax = fmax(vmax, fabs(vf[t * ldv + c]));
                }
                for (long t = lo[r]; t < hi[r]; t++) sum += exp2(sc[t] - mx);
                double lse = mx + log2(sum), got = m[r] + log2(l[r]);
                double bound = dotBound(d, absDot) * 2 + 1e-6;
                note(fabs(got - lse) / bound);
                CHECK(fabs(got - lse) <= bound, "decode_bf16 rows %ld d %ld n %ld row %ld: lse %.9g, want %.9g", rows, d, n, r, got, lse);
                for (long c = 0; c < dv; c++) {
                    double want = 0;
                    for (long t = lo[r]; t < hi[r]; t++) want += exp2(sc[t] - mx) / sum * vf[t * ldv + c];
                    double out = acc[r * dv + c] / l[r];
                    CHECK(fabs(out - want) <= 0x1p-8 * vmax + 1e-5, "decode_bf16 rows %ld d %ld dv %ld n %ld row %ld col %ld: %.9g, want %.9g",
                          rows, d, dv, n, r, c, out, want);
                }
                free(sc);
            }
            free(kf), free(vf), free(q), free(kb), free(vb), free(qp), free(acc), free(scratch);
        }
    report("decode_partial_bf16", "of bound", cases);
}

static void test_half(void) {
    static const char *_Nonnull halfNames[] = {"half portable", "half F16C",     "half AVX512-BF16",
                                               "half arm64 BF16", "half AMX-BF16", "half AMX-FP16"};
    int detected = ak_detected_half_variant();
    variantName = "half";
    printf("half variant %d (%s)\n", detected, detected >= 0 && detected < 6 ? halfNames[detected] : "?");
    CHECK(ak_half_kernels(-1) == NULL && ak_half_kernels(6) == NULL, "ak_half_kernels accepts an unknown variant");
#if defined(__aarch64__)
    int bf16 = (ak_arm64_features() & AK_ARM64_BF16) != 0;
    CHECK(detected == (bf16 ? AK_HALF_ARM64_BF16 : AK_HALF_PORTABLE), "arm64: half variant %d with FEAT_BF16 %d", detected, bf16);
    CHECK(ak_half_kernels(AK_HALF_F16C) == NULL && ak_half_kernels(AK_HALF_AVX512BF16) == NULL &&
              ak_half_kernels(AK_HALF_AMX_BF16) == NULL && ak_half_kernels(AK_HALF_AMX_FP16) == NULL,
          "arm64: an x86 half table");
    CHECK((ak_half_kernels(AK_HALF_ARM64_BF16) != NULL) == bf16, "arm64: ak_half_kernels(ARM64_BF16) with FEAT_BF16 %d", bf16);
    if (!bf16) printf("no FEAT_BF16: the BFDOT kernels are not offered; bf16 takes the portable conversions\n");
#else
    CHECK(ak_half_kernels(AK_HALF_ARM64_BF16) == NULL, "the arm64 half table on another architecture");
    // EXPECT_AMX (set by the scripts from /proc/cpuinfo, or 1 for the emulated tiles): whether
    // the AMX-BF16 table must be offered.
    const char *expectAMX = getenv("EXPECT_AMX");
    if (expectAMX && *expectAMX)
        CHECK((ak_half_kernels(AK_HALF_AMX_BF16) != NULL) == (atoi(expectAMX) != 0), "AMX-BF16 table offered: %d, expected %s",
              ak_half_kernels(AK_HALF_AMX_BF16) != NULL, expectAMX);
    // EXPECT_AMX_FP16 likewise for the AMX-FP16 table (amx_fp16 in /proc/cpuinfo, or emulated).
    const char *expectFP16 = getenv("EXPECT_AMX_FP16");
    if (expectFP16 && *expectFP16)
        CHECK((ak_half_kernels(AK_HALF_AMX_FP16) != NULL) == (atoi(expectFP16) != 0),
              "AMX-FP16 table offered: %d, expected %s", ak_half_kernels(AK_HALF_AMX_FP16) != NULL, expectFP16);
#endif
#ifdef AK_AMX_EMULATE
    test_amx_emulator();
#endif
    for (int v = 0; v < 6; v++) {
        H = ak_half_kernels(v);
        if (!H) continue;
        variantName = halfNames[v];
        printf("%s:\n", variantName);
        int products = H->dot_gemm != NULL;
        CHECK(products == (v == AK_HALF_AVX512BF16 || v == AK_HALF_ARM64_BF16 || v == AK_HALF_AMX_BF16 || v == AK_HALF_AMX_FP16),
              "tile products in variant %d: %d", v, products);
        int f16products = H->dot_gemm_f16 != NULL;
        CHECK(f16products == (v == AK_HALF_AMX_FP16) && f16products == (H->pairs_from_f32_f16 != NULL),
              "f16 tile products in variant %d: %d", v, f16products);
        CHECK(products == (H->pack_rows && H->pack_transposed && H->pack_interleaved && H->pairs_from_f32 &&
                           H->pack_weight && H->gemm_packed),
              "variant %d fills the tile-product entries only in part", v);
#ifdef AK_AMX_EMULATE
        long before = ak_amx_emu_products();
#endif
        test_half_conversions();
        test_half_scan();
        if (products) {
            test_half_packing();
            test_half_pairs_from_f32();
            test_half_dot_gemm();
            test_half_gemm_packed();
            test_half_concurrent();
        }
        if (f16products) {
            pairFormat = AK_HALF_F16;
            test_half_pairs_from_f32();
            test_half_dot_gemm();
            test_half_concurrent();
            pairFormat = AK_HALF_BF16;
        }
        if (H->decode_partial_bf16) test_half_decode_partial();
#ifdef AK_AMX_EMULATE
        long ran = ak_amx_emu_products() - before;
        int amx = v == AK_HALF_AMX_BF16 || v == AK_HALF_AMX_FP16;
        if (amx) printf("  %ld TDPBF16PS/TDPFP16PS and %ld LDTILECFG so far on the emulated tiles\n", ran, ak_amx_emu_configs());
        CHECK((ran > 0) == amx, "variant %d ran %ld emulated tile products", v, ran);
#endif
    }
}

static const char *_Nonnull names[] = {"portable", "AVX2+FMA", "AVX-512"};

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);  // lines appear as groups finish, also through a pipe
    int detected = ak_detected_isa();
    printf("kernel_test: %s, variants 0...%d\n",
#if defined(__aarch64__) && defined(__ARM_NEON)
           "aarch64 (NEON)",
#elif defined(__x86_64__)
           "x86-64",
#else
           "other",
#endif
           detected);
    test_cpu_features();
    CHECK(ak_kernels(-1) == NULL && ak_kernels(detected + 1) == NULL, "ak_kernels accepts an unknown variant");
    // KERNEL_TEST_HALF_ONLY=1 (scripts/test-amx.sh): only the reduced-precision table.
    for (int isa = 0; isa <= detected && !getenv("KERNEL_TEST_HALF_ONLY"); isa++) {
        K = ak_kernels(isa);
        variantName = isa < 3 ? names[isa] : "?";
        if (!K) { fail("no table for detected variant %d", isa); continue; }
        printf("%s:\n", variantName);
        test_sgemm();
        test_tile_gemm();
        test_packed_gemm();
        test_exp();
        test_exp2_nonpositive();
        test_online_softmax();
        test_softmax_rows();
        test_packing();
        test_masks();
        test_decode_partial();
    }
    test_half();
    printf("%ld checks, %ld failed\n", checks, failures);
    return failures ? 1 : 0;
}

#pragma clang assume_nonnull end
