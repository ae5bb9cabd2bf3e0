// Flash-decoding partials (included at the end of kernels_impl.h, once per variant, so it
// shares that file's vector helpers: vf, vload, vsplat, hsum, row_max, row_exp_sum).
//
// ak_decode_partial runs the online softmax of every query row of one key/value group over
// a list of cached-key runs, in tiles of AK_DECODE_TILE positions:
//   S = Q·K_tileᵀ        (each K row is loaded once and dotted with every query row)
//   mask rows to [lo, hi), add ALiBi, m' = max(m, rowmax S), P = 2^(S − m'),
//   l = l·2^(m − m') + rowsum P,   acc = 2^(m − m')·acc + P·V_tile
// so each cached K/V element is read from memory once per step for the whole group.
// Keys and values may be f32, bf16 or f16 (converted to f32 in registers; accumulation is
// always f32).
//
// Register budget: AVX-512 (32 zmm): scores 4 rows × 4 keys = 16 accumulators + 4 K + 1 Q
// = 21; P·V 4 rows × 4 vectors = 16 accumulators + 4 V + 1 broadcast = 21. AVX2 and
// portable (16 registers): 2 rows × 4 = 8 + 4 + 1 = 13 in both.
// Pointers are non-null unless marked _Nullable.
#pragma clang assume_nonnull begin

#if AK_VW == 16
#define DEC_RB 4
#else
#define DEC_RB 2
#endif
#define DEC_TB 4
#define DEC_NV 4
// Rows ahead that the score and value loops prefetch (into L2). Without it the step is bound
// by memory latency: the hardware prefetchers stop at every 4 KiB page boundary and K and V
// alternate between two streams. One prefetch per loaded line keeps the number in flight
// within what the core tracks (a bulk prefetch of a whole tile is mostly dropped). A whole
// tile ahead: the value loop of a tile runs after its score loop, so with fewer rows ahead
// the values of the tile's second half were requested only ~16 rows (a few hundred cycles)
// before use, and the step stalled on them (1 thread: 16 → 32 took f32 from ~52–57% to
// ~61–63% and bf16 from ~43–46% to ~55–63% of the plain read). Prefetching into L1 (hint 3)
// instead halves the speed.
#define DEC_PD AK_DECODE_TILE

typedef uint16_t vh __attribute__((vector_size(AK_VW * 2)));
typedef uint32_t vu __attribute__((vector_size(AK_VW * 4)));

// f16 bits (zero-extended in 32-bit lanes) to f32, exact for every input (normals,
// subnormals, ±0, ±inf, NaN): shift the exponent and mantissa into place, rebias, and
// renormalize subnormals by subtracting the magic 2^−14 (F. Giesen's half_to_float).
AK_INLINE vf dec_half_to_float(vu h) {
    vu o = (h & 0x7fffu) << 13;
    vu exp = o & (0x7c00u << 13);
    o += (127u - 15u) << 23;
    o += (vu)(exp == (0x7c00u << 13)) & ((128u - 16u) << 23);  // inf / NaN
    vu den = (vu)(exp == 0);
    o += den & (1u << 23);
    vf f = (vf)o - (vf)(den & (113u << 23));  // 113 << 23 is 2^−14 as float bits
    return (vf)((vu)f | ((h & 0x8000u) << 16));
}

// A vector of AK_VW keys/values elements starting at element i of p, as f32.
AK_INLINE vf dec_load(const void *p, long i, const int type) {
    if (type == AK_KV_F32) return vload((const float *)p + i);
    vh x;
    memcpy(&x, (const uint16_t *)p + i, sizeof x);
    vu w = __builtin_convertvector(x, vu);
    if (type == AK_KV_BF16) return (vf)(w << 16);
#if AK_VW == 16
    return (vf)_mm512_cvtph_ps((__m256i)x);  // AVX512F converts halves in one instruction
#else
    return dec_half_to_float(w);
#endif
}

AK_INLINE float dec_scalar(const void *p, long i, const int type) {
    if (type == AK_KV_F32) return ((const float *)p)[i];
    uint16_t x = ((const uint16_t *)p)[i];
    float t[AK_VW];
    vu w = (vu){} + (uint32_t)x;
    vf f = type == AK_KV_BF16 ? (vf)(w << 16) : dec_half_to_float(w);
    memcpy(t, &f, sizeof f);
    return t[0];
}

