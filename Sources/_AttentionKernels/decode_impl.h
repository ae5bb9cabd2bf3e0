// Flash-decoding partials (included at the end of kernels_impl.h, once per variant, so it
// shares that file's vector helpers: vf, vload, vsplat, hsum, hmax, vexp2_nonpositive).
//
// ak_decode_partial runs the online softmax of every query row of one key/value group over
// a list of cached-key runs, in tiles of AK_DECODE_TILE positions:
//   S = Q·K_tileᵀ        (each K row is loaded once and dotted with every query row)
//   mask rows to [lo, hi), add ALiBi, m' = max(m, rowmax S), P = 2^(S − m'),
//   l = l·2^(m − m') + rowsum P,   acc = 2^(m − m')·acc + P·V_tile
// so each cached K/V element is read from memory once per step for the whole group.
//
// Memory order. With value rows, a tile's scores read 4 key rows at a time (line i of each)
// and its values 64 columns of every row, then the next 64: the L2 streamer does not follow
// either pattern, so every line is prefetched a tile ahead, which caps one core near 18 GB/s
// (each prefetch holds a miss buffer). With value panels (ak_kv_run.vpanel: an f32 cache)
// the AVX-512 variant reads strictly in address order — each key row whole before the next
// (dec_scores_seq, the query rows from L1), each panel block's rows in turn — and the same
// prefetches then run with the streamer instead of against it: one thread's f32 step went
// from 62–68% to 68–76% of a plain read, two threads' from 80–86% to 84–93%
// (docs/KERNELS.md, "Decoding: memory order and value panels").
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
#elif defined(AK_HAS_F16C)
    return (vf)_mm256_cvtph_ps((__m128i)x);  // so does F16C (the AVX2 variant)
#elif AK_VW == 4 && defined(__aarch64__) && defined(__ARM_NEON)
    return (vf)vcvt_f32_f16(vreinterpret_f16_u16((uint16x4_t)x));  // and AArch64 (fcvtl)
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

// s[r·lds + t] = the horizontal sum of acc[r][t] (the products of the first dv columns) plus
// the scalar tail dv ..< d.
AK_INLINE void dec_store_scores(const int RB, const int TB, vf acc[_Nonnull DEC_RB][DEC_TB], long d, long dv, const float *q,
                                const void *k, long ldk, const int type, float *s, long lds) {
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
    dec_store_scores(RB, TB, acc, d, dv, q, k, ldk, type, s, lds);
}

// The same scores, the keys in address order: each key row is loaded once, whole, and dotted
// with RB ≤ 4 query rows (read from L1) before the next row. NQ > 0: d = NQ·VW, unrolled;
// NQ = 0: any d.
AK_INLINE void dec_scores_seq(const int RB, const int TB, const int NQ, long d, const float *q, const void *k,
                              long ldk, const int type, float *s, long lds, const char *_Nullable pf) {
    const long width = type ? 2 : 4, dv = NQ ? NQ * AK_VW : d / AK_VW * AK_VW;
    vf acc[DEC_RB][DEC_TB];
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int t = 0; t < TB; t++) acc[r][t] = vsplat(0);
    AK_UNROLL for (int t = 0; t < TB; t++) {
        const char *row = (const char *)k + t * ldk * width;
        const char *_Nullable ahead = pf ? pf + t * ldk * width : 0;
#define DEC_KEY_VECTOR(i)                                                                           \
    do {                                                                                            \
        vf kv = dec_load(row, i, type);                                                             \
        if (ahead && (type == AK_KV_F32 || ((i) & (2 * AK_VW - 1)) == 0)) __builtin_prefetch(ahead + (i) * width, 0, 2); \
        AK_UNROLL for (int r = 0; r < RB; r++) acc[r][t] = acc[r][t] + vload(q + r * d + (i)) * kv; \
    } while (0)
        if (NQ) AK_UNROLL for (int i = 0; i < NQ * AK_VW; i += AK_VW) DEC_KEY_VECTOR(i);
        else for (long i = 0; i < dv; i += AK_VW) DEC_KEY_VECTOR(i);
#undef DEC_KEY_VECTOR
    }
    dec_store_scores(RB, TB, acc, d, dv, q, k, ldk, type, s, lds);
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

