// One body, three instruction sets. A variant file defines
//   AK_VW      floats per vector (16 AVX-512, 8 AVX2, 4 portable)
//   AK_TARGET  the function attribute that enables its instruction set (may be empty)
//   AK_NAME(f) the exported name of kernel f for this variant
//   QK_MR, QK_NV, PV_MR, PV_NV  micro-tile rows and vectors per row (register budget there)
// and then includes this file. GCC/Clang vector extensions keep one source for all widths;
// `acc + a * b` contracts to FMA where the target has it.
#include "AttentionKernels.h"
#include "variants.h"
// Contracts are asserted in debug builds only (SwiftPM defines DEBUG there, and never NDEBUG).
#if !defined(DEBUG) && !defined(NDEBUG)
#define NDEBUG 1
#endif
#include <assert.h>
#include <math.h>
#include <string.h>

typedef float vf __attribute__((vector_size(AK_VW * 4)));
typedef int32_t vi __attribute__((vector_size(AK_VW * 4)));

#define AK_INLINE static inline __attribute__((always_inline)) AK_TARGET
#define AK_UNROLL _Pragma("clang loop unroll(full)")

AK_INLINE vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

AK_INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

// Adding −0.0 is the identity for every float (adding +0.0 is not, for −0.0), so this folds
// to a plain broadcast.
AK_INLINE vf vsplat(float s) { return s + -(vf){}; }

AK_INLINE vf vmax(vf a, vf b) { return AK_VMAX(a, b); }

// Horizontal reductions as shuffle trees (a scalar loop over 16 lanes costs more than the
// 128-column row it finishes).
AK_INLINE float hmax(vf v) { return __builtin_reduce_max(v); }

AK_INLINE float hsum(vf v) {
    float t[AK_VW];
    memcpy(t, &v, sizeof v);
    AK_UNROLL for (int w = AK_VW / 2; w >= 1; w /= 2) AK_UNROLL for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
}

// exp(x), Cephes-style: n = round(x·log2 e), r = x − n·ln2 (two-part ln2), e^r by a degree-5
// polynomial in Horner form around 1 + r + r²/2, then 2^n through the exponent bits. About
// 1 ulp for normal results. Rounding uses the 1.5·2^23 trick: t = x·log2 e + 1.5·2^23 holds
// n in its low mantissa bits, so n's exponent field comes from t's bits with one integer
// add (no floor or float→int conversion instructions; SSE2 has no floor).
//
// `nonPositive` (softmax: x ≤ 0, −inf for masked scores) clamps x at −87.9, where n = −127
// makes the exponent field 0, so exp(−inf) and anything below ln(FLT_MIN) come out exactly 0
// with no extra masking; NaN is not propagated on this path. The general path also handles
// large x (two-step scaling, +inf above ln(FLT_MAX)) and propagates NaN.
AK_INLINE vf vexp_impl(vf x, int nonPositive) {
    const float magic = 12582912.0f;  // 1.5·2^23
    vf xc = AK_VMAX(x, vsplat(nonPositive ? -87.9f : -87.33654475f));
    if (!nonPositive) xc = AK_VMIN(xc, vsplat(88.72283935f));
    vf t = xc * 1.44269504088896341f + magic;
    vf n = t - magic;
    vf r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    vf p = vsplat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    vf y = p * (r * r) + r + 1.0f;
    vi ni = (vi)t - 0x4B400000;  // n as an integer
    if (nonPositive) return y * (vf)((ni + 127) << 23);
    vi keep = ~(x < -87.33654475f);
    vi isNaN = x != x;
    vi n1 = ni >> 1;
    vi n2 = ni - n1;
    y = y * (vf)((n1 + 127) << 23) * (vf)((n2 + 127) << 23);
    vi big = x > 88.72283935f;
    y = (vf)(((vi)y & ~big) | (big & 0x7f800000));
    return (vf)(((vi)y & keep) | (isNaN & 0x7fc00000));
}

