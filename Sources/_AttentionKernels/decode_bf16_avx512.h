// Flash-decoding partial on a bf16 cache with `vdpbf16ps` (ak_half_table.decode_partial_bf16
// of the AVX512-BF16 variant). Included by kernels_avx512.c after kernels_impl.h, so it
// shares the AVX-512 decode helpers (dec_span, dec_alibi, dec_hsum4); its own
// functions add the avx512bw and avx512bf16 features, and are reached only through the
// AVX512-BF16 reduced-precision table, which exists only on CPUs that have them.
//
// Per tile of n ≤ AK_DECODE_BF16_TILE positions, for all the group's query rows:
//   S = (Q·K_tileᵀ)·pairScale   a 64-byte load of a cached K row is 16 pairs, dotted with
//                               the query's pairs (two multiply-adds per fp32 lane)
//   mask, ALiBi, online softmax in fp32 (dbf_softmax: the widening path's rule, in one pass)
//   acc = alpha·acc + P·V_tile  P rounded to bf16 pairs of consecutive positions
//                               (p_t, p_t+1); V pairs (v_t[c], v_t+1[c]) made by
//                               interleaving two cached rows: in-lane unpacks
//                               (vpunpck[lh]wd) for whole 64-column groups, whose
//                               accumulators then hold a permuted column order for the
//                               whole call (dbf_acc_order), vpermt2w for the rest. The
//                               unpacks took the step from ~16 to ~15 ns per position and
//                               KV head with the cache in L2 (D = 128, 4 query rows).
// Against the widening path (decode_impl.h): half the multiply instructions and no
// conversions. The price: the query is rounded to bf16 (qPairs; exact when it was bf16) and
// so is P (its row sums l stay fp32), as in the fused bf16 forward and FlashAttention.
//
// Register budget (32 zmm): scores 4 rows × 4 keys = 16 accumulators + 4 K + 1 Q = 21;
// P·V 4 rows × 4 vectors (64 columns) = 16 accumulators + 4 V rows + 4 pair vectors
// + 2 permutation indices + 1 broadcast = 27.
#include "half_variants.h"

#pragma clang assume_nonnull begin

#define DBF_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,fma")))
#define DBF_INLINE static inline __attribute__((always_inline)) DBF_TARGET
#define DBF_RB 4
#define DBF_TB 4
#define DBF_NB 2

// The low n bits set (0 ≤ n ≤ 32).
DBF_INLINE uint32_t dbf_bits(long n) { return n >= 32 ? 0xFFFFFFFFu : (1u << n) - 1; }

// The 16 horizontal sums of v[0..15] as one vector (lane i = Σ v[i]): a transposing tree,
// in-lane first (unpack 32-bit, then 64-bit halves of each 128-bit lane: 36 cheap operations
// leave four vectors of per-lane partial sums), then two levels of 128-bit shuffles across
// lanes (9 operations). With a generic shuffle tree the compiler's cross-lane permutes made
// these sums a quarter of the step.
DBF_INLINE vf dbf_hsum16(const __m512 *v) {
    __m512 x[8], y[4];
    AK_UNROLL for (int i = 0; i < 8; i++)
        x[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    AK_UNROLL for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(x[2 * i]), b = _mm512_castps_pd(x[2 * i + 1]);
        y[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    // y[k]'s 128-bit lane j holds lane j's partial sums of v[4k ..< 4k + 4].
    __m512 p = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], 0x88), _mm512_shuffle_f32x4(y[0], y[1], 0xDD));
    __m512 q = _mm512_add_ps(_mm512_shuffle_f32x4(y[2], y[3], 0x88), _mm512_shuffle_f32x4(y[2], y[3], 0xDD));
    return (vf)_mm512_add_ps(_mm512_shuffle_f32x4(p, q, 0x88), _mm512_shuffle_f32x4(p, q, 0xDD));
}