// ALiBi on row r's visible scores row[lo ..< hi] of a tile from position j0: minus the
// row's slope times the distance from its query position (absolute for symmetric ALiBi).
AK_INLINE void dec_alibi(const ak_decode_rows *a, long r, long j0, long lo, long hi, float *row) {
    const float m = a->slope[r];
    const long i = a->qpos[r];
    for (long c = lo; c < hi; c++) {
        long dist = i - (j0 + c);
        row[c] -= m * (float)(a->symmetric && dist < 0 ? -dist : dist);
    }
}

#define DEC_SG 4             // rows per softmax group
#define DEC_SV (AK_DECODE_TILE / AK_VW)  // vectors per row

// The online-softmax step of rows r0 ..< r0 + G of a tile, in registers (T = AK_DECODE_TILE
// positions, V = DEC_SV vectors a row): s[r·T ..< r·T + T] holds row r's scores (base 2:
// they already carry log2 e) for tile positions 0 ..< n from absolute position j0. Applies ALiBi to each row's visible span, masks the
// rest, adds x·0 of every visible score to *bad (NaN exactly when one is NaN or ±inf: see
// dec_softmax), and sets p[g·V + i] = 2^(s − m') on the span and 0 elsewhere, alpha[r] =
// 2^(m − m'), and m, l (a row with nothing visible above −inf keeps m, l; alpha 1, p 0).
// One pass over the scores, in phases across the G rows: each row is a chain of dependent
// reductions (max, then 2^x, then the sum), and a row at a time left the core waiting on
// them — four passes and a libm exp2f per row took ~8 of ~30 ns per position and KV head.
AK_INLINE void dec_softmax_rows(const ak_decode_rows *a, long r0, const int G, long j0, long n, float *s, vf *p,
                                vf *bad, float *alpha) {
    enum { T = AK_DECODE_TILE, V = DEC_SV };
    vi lane, vis[DEC_SG * DEC_SV];
    AK_UNROLL for (int i = 0; i < AK_VW; i++) lane[i] = i;
    const vi minusInf = (vi)vsplat(-INFINITY);
    vf mx[DEC_SG];
    AK_UNROLL for (int g = 0; g < G; g++) {
        const long r = r0 + g;
        float *row = s + r * T;
        long lo, hi;
        dec_span(a, r, j0, n, &lo, &hi);
        alpha[r] = 1;
        if (lo < hi && a->slope) dec_alibi(a, r, j0, lo, hi, row);
        mx[g] = vsplat(-INFINITY);
        // The span clamped to the tile before narrowing to the lanes' int.
        const int l0 = (int)(lo < 0 ? 0 : lo > T ? T : lo), h0 = (int)(hi < 0 ? 0 : hi > T ? T : hi);
        AK_UNROLL for (int i = 0; i < V; i++) {
            vis[g * V + i] = (lane + AK_VW * i >= l0) & (lane + AK_VW * i < h0);
            p[g * V + i] = (vf)(((vi)vload(row + AK_VW * i) & vis[g * V + i]) | (minusInf & ~vis[g * V + i]));
            mx[g] = vmax(mx[g], p[g * V + i]);
            *bad = *bad + (vf)((vi)(p[g * V + i] * 0.0f) & vis[g * V + i]);
        }
    }
    float mNew[DEC_SG];
    vf sum[DEC_SG];
    AK_UNROLL for (int g = 0; g < G; g++) {
        const float mOld = a->m[r0 + g], rowMax = hmax(mx[g]);
        mNew[g] = rowMax > mOld ? rowMax : mOld;
        sum[g] = vsplat(0);
        AK_UNROLL for (int i = 0; i < V; i++) {
            p[g * V + i] = mNew[g] == -INFINITY
                               ? vsplat(0)
                               : (vf)((vi)vexp2_nonpositive(p[g * V + i] - mNew[g]) & vis[g * V + i]);
            sum[g] = sum[g] + p[g * V + i];
        }
    }
    AK_UNROLL for (int g = 0; g < G; g++) {
        const long r = r0 + g;
        const float mOld = a->m[r];
        if (mNew[g] == -INFINITY) continue;
        // 2^(m − m') with m ≤ m': the same polynomial (a libm call here would spill p).
        alpha[r] = mOld == -INFINITY ? 0.0f : vexp2_nonpositive(vsplat(mOld - mNew[g]))[0];
        a->l[r] = a->l[r] * alpha[r] + hsum(sum[g]);
        a->m[r] = mNew[g];
    }
}