// 2^x for x ≤ 0: the fused kernel's softmax works in base 2 (log2 e is folded into the
// query scale, so no range reduction by ln 2 is needed): n = round(x), f = x − n exactly,
// 2^f by a degree-6 near-minimax polynomial on [−½, ½] (relative error 2e-9 before
// rounding), 2^n through the exponent bits. Clamping at −127 gives n = −127, an exponent
// field of 0, so 2^(−inf) is exactly 0.
AK_INLINE vf vexp2_nonpositive(vf x) {
    const float magic = 12582912.0f;  // 1.5·2^23
    vf xc = AK_VMAX(x, vsplat(-127.0f));
    vf t = xc + magic;
    vf f = xc - (t - magic);
    vf p = vsplat(1.533758146e-4f);
    p = p * f + 1.339986053e-3f;
    p = p * f + 9.618519518e-3f;
    p = p * f + 5.550328900e-2f;
    p = p * f + 2.402264661e-1f;
    p = p * f + 6.931472056e-1f;
    p = p * f + 1.0f;
    vi ni = (vi)t - 0x4B400000;
    return p * (vf)((ni + 127) << 23);
}

// ---------------------------------------------------------------------------------------
// Register micro-kernel: C[MR × NV·VW] (+)= A[MR × depth] · B[depth × NV·VW].
// A(r, k) = a[r·ars + k·acs]; B row k starts at b + k·ldb.
// mode 0: overwrite, 1: accumulate, 2: C = rowScale[r]·C + A·B.
AK_INLINE void micro(const int MR, const int NV, long depth, const float *a, long ars, long acs,
                     const float *b, long ldb, float *c, long ldc, int mode,
                     const float *rowScale) {
#ifdef AK_NEON_LANES
    // AArch64: A's rows contiguous at each k (packed panels) → 4 rows per load, FMLA by lane.
    if (ars == 1 && MR % 4 == 0) {
        ak_neon_micro_lanes(MR, NV, depth, a, acs, b, ldb, c, ldc, mode, rowScale);
        return;
    }
#endif
    // Fixed-size arrays: `vf x[NV]` with a `const int` parameter is a C variable-length
    // array, which clang keeps on the stack (a save/restore per k step) instead of registers.
    vf acc[12][4];
    AK_UNROLL for (int r = 0; r < MR; r++) AK_UNROLL for (int v = 0; v < NV; v++) acc[r][v] = vsplat(0);
    for (long k = 0; k < depth; k++) {
        const float *bk = b + k * ldb;
        const float *ak = a + k * acs;
        vf bv[4];
        AK_UNROLL for (int v = 0; v < NV; v++) bv[v] = vload(bk + v * AK_VW);
        AK_UNROLL for (int r = 0; r < MR; r++) {
            vf ar = vsplat(ak[r * ars]);
            AK_UNROLL for (int v = 0; v < NV; v++) acc[r][v] = acc[r][v] + ar * bv[v];
        }
    }
    AK_UNROLL for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        AK_UNROLL for (int v = 0; v < NV; v++) {
            vf out = acc[r][v];
            if (mode == 1) out = out + vload(cr + v * AK_VW);
            else if (mode == 2) out = out + rowScale[r] * vload(cr + v * AK_VW);
            vstore(cr + v * AK_VW, out);
        }
    }
}

// C[rows × cols] tile by tile, column tiles outermost: one column slice of B (depth × NV·VW
// floats, 16 KB or less) stays in L1 while every row panel of A streams past it. MR and
// NVMAX are constants at every call, so after inlining each `micro` call is a fixed-size
// register tile. Row i of A starts at a + (i / P)·panelStride + (i % P)·ars, and `acs` steps
// along k: P = 12 for the packed panels of shape 0, P = 1 for row-major A.
AK_INLINE void tiles(const int MR, const int NVMAX, long rows, long cols, long depth, const float *a,
                     long P, long panelStride, long ars, long acs, const float *b, long ldb, float *c,
                     long ldc, int mode, const float *rowScale) {
    for (long j = 0; j < cols; j += NVMAX * AK_VW) {
        long nv = (cols - j) / AK_VW;
        for (long i = 0; i < rows; i += MR) {
            const float *ai = a + (i / P) * panelStride + (i % P) * ars;
            float *ci = c + i * ldc + j;
            const float *rs = rowScale ? rowScale + i : 0;
            if (nv >= NVMAX) micro(MR, NVMAX, depth, ai, ars, acs, b + j, ldb, ci, ldc, mode, rs);
            else if (nv == 1) micro(MR, 1, depth, ai, ars, acs, b + j, ldb, ci, ldc, mode, rs);
            else if (NVMAX > 2 && nv == 2) micro(MR, 2, depth, ai, ars, acs, b + j, ldb, ci, ldc, mode, rs);
            else if (NVMAX > 3 && nv == 3) micro(MR, 3, depth, ai, ars, acs, b + j, ldb, ci, ldc, mode, rs);
        }
    }
}