// The four horizontal sums of v[0..3] at once: a transposing reduction tree (log2 VW levels
// of two shuffles and an add on the four vectors together, instead of four separate trees).
AK_INLINE void dec_hsum4(const vf *v, float *out) {
#define SV __builtin_shufflevector
#if AK_VW == 16
    vf x = SV(v[0], v[1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           SV(v[0], v[1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    vf y = SV(v[2], v[3], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           SV(v[2], v[3], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    vf z = SV(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
           SV(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    z = z + SV(z, z, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    z = z + SV(z, z, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    out[0] = z[0], out[1] = z[4], out[2] = z[8], out[3] = z[12];
#elif AK_VW == 8
    vf x = SV(v[0], v[1], 0, 1, 2, 3, 8, 9, 10, 11) + SV(v[0], v[1], 4, 5, 6, 7, 12, 13, 14, 15);
    vf y = SV(v[2], v[3], 0, 1, 2, 3, 8, 9, 10, 11) + SV(v[2], v[3], 4, 5, 6, 7, 12, 13, 14, 15);
    vf z = SV(x, y, 0, 1, 4, 5, 8, 9, 12, 13) + SV(x, y, 2, 3, 6, 7, 10, 11, 14, 15);
    z = z + SV(z, z, 1, 0, 3, 2, 5, 4, 7, 6);
    out[0] = z[0], out[1] = z[2], out[2] = z[4], out[3] = z[6];
#else
    vf x = SV(v[0], v[1], 0, 1, 4, 5) + SV(v[0], v[1], 2, 3, 6, 7);
    vf y = SV(v[2], v[3], 0, 1, 4, 5) + SV(v[2], v[3], 2, 3, 6, 7);
    vf z = SV(x, y, 0, 2, 4, 6) + SV(x, y, 1, 3, 5, 7);
    out[0] = z[0], out[1] = z[1], out[2] = z[2], out[3] = z[3];
#endif
#undef SV
}

// s[r·lds + t] = q_r · k_t for RB rows × TB keys (q row stride d, k row stride ldk).
AK_INLINE void dec_scores(const int RB, const int TB, long d, const float *q, const void *k,
                          long ldk, const int type, float *s, long lds, const char *_Nullable pf) {
    vf acc[DEC_RB][DEC_TB];
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int t = 0; t < TB; t++) acc[r][t] = vsplat(0);
    long dv = d / AK_VW * AK_VW;
    for (long i = 0; i < dv; i += AK_VW) {
        vf kv[DEC_TB];
        AK_UNROLL for (int t = 0; t < TB; t++) {
            kv[t] = dec_load(k, t * ldk + i, type);
            if (pf && (type == AK_KV_F32 || (i & (2 * AK_VW - 1)) == 0))
                __builtin_prefetch(pf + (t * ldk + i) * (type ? 2 : 4), 0, 2);
        }
        AK_UNROLL for (int r = 0; r < RB; r++) {
            vf qv = vload(q + r * d + i);
            AK_UNROLL for (int t = 0; t < TB; t++) acc[r][t] = acc[r][t] + qv * kv[t];
        }
    }
    AK_UNROLL for (int r = 0; r < RB; r++) {
        float x[DEC_TB];
        if (TB == 4) dec_hsum4(acc[r], x);
        else AK_UNROLL for (int t = 0; t < TB; t++) x[t] = hsum(acc[r][t]);
        AK_UNROLL for (int t = 0; t < TB; t++) {
            for (long i = dv; i < d; i++) x[t] += q[r * d + i] * dec_scalar(k, t * ldk + i, type);
            s[r * lds + t] = x[t];
        }
    }
}

// acc[r][col ..< col + NV·VW] = alpha[r]·acc + Σ_t p[r][t]·v_t[col ...] for RB rows.
AK_INLINE void dec_values(const int RB, const int NV, long n, const float *p, long ldp,
                          const void *v, long ldv, const int type, long col, float *acc,
                          long lda, const float *alpha, const char *_Nullable pf) {
    vf o[DEC_RB][DEC_NV];
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int x = 0; x < NV; x++)
        o[r][x] = alpha[r] * vload(acc + r * lda + col + x * AK_VW);
    for (long t = 0; t < n; t++) {
        vf vv[DEC_NV];
        AK_UNROLL for (int x = 0; x < NV; x++) {
            vv[x] = dec_load(v, t * ldv + col + x * AK_VW, type);
            if (pf && (type == AK_KV_F32 || (x & 1) == 0))
                __builtin_prefetch(pf + (t * ldv + col + x * AK_VW) * (type ? 2 : 4), 0, 2);
        }
        AK_UNROLL for (int r = 0; r < RB; r++) {
            vf pb = vsplat(p[r * ldp + t]);
            AK_UNROLL for (int x = 0; x < NV; x++) o[r][x] = o[r][x] + pb * vv[x];
        }
    }
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int x = 0; x < NV; x++)
        vstore(acc + r * lda + col + x * AK_VW, o[r][x]);
}

// The columns lo ..< hi of a tile of n positions from j0 that row r sees (lo ≥ hi: none).
AK_INLINE void dec_span(const ak_decode_rows *a, long r, long j0, long n, long *lo, long *hi) {
    *lo = a->lo[r] - j0 < 0 ? 0 : a->lo[r] - j0;
    *hi = a->hi[r] - j0 > n ? n : a->hi[r] - j0;
}

// Mask, ALiBi and the online-softmax step of one tile's scores s[rows × n] (row stride T,
// base 2: the scores already carry log2 e), in place: s becomes P (zero outside each row's
// visible span), alpha[r] = 2^(m − m'), and m, l are updated.
//
// A visible NaN or ±inf score (from a non-finite query, key or value, or an overflowing
// score) sets l[0] to NaN, which survives every later rescale: the caller recomputes the
// item in checked mode (FlashDecode+Checked.swift). The test is one pass over the tile:
// x·0 is NaN exactly when x is NaN or ±inf, and a sum is NaN when one of its terms is.
AK_INLINE void dec_softmax(const ak_decode_rows *a, long j0, long n, float *s, long T, float *alpha) {
    const long rows = a->rows;
    long r, lo, hi;
    vf z = vsplat(0);
    float zt = 0;
    for (r = 0; r < rows; r++) {
        float *row = s + r * T;
        dec_span(a, r, j0, n, &lo, &hi);
        if (lo >= hi) continue;
        if (a->slope) {
            float m = a->slope[r];
            long i = a->qpos[r];
            for (long c = lo; c < hi; c++) {
                long dist = i - (j0 + c);
                row[c] -= m * (float)(a->symmetric && dist < 0 ? -dist : dist);
            }
        }
        long c = lo;
        for (; c + AK_VW <= hi; c += AK_VW) z = z + vload(row + c) * 0.0f;
        for (; c < hi; c++) zt += row[c] * 0.0f;
    }
    if (hsum(z) + zt != 0) a->l[0] = NAN;
    for (r = 0; r < rows; r++) {
        float *row = s + r * T;
        dec_span(a, r, j0, n, &lo, &hi);
        alpha[r] = 1;
        if (lo >= hi) {  // nothing visible in this tile
            memset(row, 0, (size_t)n * sizeof(float));
            continue;
        }
        float mOld = a->m[r], mx = row_max(row + lo, hi - lo);
        float mNew = mx > mOld ? mx : mOld;
        if (mNew == -INFINITY) {
            memset(row, 0, (size_t)n * sizeof(float));
            continue;
        }
        float sum = row_exp_sum(row + lo, hi - lo, mNew, 1);
        if (lo > 0) memset(row, 0, (size_t)lo * sizeof(float));
        if (hi < n) memset(row + hi, 0, (size_t)(n - hi) * sizeof(float));
        alpha[r] = mOld == -INFINITY ? 0.0f : exp2f(mOld - mNew);
        a->l[r] = a->l[r] * alpha[r] + sum;
        a->m[r] = mNew;
    }
}

// One tile of n ≤ AK_DECODE_TILE positions starting at absolute position j0.
// `pfk`, `pfv`: where the rows DEC_PD positions ahead of this tile's first key and value
// are (the next run's when they are past this one), for prefetching.
AK_INLINE void dec_tile(const ak_decode_rows *a, const void *k, long ldk, const void *v, long ldv,
                        long j0, long n, const int type, const char *pfk, const char *pfv) {
    enum { T = AK_DECODE_TILE };
    const long rows = a->rows, d = a->d, dvw = a->dv;
    float *s = a->scratch, *alpha = a->scratch + rows * T;
    // Scores: full row blocks × full key blocks, then the tails one by one.
    long r = 0;
    for (; r + DEC_RB <= rows; r += DEC_RB) {
        long t = 0;
        for (; t + DEC_TB <= n; t += DEC_TB)
            dec_scores(DEC_RB, DEC_TB, d, a->q + r * d, (const char *)k + t * ldk * (type ? 2 : 4), ldk,
                       type, s + r * T + t, T, r == 0 ? pfk + t * ldk * (type ? 2 : 4) : 0);
        for (; t < n; t++)
            dec_scores(DEC_RB, 1, d, a->q + r * d, (const char *)k + t * ldk * (type ? 2 : 4), ldk, type,
                       s + r * T + t, T, r == 0 ? pfk + t * ldk * (type ? 2 : 4) : 0);
    }
    for (; r < rows; r++) {
        long t = 0;
        for (; t + DEC_TB <= n; t += DEC_TB)
            dec_scores(1, DEC_TB, d, a->q + r * d, (const char *)k + t * ldk * (type ? 2 : 4), ldk, type,
                       s + r * T + t, T, r == 0 ? pfk + t * ldk * (type ? 2 : 4) : 0);
        for (; t < n; t++)
            dec_scores(1, 1, d, a->q + r * d, (const char *)k + t * ldk * (type ? 2 : 4), ldk, type,
                       s + r * T + t, T, r == 0 ? pfk + t * ldk * (type ? 2 : 4) : 0);
    }
    dec_softmax(a, j0, n, s, T, alpha);
    // acc = alpha·acc + P·V, column blocks of DEC_NV vectors, then the scalar column tail.
    long cv = dvw / AK_VW * AK_VW;
    for (long col = 0; col < cv; col += DEC_NV * AK_VW) {
        long nv = (cv - col) / AK_VW;
        for (r = 0; r + DEC_RB <= rows; r += DEC_RB) {
            float *ac = a->acc + r * dvw;
            const float *p = s + r * T, *al = alpha + r;
            if (nv >= 4) dec_values(DEC_RB, 4, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else if (nv == 3) dec_values(DEC_RB, 3, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else if (nv == 2) dec_values(DEC_RB, 2, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else dec_values(DEC_RB, 1, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
        }
        for (; r < rows; r++) {
            float *ac = a->acc + r * dvw;
            const float *p = s + r * T, *al = alpha + r;
            if (nv >= 4) dec_values(1, 4, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else if (nv == 3) dec_values(1, 3, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else if (nv == 2) dec_values(1, 2, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
            else dec_values(1, 1, n, p, T, v, ldv, type, col, ac, dvw, al, r == 0 ? pfv : 0);
        }
    }
    for (r = 0; r < rows && cv < dvw; r++) {
        float *ac = a->acc + r * dvw;
        for (long c = cv; c < dvw; c++) {
            float o = alpha[r] * ac[c];
            for (long t = 0; t < n; t++) o += s[r * T + t] * dec_scalar(v, t * ldv + c, type);
            ac[c] = o;
        }
    }
}

// The key and value rows `ahead` positions after position t of run i, for prefetching: in
// that run, or (a paged cache's small blocks) in a later one; elements of `width` bytes.
AK_INLINE void dec_prefetch_rows(long nruns, const ak_kv_run *runs, long i, long t, long width, long ahead,
                                 const char *_Nonnull *_Nonnull pfk,
                                 const char *_Nonnull *_Nonnull pfv) {
    long j = i, off = t + ahead;
    while (off >= runs[j].count && j + 1 < nruns) off -= runs[j].count, j++;
    *pfk = (const char *)runs[j].k + off * runs[j].ldk * width;
    *pfv = (const char *)runs[j].v + off * runs[j].ldv * width;
}

AK_INLINE void dec_runs(const ak_decode_rows *a, long nruns, const ak_kv_run *runs, const int type) {
    enum { T = AK_DECODE_TILE };
    const long width = type == AK_KV_F32 ? 4 : 2;
    for (long i = 0; i < nruns; i++) {
        const ak_kv_run *run = runs + i;
        const char *k = run->k, *v = run->v;
        const long ldk = run->ldk * width, ldv = run->ldv * width;
        for (long t = 0; t < run->count; t += T) {
            long n = run->count - t < T ? run->count - t : T;
            const char *pfk, *pfv;
            dec_prefetch_rows(nruns, runs, i, t, width, DEC_PD, &pfk, &pfv);
            dec_tile(a, k + t * ldk, run->ldk, v + t * ldv, run->ldv, run->first + t, n, type, pfk, pfv);
        }
    }
}

AK_TARGET void AK_NAME(ak_decode_partial)(const ak_decode_rows *a, long nruns,
                                          const ak_kv_run *runs) {
    assert(a->kvType >= AK_KV_F32 && a->kvType <= AK_KV_F16 && "ak_decode_partial: kvType");
    if (a->kvType == AK_KV_F32) dec_runs(a, nruns, runs, AK_KV_F32);
    else if (a->kvType == AK_KV_BF16) dec_runs(a, nruns, runs, AK_KV_BF16);
    else dec_runs(a, nruns, runs, AK_KV_F16);
}

#pragma clang assume_nonnull end

#undef DEC_RB
#undef DEC_TB
#undef DEC_NV
#undef DEC_PD