// Mask, ALiBi and the online-softmax step of one tile's scores s[rows × AK_DECODE_TILE]
// (base 2: the scores already carry log2 e), in place: s becomes P (zero outside each row's
// visible span), alpha[r] = 2^(m − m'), and m, l are updated (dec_softmax_rows).
//
// A visible NaN or ±inf score (from a non-finite query, key or value, or an overflowing
// score) sets l[0] to NaN, which survives every later rescale: the caller recomputes the
// item in checked mode (FlashDecode+Checked.swift). The test rides along the softmax's one
// pass: x·0 is NaN exactly when x is NaN or ±inf, and a sum is NaN when one of its terms is.
// Not inlined: inlined, its registers crowded the products' loops, which then spilled row
// addresses (the f16 step 8% slower in SwiftPM's build, which keeps frame pointers).
static __attribute__((noinline, aligned(64))) AK_TARGET void dec_softmax(const ak_decode_rows *a, long j0, long n, float *s,
                                                            float *alpha) {
    enum { T = AK_DECODE_TILE, V = DEC_SV };
    vf bad = vsplat(0), p[DEC_SG * V];
    long r = 0;
    for (; r + DEC_SG <= a->rows; r += DEC_SG) {
        dec_softmax_rows(a, r, DEC_SG, j0, n, s, p, &bad, alpha);
        AK_UNROLL for (int g = 0; g < DEC_SG; g++) AK_UNROLL for (int i = 0; i < V; i++)
            vstore(s + (r + g) * T + AK_VW * i, p[g * V + i]);
    }
    for (; r < a->rows; r++) {
        dec_softmax_rows(a, r, 1, j0, n, s, p, &bad, alpha);
        AK_UNROLL for (int i = 0; i < V; i++) vstore(s + r * T + AK_VW * i, p[i]);
    }
    if (hsum(bad) != 0) a->l[0] = NAN;
}

// Where a tile's values are: blocks of `width` columns (the whole row for row-major values,
// AK_DECODE_VBLOCK in a panel), rows `ld` elements apart within a block, blocks `stride`
// elements apart.
typedef struct dec_vtile {
    const void *v;
    long ld, width, stride;
} dec_vtile;

// The scores of one tile, s[r·T + t] for every row r and position t < n, in row blocks of
// DEC_RB and key blocks of DEC_TB: SCORES(RB, TB, r, t) computes one block. The first row
// block prefetches.
#define DEC_TILE_SCORES(SCORES)                                                 \
    do {                                                                        \
        long r = 0, t;                                                          \
        for (; r + DEC_RB <= rows; r += DEC_RB) {                               \
            for (t = 0; t + DEC_TB <= n; t += DEC_TB) SCORES(DEC_RB, DEC_TB, r, t); \
            for (; t < n; t++) SCORES(DEC_RB, 1, r, t);                         \
        }                                                                       \
        for (; r < rows; r++) {                                                 \
            for (t = 0; t + DEC_TB <= n; t += DEC_TB) SCORES(1, DEC_TB, r, t);  \
            for (; t < n; t++) SCORES(1, 1, r, t);                              \
        }                                                                       \
    } while (0)

// 4 key rows at a time (value rows).
AK_INLINE void dec_tile_scores(const ak_decode_rows *a, const void *k, long ldk, long n, const int type,
                               float *s, const char *pfk) {
    enum { T = AK_DECODE_TILE };
    const long rows = a->rows, d = a->d, kb = ldk * (type ? 2 : 4);
#define DEC_ROWS(RB, TB, r, t)                                                                     \
    dec_scores(RB, TB, d, a->q + r * d, (const char *)k + t * kb, ldk, type, s + r * T + t, T, \
               r == 0 ? pfk + t * kb : 0)
    DEC_TILE_SCORES(DEC_ROWS);
#undef DEC_ROWS
}