AK_TARGET void AK_NAME(ak_tile_gemm)(int shape, long rows, long cols, long depth, const float *a,
                                     long lda, const float *b, long ldb, float *c, long ldc,
                                     int accumulate, const float *rowScale) {
    // The contract of the header: whole 12-row micro-tile panels, 16-float column groups.
    assert(rows % 12 == 0 && "ak_tile_gemm: rows must be a multiple of 12");
    assert(cols % 16 == 0 && "ak_tile_gemm: cols must be a multiple of 16");
    int mode = rowScale ? 2 : (accumulate ? 1 : 0);
    if (shape == 0)  // A packed in 12-row panels, k-major (ak_pack_panels); MR divides 12.
        tiles(QK_MR, QK_NV, rows, cols, depth, a, 12, 12 * depth, 1, 12, b, ldb, c, ldc, mode, rowScale);
    else
        tiles(PV_MR, PV_NV, rows, cols, depth, a, 1, lda, lda, 1, b, ldb, c, ldc, mode, rowScale);
}

typedef float v4 __attribute__((vector_size(16)));

// 4×4 transpose of scaled rows into a 12-row panel: dst[k·12 + r] = scale·src[r·lds + k].
AK_INLINE void transpose4_scaled(const float *src, long lds, float scale, float *dst) {
    v4 r[4];
    for (int i = 0; i < 4; i++) {
        memcpy(&r[i], src + i * lds, sizeof(v4));
        r[i] = r[i] * scale;
    }
    v4 t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5), t1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
    v4 t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5), t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
    v4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5), c1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    v4 c2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5), c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    memcpy(dst, &c0, sizeof(v4));
    memcpy(dst + 12, &c1, sizeof(v4));
    memcpy(dst + 24, &c2, sizeof(v4));
    memcpy(dst + 36, &c3, sizeof(v4));
}