// s[r·lds + t] = pairScale·(q_r · k_t) for RB rows × TB keys: q rows of `qw` = ceil(d/2)
// pair words, key t's d bf16 elements at kr[t]; the last partial 32-element chunk is loaded
// with a mask (nothing past element d is read). pf[t]: a row to prefetch (NULL: none).
DBF_INLINE void dbf_scores(const int RB, const int TB, long d, const uint32_t *q, long qw,
                           const uint16_t *_Nonnull const *_Nonnull kr, float scale, float *s, long lds,
                           const uint16_t *_Nonnull const *_Nullable pf) {
    __m512 acc[DBF_RB][DBF_TB];
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int t = 0; t < TB; t++) acc[r][t] = _mm512_setzero_ps();
    long full = d / 32, chunks = (d + 31) / 32;
    for (long c = 0; c < chunks; c++) {
        // Full chunks load plainly, the last partial one with masks.
        __mmask32 km = c < full ? (__mmask32)~0u : (__mmask32)dbf_bits(d - 32 * c);
        __mmask16 qm = c < full ? (__mmask16)0xFFFF : (__mmask16)dbf_bits(qw - 16 * c);
        __m512bh kv[DBF_TB];
        AK_UNROLL for (int t = 0; t < TB; t++) {
            kv[t] = c < full ? (__m512bh)_mm512_loadu_si512(kr[t] + 32 * c)
                             : (__m512bh)_mm512_maskz_loadu_epi16(km, kr[t] + 32 * c);
            if (pf) __builtin_prefetch(pf[t] + 32 * c, 0, 2);
        }
        AK_UNROLL for (int r = 0; r < RB; r++) {
            __m512bh qv = c < full ? (__m512bh)_mm512_loadu_si512(q + r * qw + 16 * c)
                                   : (__m512bh)_mm512_maskz_loadu_epi32(qm, q + r * qw + 16 * c);
            AK_UNROLL for (int t = 0; t < TB; t++) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], qv, kv[t]);
        }
    }
    if (RB == 4 && TB == 4) {  // row r's four scores are lanes 4r ..< 4r + 4
        vf sums = dbf_hsum16(&acc[0][0]) * scale;
        _mm_storeu_ps(s, _mm512_extractf32x4_ps((__m512)sums, 0));
        _mm_storeu_ps(s + lds, _mm512_extractf32x4_ps((__m512)sums, 1));
        _mm_storeu_ps(s + 2 * lds, _mm512_extractf32x4_ps((__m512)sums, 2));
        _mm_storeu_ps(s + 3 * lds, _mm512_extractf32x4_ps((__m512)sums, 3));
        return;
    }
    AK_UNROLL for (int r = 0; r < RB; r++) {
        float x[DBF_TB];
        if (TB == 4) dec_hsum4((const vf *)acc[r], x);
        else AK_UNROLL for (int t = 0; t < TB; t++) x[t] = _mm512_reduce_add_ps(acc[r][t]);
        AK_UNROLL for (int t = 0; t < TB; t++) s[r * lds + t] = x[t] * scale;
    }
}

// acc[r][col ..< col + w] = alpha[r]·acc + Σ_u P(r, u)·(v_2u, v_2u+1)[col ...] for RB rows
// and NB 32-column blocks holding w ≤ 32·NB valid columns (masked beyond: nothing past
// column col + w is read or written). P(r, u) is the pair word pp[r·ldp + u]; position t's
// value row is at vr[t]; n positions, an odd last one paired with zeros. pf[t]: a row to
// prefetch (NULL: none).
DBF_INLINE void dbf_values(const int RB, const int NB, long n, const float *pp, long ldp,
                           const uint16_t *_Nonnull const *_Nonnull vr, long col, long w, float *acc, long lda,
                           const float *alpha, const uint16_t *_Nonnull const *_Nullable pf) {
    __m512 o[DBF_RB][2 * DBF_NB];
    __mmask32 vm[DBF_NB];
    __mmask16 am[2 * DBF_NB];
    AK_UNROLL for (int b = 0; b < NB; b++) {
        long cb = w - 32 * b;
        cb = cb < 0 ? 0 : cb > 32 ? 32 : cb;
        vm[b] = (__mmask32)dbf_bits(cb);
        am[2 * b] = (__mmask16)dbf_bits(cb < 16 ? cb : 16);
        am[2 * b + 1] = (__mmask16)dbf_bits(cb > 16 ? cb - 16 : 0);
    }
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int x = 0; x < 2 * NB; x++)
        o[r][x] = _mm512_mul_ps(_mm512_set1_ps(alpha[r]),
                                _mm512_maskz_loadu_ps(am[x], acc + r * lda + col + 16 * x));
    // Words (a[i], b[i]) for i = 0..15 and 16..31: the pairs of columns col + i.
    const __m512i lo = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7,
                                        38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
    const int whole = w == 32 * NB;  // no column masks needed
    // A whole 64-column group interleaves with in-lane unpacks, which are cheaper than
    // vpermt2w, and so holds its accumulators in the unpacks' column order (dbf_acc_order).
    const int unpacked = NB == 2 && whole;
    for (long u = 0; 2 * u < n; u++) {
        int second = 2 * u + 1 < n;
        const uint16_t *v0 = vr[2 * u] + col, *v1 = second ? vr[2 * u + 1] + col : v0;
        __m512bh vp[2 * DBF_NB];
        AK_UNROLL for (int b = 0; b < NB; b++) {
            __m512i x0 = whole ? _mm512_loadu_si512(v0 + 32 * b) : _mm512_maskz_loadu_epi16(vm[b], v0 + 32 * b);
            __m512i x1 = !second ? _mm512_setzero_si512()
                         : whole ? _mm512_loadu_si512(v1 + 32 * b)
                                 : _mm512_maskz_loadu_epi16(vm[b], v1 + 32 * b);
            if (pf) {
                __builtin_prefetch(pf[2 * u] + col + 32 * b, 0, 2);
                if (second) __builtin_prefetch(pf[2 * u + 1] + col + 32 * b, 0, 2);
            }
            if (unpacked) {
                vp[2 * b] = (__m512bh)_mm512_unpacklo_epi16(x0, x1);
                vp[2 * b + 1] = (__m512bh)_mm512_unpackhi_epi16(x0, x1);
            } else {
                vp[2 * b] = (__m512bh)_mm512_permutex2var_epi16(x0, lo, x1);
                vp[2 * b + 1] = (__m512bh)_mm512_permutex2var_epi16(x0, hi, x1);
            }
        }
        AK_UNROLL for (int r = 0; r < RB; r++) {
            uint32_t word;
            memcpy(&word, pp + r * ldp + u, sizeof word);
            __m512bh pb = (__m512bh)_mm512_set1_epi32((int)word);
            AK_UNROLL for (int x = 0; x < 2 * NB; x++) o[r][x] = _mm512_dpbf16_ps(o[r][x], pb, vp[x]);
        }
    }
    AK_UNROLL for (int r = 0; r < RB; r++) AK_UNROLL for (int x = 0; x < 2 * NB; x++)
        _mm512_mask_storeu_ps(acc + r * lda + col + 16 * x, am[x], o[r][x]);
}