// Keys in address order (value panels, AVX-512).
AK_INLINE void dec_tile_scores_seq(const int NQ, const ak_decode_rows *a, const void *k, long ldk, long n,
                                   const int type, float *s, const char *pfk) {
    enum { T = AK_DECODE_TILE };
    const long rows = a->rows, d = a->d, kb = ldk * (type ? 2 : 4);
#define DEC_SEQ(RB, TB, r, t)                                                                          \
    dec_scores_seq(RB, TB, NQ, d, a->q + r * d, (const char *)k + t * kb, ldk, type, s + r * T + t, T, \
                   r == 0 ? pfk + t * kb : 0)
    DEC_TILE_SCORES(DEC_SEQ);
#undef DEC_SEQ
}

// One tile of n ≤ AK_DECODE_TILE positions starting at absolute position j0: keys at k (rows
// ldk apart), values as `vt` says. `pfk`, `pfv`: where the keys and values DEC_PD positions
// ahead are (the next run's when they are past this one), for prefetching.
AK_INLINE void dec_tile(const ak_decode_rows *a, const void *k, long ldk, dec_vtile vt, long j0, long n,
                        const int type, const char *pfk, const char *pfv, const int seq) {
    enum { T = AK_DECODE_TILE };
    const long rows = a->rows, dvw = a->dv, width = type ? 2 : 4;
    float *s = a->scratch, *alpha = a->scratch + rows * T;
    if (!seq) dec_tile_scores(a, k, ldk, n, type, s, pfk);
    else if (a->d == 4 * AK_VW) dec_tile_scores_seq(4, a, k, ldk, n, type, s, pfk);
    else if (a->d == 8 * AK_VW) dec_tile_scores_seq(8, a, k, ldk, n, type, s, pfk);
    else dec_tile_scores_seq(0, a, k, ldk, n, type, s, pfk);
    dec_softmax(a, j0, n, s, alpha);
    if (AK_VW == 16 && seq) {  // panels: each block is one group of DEC_NV vectors
        for (long b0 = 0, blk = 0; b0 < dvw; b0 += AK_DECODE_VBLOCK, blk++) {
            const char *v = (const char *)vt.v + blk * vt.stride * width;
            long r = 0;
            for (; r + DEC_RB <= rows; r += DEC_RB)
                dec_values(DEC_RB, DEC_NV, n, s + r * T, T, v, AK_DECODE_VBLOCK, type, 0, a->acc + r * dvw + b0, dvw,
                           alpha + r, r == 0 ? pfv + blk * vt.stride * width : 0);
            for (; r < rows; r++)
                dec_values(1, DEC_NV, n, s + r * T, T, v, AK_DECODE_VBLOCK, type, 0, a->acc + r * dvw + b0, dvw,
                           alpha + r, 0);
        }
        return;
    }
    // acc = alpha·acc + P·V, block by block: column groups of DEC_NV vectors, then the
    // scalar column tail.
    for (long b0 = 0, blk = 0; b0 < dvw; b0 += vt.width, blk++) {
        const char *v = (const char *)vt.v + blk * vt.stride * width;
        const char *pf = pfv + blk * vt.stride * width;
        const long w = dvw - b0 < vt.width ? dvw - b0 : vt.width, cv = w / AK_VW * AK_VW;
        long r;
        for (long col = 0; col < cv; col += DEC_NV * AK_VW) {
            long nv = (cv - col) / AK_VW;
#define DEC_VALUES(RB)                                                                                  \
    do {                                                                                                \
        float *ac = a->acc + r * dvw + b0;                                                              \
        const float *p = s + r * T, *al = alpha + r;                                                    \
        const char *_Nullable f = r == 0 ? pf : 0;                                                      \
        if (nv >= 4) dec_values(RB, 4, n, p, T, v, vt.ld, type, col, ac, dvw, al, f);                \
        else if (nv == 3) dec_values(RB, 3, n, p, T, v, vt.ld, type, col, ac, dvw, al, f);           \
        else if (nv == 2) dec_values(RB, 2, n, p, T, v, vt.ld, type, col, ac, dvw, al, f);           \
        else dec_values(RB, 1, n, p, T, v, vt.ld, type, col, ac, dvw, al, f);                        \
    } while (0)
            for (r = 0; r + DEC_RB <= rows; r += DEC_RB) DEC_VALUES(DEC_RB);
            for (; r < rows; r++) DEC_VALUES(1);
#undef DEC_VALUES
        }
        for (r = 0; r < rows && cv < w; r++) {
            float *ac = a->acc + r * dvw + b0;
            for (long c = cv; c < w; c++) {
                float o = alpha[r] * ac[c];
                for (long t = 0; t < n; t++) o += s[r * T + t] * dec_scalar(v, t * vt.ld + c, type);
                ac[c] = o;
            }
        }
    }
}