AK_TARGET void AK_NAME(ak_pack_panels)(long rows, long rowsPadded, long cols, const float *x,
                                       long ldx, float scale, float *out) {
    assert(rowsPadded % 12 == 0 && rowsPadded >= rows && "ak_pack_panels: rowsPadded");
    long c4 = cols & ~3L;
    for (long p = 0; p < rowsPadded; p += 12) {
        float *panel = out + p * cols;
        for (long r0 = 0; r0 < 12; r0 += 4) {
            if (p + r0 + 4 <= rows) {  // four real rows: 4×4 register transposes
                const float *src = x + (p + r0) * ldx;
                for (long k = 0; k < c4; k += 4) transpose4_scaled(src + k, ldx, scale, panel + k * 12 + r0);
                for (long r = 0; r < 4; r++)
                    for (long k = c4; k < cols; k++) panel[k * 12 + r0 + r] = src[r * ldx + k] * scale;
            } else {
                for (long r = r0; r < r0 + 4; r++) {
                    long row = p + r;
                    for (long k = 0; k < cols; k++) panel[k * 12 + r] = row < rows ? x[row * ldx + k] * scale : 0;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// General GEMM with packing (BLIS-style loop order). A is packed k-major in QK_MR-row panels
// (alpha folded in), B in NR-column panels, both zero-padded so the micro-kernel only runs
// full tiles; edge tiles of C go through a small buffer.
enum { GEMM_KC = 256, GEMM_MC = 96, GEMM_NC = 2048 };
AK_TARGET void AK_NAME(ak_pack_transposed)(long cols, long d, const float *k, long ldk,
                                           float *kt, long ldkt, long colsPadded);

// dst[k·W + t] = scale·X(t0 + t, k0 + k) for t < n, zero for n ≤ t < W, with
// X(t, k) = M[t·ld + k], or M[k·ld + t] when `kMajorSource`: one packer for both operands
// (A's rows are t; B's columns are t, i.e. op(B) read transposed).
AK_INLINE void pack_kmajor(float *dst, long W, long n, long kc, const float *M, long ld, int kMajorSource,
                           float scale, long t0, long k0) {
    for (long k = 0; k < kc; k++) {
        float *d = dst + k * W;
        for (long t = 0; t < n; t++)
            d[t] = scale * (kMajorSource ? M[(k0 + k) * ld + t0 + t] : M[(t0 + t) * ld + k0 + k]);
        for (long t = n; t < W; t++) d[t] = 0;
    }
}
#define GEMM_NR (QK_NV * AK_VW)

AK_TARGET void AK_NAME(ak_sgemm)(int transA, int transB, long M, long N, long K, float alpha,
                                 const float *A, long lda, const float *B, long ldb, float beta,
                                 float *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    for (long i = 0; i < M; i++) {
        float *ci = C + i * ldc;
        if (beta == 0) memset(ci, 0, (size_t)N * sizeof(float));
        else if (beta != 1) for (long j = 0; j < N; j++) ci[j] *= beta;
    }
    if (K <= 0 || alpha == 0) return;
    enum { MR = QK_MR, NR = GEMM_NR };
    size_t needA = (size_t)(GEMM_MC + MR) * GEMM_KC, needB = (size_t)(GEMM_NC + NR) * GEMM_KC;
    float *bufA = ak_thread_buffer(AK_BUFFER_SGEMM_A, needA);
    float *bufB = ak_thread_buffer(AK_BUFFER_SGEMM_B, needB);
    float edge[MR * NR];
    for (long jc = 0; jc < N; jc += GEMM_NC) {
        long nc = N - jc < GEMM_NC ? N - jc : GEMM_NC;
        for (long pc = 0; pc < K; pc += GEMM_KC) {
            long kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
            // Pack op(B)(pc.., jc..) into panels [kc][NR].
            for (long jp = 0; jp < nc; jp += NR)
                pack_kmajor(bufB + jp * kc, NR, nc - jp < NR ? nc - jp : NR, kc, B, ldb, !transB, 1.0f,
                            jc + jp, pc);
            for (long ic = 0; ic < M; ic += GEMM_MC) {
                long mc = M - ic < GEMM_MC ? M - ic : GEMM_MC;
                // Pack alpha·op(A)(ic.., pc..) into panels [kc][MR].
                for (long ip = 0; ip < mc; ip += MR)
                    pack_kmajor(bufA + ip * kc, MR, mc - ip < MR ? mc - ip : MR, kc, A, lda, transA, alpha,
                                ic + ip, pc);
                for (long jp = 0; jp < nc; jp += NR) {
                    long w = nc - jp < NR ? nc - jp : NR;
                    for (long ip = 0; ip < mc; ip += MR) {
                        long h = mc - ip < MR ? mc - ip : MR;
                        float *ct = C + (ic + ip) * ldc + jc + jp;
                        const float *ap = bufA + ip * kc, *bp = bufB + jp * kc;
                        if (h == MR && w == NR) {
                            micro(MR, QK_NV, kc, ap, 1, MR, bp, NR, ct, ldc, 1, 0);
                        } else {
                            micro(MR, QK_NV, kc, ap, 1, MR, bp, NR, edge, NR, 0, 0);
                            for (long i = 0; i < h; i++)
                                for (long j = 0; j < w; j++) ct[i * ldc + j] += edge[i * NR + j];
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// GEMM against a pre-packed B (a layer's weight, packed once): op(B) (K×N) is stored in
// AK_PANEL-column panels, panel p = columns [32p, 32p + 32), k-major and zero-padded:
// packed[p·K·32 + k·32 + t] = op(B)(k, 32p + t). The panel width is the same for every
// variant (a multiple of each one's micro-tile width), so a packed weight serves them all.

AK_TARGET void AK_NAME(ak_pack_b)(int transB, long K, long N, const float *B, long ldb,
                                  float *packed) {
    for (long j0 = 0; j0 < N; j0 += AK_PANEL) {
        long w = N - j0 < AK_PANEL ? N - j0 : AK_PANEL;
        float *panel = packed + (j0 / AK_PANEL) * K * AK_PANEL;
        if (transB) {  // B is N×K (a weight [out, in]): panel = rows j0..<j0+w transposed
            AK_NAME(ak_pack_transposed)(w, K, B + j0 * ldb, ldb, panel, AK_PANEL, AK_PANEL);
        } else {
            for (long k = 0; k < K; k++) {
                memcpy(panel + k * AK_PANEL, B + k * ldb + j0, (size_t)w * sizeof(float));
                for (long t = w; t < AK_PANEL; t++) panel[k * AK_PANEL + t] = 0;
            }
        }
    }
}

// C[M×N] = (accumulate ? C : 0) + A·B, A row-major (row stride lda), B packed by ak_pack_b.
// Blocks of GEMM_MC rows × GEMM_KC depth of A are packed into 12-row panels (ak_pack_panels,
// the fused kernel's Q layout); each B panel's GEMM_KC × 32 slice stays in L1 while the row
// panels stream past it. No pass zeroes C: the first depth block overwrites.
AK_TARGET void AK_NAME(ak_sgemm_packed)(long M, long N, long K, const float *A, long lda,
                                        const float *packed, int accumulate, float *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    enum { MR = QK_MR, NR = QK_NV * AK_VW };
    size_t needA = (size_t)(GEMM_MC + 12) * GEMM_KC;
    float *bufA = ak_thread_buffer(AK_BUFFER_SGEMM_PACKED_A, needA);
    float edge[MR * NR];
    for (long pc = 0; pc < K; pc += GEMM_KC) {
        long kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
        int mode = (pc > 0 || accumulate) ? 1 : 0;
        for (long ic = 0; ic < M; ic += GEMM_MC) {
            long mc = M - ic < GEMM_MC ? M - ic : GEMM_MC;
            AK_NAME(ak_pack_panels)(mc, (mc + 11) / 12 * 12, kc, A + ic * lda + pc, lda, 1.0f, bufA);
            for (long jp = 0; jp < N; jp += AK_PANEL) {
                const float *bpanel = packed + (jp / AK_PANEL) * K * AK_PANEL + pc * AK_PANEL;
                for (long ip = 0; ip < mc; ip += MR) {
                    long h = mc - ip < MR ? mc - ip : MR;
                    const float *ap = bufA + (ip / 12) * 12 * kc + ip % 12;
                    for (long js = 0; js < AK_PANEL && jp + js < N; js += NR) {
                        long w = N - jp - js < NR ? N - jp - js : NR;
                        float *ct = C + (ic + ip) * ldc + jp + js;
                        if (h == MR && w == NR) {
                            micro(MR, QK_NV, kc, ap, 1, 12, bpanel + js, AK_PANEL, ct, ldc, mode, 0);
                        } else {
                            micro(MR, QK_NV, kc, ap, 1, 12, bpanel + js, AK_PANEL, edge, NR, 0, 0);
                            for (long i = 0; i < h; i++)
                                for (long j = 0; j < w; j++)
                                    ct[i * ldc + j] = (mode ? ct[i * ldc + j] : 0) + edge[i * NR + j];
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Packing and row passes.

typedef float v8 __attribute__((vector_size(32)));

// 8×8 transpose in registers (unpack, 64-bit shuffle, 128-bit lane exchange).
AK_INLINE void transpose8(const float *src, long lds, float *dst, long ldd) {
    v8 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) memcpy(&r[i], src + i * lds, sizeof(v8));
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int h = 0; h < 8; h += 4) {
        u[h + 0] = __builtin_shufflevector(t[h + 0], t[h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[h + 1] = __builtin_shufflevector(t[h + 0], t[h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[h + 2] = __builtin_shufflevector(t[h + 1], t[h + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[h + 3] = __builtin_shufflevector(t[h + 1], t[h + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {
        v8 lo = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        v8 hi = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(dst + i * ldd, &lo, sizeof(v8));
        memcpy(dst + (i + 4) * ldd, &hi, sizeof(v8));
    }
}

AK_TARGET void AK_NAME(ak_pack_transposed)(long cols, long d, const float *k, long ldk,
                                           float *kt, long ldkt, long colsPadded) {
    long c8 = cols & ~7L, d8 = d & ~7L;
    for (long c0 = 0; c0 < c8; c0 += 8)
        for (long i0 = 0; i0 < d8; i0 += 8) transpose8(k + c0 * ldk + i0, ldk, kt + i0 * ldkt + c0, ldkt);
    // Edges: the last d % 8 features of every key, and the last cols % 8 keys.
    for (long i = d8; i < d; i++)
        for (long c = 0; c < cols; c++) kt[i * ldkt + c] = k[c * ldk + i];
    for (long i = 0; i < d8; i++)
        for (long c = c8; c < cols; c++) kt[i * ldkt + c] = k[c * ldk + i];
    for (long i = 0; i < d; i++)
        for (long c = cols; c < colsPadded; c++) kt[i * ldkt + c] = 0;
}

AK_TARGET void AK_NAME(ak_pack_scaled)(long rows, long cols, const float *x, long ldx, float scale,
                                       float *y, long ldy, long colsPadded) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        for (long c = 0; c < cols; c++) yr[c] = xr[c] * scale;
        for (long c = cols; c < colsPadded; c++) yr[c] = 0;
    }
}

// Row max over `cols` entries (vector body, scalar tail).
AK_INLINE float row_max(const float *row, long cols) {
    vf m = vsplat(-INFINITY);
    long c = 0;
    for (; c + AK_VW <= cols; c += AK_VW) m = vmax(m, vload(row + c));
    float mx = hmax(m);
    for (; c < cols; c++) mx = row[c] > mx ? row[c] : mx;
    return mx;
}

// row[c] = exp(row[c] − shift) (or 2^(row[c] − shift) when `base2`) in place; returns the
// sum. The tail goes through a padded vector so it uses the same function as the body.
AK_INLINE vf vexp_softmax(vf x, int base2) { return base2 ? vexp2_nonpositive(x) : vexp_impl(x, 1); }

AK_INLINE float row_exp_sum(float *row, long cols, float shift, int base2) {
    vf sum = vsplat(0);
    long c = 0;
    for (; c + AK_VW <= cols; c += AK_VW) {
        vf p = vexp_softmax(vload(row + c) - shift, base2);
        vstore(row + c, p);
        sum = sum + p;
    }
    if (c < cols) {
        float tmp[AK_VW];
        for (int i = 0; i < AK_VW; i++) tmp[i] = c + i < cols ? row[c + i] - shift : -INFINITY;
        vf p = vexp_softmax(vload(tmp), base2);
        vstore(tmp, p);
        for (long i = 0; c + i < cols; i++) row[c + i] = tmp[i];
        sum = sum + p;
    }
    return hsum(sum);
}

// In phases over a chunk of rows, so that rows' latency chains overlap and the per-row
// scalar work (new max, correction factor) runs rows-in-lanes as vectors.
AK_TARGET void AK_NAME(ak_online_softmax)(long rows, long cols, float *s, long lds,
                                          float *rowMax, float *rowSum, float *alpha,
                                          const long *spans, int natural) {
    enum { CHUNK = 64 };
    float mNew[CHUNK], sums[CHUNK];
    for (long r0 = 0; r0 < rows; r0 += CHUNK) {
        long n = rows - r0 < CHUNK ? rows - r0 : CHUNK;
        for (long r = 0; r < n; r++) {
            long lo = spans ? spans[2 * (r0 + r)] : 0, hi = spans ? spans[2 * (r0 + r) + 1] : cols;
            float mx = row_max(s + (r0 + r) * lds + lo, hi - lo), mOld = rowMax[r0 + r];
            mNew[r] = mx > mOld ? mx : mOld;
        }
        // alpha = 2^(m − m') (e^(m − m') in natural units), 0 on a first visit (m = −inf),
        // 1 while nothing is visible.
        for (long r = 0; r < n; r += AK_VW) {
            float mo[AK_VW], mn[AK_VW], a[AK_VW];
            for (int i = 0; i < AK_VW; i++) {
                int live = r + i < n && mNew[r + i] != -INFINITY;
                mo[i] = live ? rowMax[r0 + r + i] : 0.0f;
                mn[i] = live ? mNew[r + i] : 0.0f;
            }
            vf d = vload(mo) - vload(mn);
            vstore(a, natural ? vexp_impl(d, 1) : vexp2_nonpositive(d));
            for (int i = 0; i < AK_VW && r + i < n; i++) alpha[r0 + r + i] = a[i];
        }
        for (long r = 0; r < n; r++) {
            float *row = s + (r0 + r) * lds;
            long lo = spans ? spans[2 * (r0 + r)] : 0, hi = spans ? spans[2 * (r0 + r) + 1] : cols;
            if (lo > 0) memset(row, 0, (size_t)lo * sizeof(float));
            if (hi < cols) memset(row + hi, 0, (size_t)(cols - hi) * sizeof(float));
            if (mNew[r] == -INFINITY) {  // nothing visible yet: p = 0, state unchanged
                memset(row + lo, 0, (size_t)(hi - lo) * sizeof(float));
                sums[r] = 0;
                continue;
            }
            sums[r] = row_exp_sum(row + lo, hi - lo, mNew[r], !natural);
        }
        for (long r = 0; r < n; r++) {
            if (mNew[r] == -INFINITY) continue;
            rowSum[r0 + r] = rowSum[r0 + r] * alpha[r0 + r] + sums[r];
            rowMax[r0 + r] = mNew[r];
        }
    }
}

AK_TARGET void AK_NAME(ak_softmax_rows)(long rows, long cols, float *s, long lds) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        float mx = row_max(row, cols);
        if (mx == -INFINITY) {
            memset(row, 0, (size_t)cols * sizeof(float));
            continue;
        }
        float inv = 1.0f / row_exp_sum(row, cols, mx, 0);
        for (long c = 0; c < cols; c++) row[c] *= inv;
    }
}

AK_TARGET void AK_NAME(ak_exp)(long n, const float *x, float *y) {
    long i = 0;
    for (; i + AK_VW <= n; i += AK_VW) vstore(y + i, vexp_impl(vload(x + i), 0));
    if (i < n) {
        float tmp[AK_VW];
        for (int j = 0; j < AK_VW; j++) tmp[j] = i + j < n ? x[i + j] : 0;
        vstore(tmp, vexp_impl(vload(tmp), 0));
        for (long j = 0; i + j < n; j++) y[i + j] = tmp[j];
    }
}

AK_TARGET void AK_NAME(ak_add_alibi)(long rows, long cols, float *s, long lds, float slope,
                                     long qStart, long kStart, long shift, int symmetric) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        long i = qStart + r + shift;
        for (long c = 0; c < cols; c++) {
            float dist = (float)(i - (kStart + c));
            if (symmetric) dist = fabsf(dist);
            row[c] -= slope * dist;
        }
    }
}

// Screening for the non-finite rule: |x| by clearing the sign bit; `!(|x| ≤ FLT_MAX)` catches
// NaN and ±inf. One pass accumulates the max and the flag across all rows (no per-row
// reduction); only when something is non-finite (rare) does a second pass find the rows.
AK_INLINE void scan_row(const float *xr, long cols, vf *m, vi *nonFinite, float *ms, int *bad) {
    long c = 0;
    for (; c + AK_VW <= cols; c += AK_VW) {
        vf a = (vf)((vi)vload(xr + c) & 0x7fffffff);
        *nonFinite |= ~(a <= 3.40282347e38f);
        *m = vmax(*m, a);
    }
    for (; c < cols; c++) {
        float a = fabsf(xr[c]);
        *bad |= !(a <= 3.40282347e38f);
        *ms = a > *ms ? a : *ms;
    }
}

AK_TARGET float AK_NAME(ak_scan_rows)(long rows, long cols, const float *x, long ldx,
                                      unsigned char *bad) {
    vf m = vsplat(0);
    vi nonFinite = (vi){};
    float ms = 0;
    int anyBad = 0;
    for (long r = 0; r < rows; r++) scan_row(x + r * ldx, cols, &m, &nonFinite, &ms, &anyBad);
    if (!anyBad && __builtin_reduce_or(nonFinite) == 0) return hmax(m) > ms ? hmax(m) : ms;
    float largest = 0;
    for (long r = 0; r < rows; r++) {
        vf mr = vsplat(0);
        vi nr = (vi){};
        float msr = 0;
        int badr = 0;
        scan_row(x + r * ldx, cols, &mr, &nr, &msr, &badr);
        float mx = hmax(mr) > msr ? hmax(mr) : msr;
        if (badr || __builtin_reduce_or(nr) != 0) bad[r] = 1;
        else if (mx > largest) largest = mx;
    }
    return largest;
}

AK_TARGET void AK_NAME(ak_finalize_rows)(long rows, long cols, const float *o, long ldoi,
                                         const float *rowSum, float *out, long ldo) {
    for (long r = 0; r < rows; r++) {
        float l = rowSum[r];
        float inv = l == 0 ? 0.0f : 1.0f / l;
        for (long c = 0; c < cols; c++) out[r * ldo + c] = o[r * ldoi + c] * inv;
    }
}

// Flash-decoding partials (a separate concern, the same vector helpers).
#include "decode_impl.h"