// The unpacks' column order. Within each whole 64-column group of an accumulator row (the
// first dv/64·64 columns), each 32-column block holds in lane 4j + k of its first vector
// column 8j + k and in its second column 8j + 4 + k (j, k < 4): an in-lane unpack of two
// value rows pairs up columns 8j ..< 8j + 4 (low) and 8j + 4 ..< 8j + 8 (high) of each
// 128-bit lane. dbf_acc_order(…, 1) puts rows × dv accumulators into that order,
// dbf_acc_order(…, 0) back into column order.
DBF_INLINE void dbf_acc_order(float *acc, long rows, long dv, int toUnpacked) {
    static const int32_t unpack[2][16] = {{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
                                          {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31}};
    static const int32_t columns[2][16] = {{0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23},
                                           {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31}};
    const int32_t(*idx)[16] = toUnpacked ? unpack : columns;
    const __m512i i0 = _mm512_loadu_si512(idx[0]), i1 = _mm512_loadu_si512(idx[1]);
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < dv / 64 * 64; c += 32) {
            float *x = acc + r * dv + c;
            __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
            _mm512_storeu_ps(x, _mm512_permutex2var_ps(a, i0, b));
            _mm512_storeu_ps(x + 16, _mm512_permutex2var_ps(a, i1, b));
        }
}