// Element offset, from run->v, of the value row of run position t (for a panel: of its
// first block).
AK_INLINE long dec_value_offset(const ak_kv_run *run, long t, long dv) {
    if (!run->vpanel) return t * run->ldv;
    const long row = run->vrow + t, P = run->vpanel;
    return row / P * P * dv + row % P * AK_DECODE_VBLOCK;
}

// The key and value rows `ahead` positions after position t of run i, for prefetching: in
// that run, or (a paged cache's small blocks) in a later one; elements of `width` bytes.
AK_INLINE void dec_prefetch_rows(long nruns, const ak_kv_run *runs, long i, long t, long width, long ahead, long dv,
                                 const char *_Nonnull *_Nonnull pfk,
                                 const char *_Nonnull *_Nonnull pfv) {
    long j = i, off = t + ahead;
    while (off >= runs[j].count && j + 1 < nruns) off -= runs[j].count, j++;
    *pfk = (const char *)runs[j].k + off * runs[j].ldk * width;
    *pfv = (const char *)runs[j].v + dec_value_offset(runs + j, off, dv) * width;
}

AK_INLINE void dec_runs(const ak_decode_rows *a, long nruns, const ak_kv_run *runs, const int type) {
    enum { T = AK_DECODE_TILE };
    const long width = type == AK_KV_F32 ? 4 : 2, dv = a->dv;
    for (long i = 0; i < nruns; i++) {
        const ak_kv_run *run = runs + i;
        const long P = run->vpanel;
        assert((!P || dv % AK_DECODE_VBLOCK == 0) && "ak_decode_partial: value panels need dv % AK_DECODE_VBLOCK == 0");
        for (long t = 0, n; t < run->count; t += n) {
            n = run->count - t < T ? run->count - t : T;
            if (P && P - (run->vrow + t) % P < n) n = P - (run->vrow + t) % P;  // within one panel
            // Panels: a whole number of panels ahead, so that the prefetched rows sit at the
            // same rows of a later panel as the tile's (a tile never leaves its panel).
            const long ahead = P ? (DEC_PD + P - 1) / P * P : DEC_PD;
            const char *pfk, *pfv;
            dec_prefetch_rows(nruns, runs, i, t, width, ahead, dv, &pfk, &pfv);
            const char *v = (const char *)run->v + dec_value_offset(run, t, dv) * width;
            dec_vtile vt = P ? (dec_vtile){v, AK_DECODE_VBLOCK, AK_DECODE_VBLOCK, P * AK_DECODE_VBLOCK}
                             : (dec_vtile){v, run->ldv, dv, 0};
            // Keys in address order where the values are panels too (AVX-512; with 16
            // registers the 4-row interleave keeps its fewer loads).
            const char *k = (const char *)run->k + t * run->ldk * width;
            if (AK_VW == 16 && P) dec_tile(a, k, run->ldk, vt, run->first + t, n, type, pfk, pfv, 1);
            else dec_tile(a, k, run->ldk, vt, run->first + t, n, type, pfk, pfv, 0);
        }
    }
}

// Aligned to a cache line, so that where the linker happens to place it does not move its
// loops across 64-byte boundaries: from one build to the next (changes elsewhere in the
// package), the f16 step moved by 10–15% with the function's start address mod 64.
AK_TARGET __attribute__((aligned(64))) void AK_NAME(ak_decode_partial)(const ak_decode_rows *a, long nruns,
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
#undef DEC_SG
#undef DEC_SV