// dec_softmax (decode_impl.h) for a tile of this kernel, one row at a time in registers:
// ALiBi, the visible span, the non-finite test (l[0] = NaN), the max, p = 2^(s − m'), the
// row sum, and P rounded to pairs stored in place — row r's first T/2 words become
// (p_2u, p_2u+1), zero outside the span (alpha from libm exp2f here, from the polynomial
// there: both within a float spacing). The same rule as dec_softmax_rows, written with
// AVX-512 masks: with 4 vectors a row, that generic form (vector masks, rows in groups) ran
// 2–10% slower here, where it is 1–7% faster for the widening kernel's 2.
DBF_INLINE void dbf_softmax(const ak_decode_rows *a, long j0, long n, float *s, float *alpha) {
    enum { T = AK_DECODE_BF16_TILE, V = AK_DECODE_BF16_TILE / 16 };
    const __m512 zero = _mm512_setzero_ps(), minusInf = _mm512_set1_ps(-INFINITY);
    __m512 bad = zero;  // Σ x·0 over visible scores: NaN exactly when one is NaN or ±inf
    for (long r = 0; r < a->rows; r++) {
        float *row = s + r * T;
        long lo, hi;
        dec_span(a, r, j0, n, &lo, &hi);
        alpha[r] = 1;
        if (lo < hi && a->slope) dec_alibi(a, r, j0, lo, hi, row);
        __m512 x[V], mx = minusInf;
        __mmask16 vis[V];
        AK_UNROLL for (int i = 0; i < V; i++) {
            long a0 = lo - 16 * i, b0 = hi - 16 * i;  // the span within lanes 16i ..< 16i + 16
            vis[i] = (__mmask16)(dbf_bits(b0 < 0 ? 0 : b0 > 16 ? 16 : b0) & ~dbf_bits(a0 < 0 ? 0 : a0 > 16 ? 16 : a0));
            x[i] = _mm512_mask_loadu_ps(minusInf, vis[i], row + 16 * i);
            mx = _mm512_max_ps(mx, x[i]);
            bad = _mm512_add_ps(bad, _mm512_maskz_mul_ps(vis[i], x[i], zero));
        }
        const float mOld = a->m[r], rowMax = _mm512_reduce_max_ps(mx), mNew = rowMax > mOld ? rowMax : mOld;
        if (mNew == -INFINITY) {  // nothing visible, or only −inf scores
            AK_UNROLL for (int i = 0; i < V / 2; i++) _mm512_storeu_ps(row + 16 * i, zero);
            continue;
        }
        __m512 sum = zero;
        AK_UNROLL for (int i = 0; i < V; i++) {
            x[i] = _mm512_maskz_mov_ps(vis[i], (__m512)vexp2_nonpositive((vf)_mm512_sub_ps(x[i], _mm512_set1_ps(mNew))));
            sum = _mm512_add_ps(sum, x[i]);
        }
        AK_UNROLL for (int i = 0; i < V / 2; i++)
            _mm512_storeu_si512(row + 16 * i, (__m512i)_mm512_cvtne2ps_pbh(x[2 * i + 1], x[2 * i]));
        alpha[r] = mOld == -INFINITY ? 0.0f : exp2f(mOld - mNew);
        a->l[r] = a->l[r] * alpha[r] + _mm512_reduce_add_ps(sum);
        a->m[r] = mNew;
    }
    if (_mm512_reduce_add_ps(bad) != 0) a->l[0] = NAN;
}

// One tile of n ≤ AK_DECODE_BF16_TILE consecutive positions from absolute position j0,
// position t's key and value rows at kr[t] and vr[t] (the scores' row stride is
// AK_DECODE_BF16_TILE); pk, pv: the next tile's rows, prefetched meanwhile (entries ≥ n may
// be any readable address). Row addresses rather than a base and a stride let a tile run
// across the blocks of a paged cache, so 16-position blocks still make 64-position tiles.
// A tile twice the widening path's halves the per-tile work (softmax bookkeeping,
// accumulator load/store), which weighs more here since the products take half the
// instructions.
DBF_INLINE void dbf_tile(const ak_decode_rows *a, const uint16_t *_Nonnull const *_Nonnull kr,
                         const uint16_t *_Nonnull const *_Nonnull vr, long j0, long n,
                         const uint16_t *_Nonnull const *_Nonnull pk, const uint16_t *_Nonnull const *_Nonnull pv) {
    enum { T = AK_DECODE_BF16_TILE };
    const long rows = a->rows, d = a->d, dv = a->dv, qw = (d + 1) / 2;
    const uint32_t *q = a->qPairs;
    const float scale = a->pairScale;
    float *s = a->scratch, *alpha = a->scratch + rows * T;
    long r = 0;
    for (; r + DBF_RB <= rows; r += DBF_RB) {
        const uint16_t *_Nonnull const *_Nullable pf = r == 0 ? pk : 0;
        long t = 0;
        for (; t + DBF_TB <= n; t += DBF_TB)
            dbf_scores(DBF_RB, DBF_TB, d, q + r * qw, qw, kr + t, scale, s + r * T + t, T, pf ? pf + t : 0);
        for (; t < n; t++)
            dbf_scores(DBF_RB, 1, d, q + r * qw, qw, kr + t, scale, s + r * T + t, T, pf ? pf + t : 0);
    }
    for (; r < rows; r++) {
        const uint16_t *_Nonnull const *_Nullable pf = r == 0 ? pk : 0;
        long t = 0;
        for (; t + DBF_TB <= n; t += DBF_TB)
            dbf_scores(1, DBF_TB, d, q + r * qw, qw, kr + t, scale, s + r * T + t, T, pf ? pf + t : 0);
        for (; t < n; t++) dbf_scores(1, 1, d, q + r * qw, qw, kr + t, scale, s + r * T + t, T, pf ? pf + t : 0);
    }
    dbf_softmax(a, j0, n, s, alpha);
    for (long col = 0; col < dv; col += 32 * DBF_NB) {
        long w = dv - col < 32 * DBF_NB ? dv - col : 32 * DBF_NB;
        for (r = 0; r + DBF_RB <= rows; r += DBF_RB) {
            float *ac = a->acc + r * dv;
            const uint16_t *_Nonnull const *_Nullable pf = r == 0 ? pv : 0;
            if (w > 32) dbf_values(DBF_RB, 2, n, s + r * T, T, vr, col, w, ac, dv, alpha + r, pf);
            else dbf_values(DBF_RB, 1, n, s + r * T, T, vr, col, w, ac, dv, alpha + r, pf);
        }
        for (; r < rows; r++) {
            float *ac = a->acc + r * dv;
            const uint16_t *_Nonnull const *_Nullable pf = r == 0 ? pv : 0;
            if (w > 32) dbf_values(1, 2, n, s + r * T, T, vr, col, w, ac, dv, alpha + r, pf);
            else dbf_values(1, 1, n, s + r * T, T, vr, col, w, ac, dv, alpha + r, pf);
        }
    }
}

// The row addresses of the next tile: up to AK_DECODE_BF16_TILE consecutive positions from
// row *t of run *i, across runs that continue one another (a paged cache's blocks); advances
// (*i, *t) past them. Returns the count (0 at the end) and the first position in *j0.
DBF_INLINE long dbf_gather(long nruns, const ak_kv_run *runs, long *i, long *t, const uint16_t *_Nonnull *_Nonnull kr,
                           const uint16_t *_Nonnull *_Nonnull vr, long *j0) {
    enum { T = AK_DECODE_BF16_TILE };
    while (*i < nruns && *t >= runs[*i].count) ++*i, *t = 0;
    if (*i >= nruns) return 0;
    *j0 = runs[*i].first + *t;
    long n = 0;
    while (n < T) {
        const ak_kv_run *run = runs + *i;
        long take = run->count - *t < T - n ? run->count - *t : T - n;
        const uint16_t *k = (const uint16_t *)run->k + *t * run->ldk, *v = (const uint16_t *)run->v + *t * run->ldv;
        for (long x = 0; x < take; x++) kr[n + x] = k + x * run->ldk, vr[n + x] = v + x * run->ldv;
        n += take, *t += take;
        if (*t < run->count) break;  // the tile is full
        int continues = *i + 1 < nruns && runs[*i + 1].first == run->first + run->count;
        ++*i, *t = 0;
        if (!continues) break;
    }
    return n;
}

// Aligned to a cache line, as ak_decode_partial (decode_impl.h).
DBF_TARGET __attribute__((aligned(64))) void ak_decode_partial_bf16_avx512(const ak_decode_rows *a, long nruns,
                                                                         const ak_kv_run *runs) {
    assert(a->kvType == AK_KV_BF16 && a->qPairs && "ak_decode_partial_bf16: a bf16 cache and qPairs");
    for (long r = 0; r < nruns; r++) assert(!runs[r].vpanel && "ak_decode_partial_bf16: value rows, not panels");
    enum { T = AK_DECODE_BF16_TILE };
    // Two sets of row addresses: the tile being computed and the next one (prefetched).
    const uint16_t *kr[2][T], *vr[2][T];
    long n[2], j0[2] = {0, 0}, i = 0, t = 0;
    int cur = 0;
    dbf_acc_order(a->acc, a->rows, a->dv, 1);
    n[0] = dbf_gather(nruns, runs, &i, &t, kr[0], vr[0], &j0[0]);
    while (n[cur] > 0) {
        int next = cur ^ 1;
        n[next] = dbf_gather(nruns, runs, &i, &t, kr[next], vr[next], &j0[next]);
        for (long x = n[next]; x < n[cur]; x++) kr[next][x] = kr[cur][x], vr[next][x] = vr[cur][x];
        dbf_tile(a, kr[cur], vr[cur], j0[cur], n[cur], kr[next], vr[next]);
        cur = next;
    }
    dbf_acc_order(a->acc, a->rows, a->dv, 0);
}

#pragma clang assume_nonnull end

#undef DBF_TARGET
#undef DBF_INLINE
#undef DBF_RB
#undef DBF_TB
#undef DBF_NB
