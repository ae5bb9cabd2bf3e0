// SIMD micro-kernels for SwiftAttention.
//
// Everything here works on whole tiles or row blocks: Swift cannot inline across the C
// boundary, so each call must carry enough work to hide the call. Each kernel exists three
// times (AVX-512, AVX2+FMA, portable); a caller chooses a variant's table (`ak_kernels`) once
// per call and passes it down; see dispatch.c.
//
// Conventions: row-major float32, `ld*` arguments are row strides in elements.
#ifndef ATTENTION_KERNELS_H
#define ATTENTION_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Pointers are non-null unless marked _Nullable.
#pragma clang assume_nonnull begin

/// Instruction-set variants, in increasing order of capability.
typedef enum {
    AK_ISA_PORTABLE = 0,
    AK_ISA_AVX2 = 1,
    AK_ISA_AVX512 = 2,
} ak_isa;

/// The best variant this CPU supports.
int ak_detected_isa(void);

/// Element types of cached keys and values (decode_partial).
enum { AK_KV_F32 = 0, AK_KV_BF16 = 1, AK_KV_F16 = 2 };

/// Key positions per tile of decode_partial.
#define AK_DECODE_TILE 32

/// Value columns per block of a value panel (ak_kv_run.vpanel).
#define AK_DECODE_VBLOCK 64

/// A run of cached keys and values for decode_partial: `count` consecutive positions from
/// absolute position `first`; position first + t has its key at element t·ldk of `k`
/// (elements of the call's kvType). Values are either rows (`vpanel` 0: the value of
/// position first + t at element t·ldv of `v`) or panels (`vpanel` = P > 0, dv a multiple of
/// AK_DECODE_VBLOCK, `ldv` unused): P positions per panel, each panel P·dv elements stored
/// block by block — columns c ..< c + AK_DECODE_VBLOCK of its P rows, then the next block —
/// and panels one after another; `v` is the panel holding position `first`, at row `vrow`
/// of it. A pass over a block of a panel then reads memory in order, which the hardware
/// prefetchers follow (docs/KERNELS.md, "Decoding: memory order and value panels").
typedef struct ak_kv_run {
    const void *k;
    const void *v;
    long ldk, ldv;
    long first, count;
    long vpanel, vrow;
} ak_kv_run;

/// The query rows of one key/value group and their online-softmax state (decode_partial).
typedef struct ak_decode_rows {
    /// Query rows, head dimension of q/k, of v.
    long rows, d, dv;
    /// rows × d (row stride d), already multiplied by scale·log2 e.
    const float *q;
    /// Row r sees absolute key positions lo[r] ..< hi[r].
    const long *lo, *hi;
    /// ALiBi: per row slope·log2 e and aligned query position (both NULL: no ALiBi); the
    /// bias is −slope·(qpos − j), or −slope·|qpos − j| when `symmetric`.
    const float *_Nullable slope;
    const long *_Nullable qpos;
    int symmetric;
    /// AK_KV_F32, AK_KV_BF16 or AK_KV_F16.
    int kvType;
    /// Running max (base 2), running sum, and accumulator rows × dv (row stride dv).
    float *m, *l, *acc;
    /// rows × (AK_DECODE_TILE + 1) floats of scratch.
    float *scratch;
    /// Read only by `ak_half_table.decode_partial_bf16` (NULL / 0 for decode_partial): the
    /// query rows rounded to bf16 pairs, *unscaled* (row stride ceil(d/2) words; see
    /// `pairs_from_f32`), and the factor scale·log2 e applied to each fp32 score q·k. That
    /// kernel does not read `q`, so a bf16 query is used exactly.
    const uint32_t *_Nullable qPairs;
    float pairScale;
} ak_decode_rows;

/// The kernels of one instruction-set variant, as function pointers. A caller picks a table
/// once per call (`ak_kernels`) and calls through it: nothing in this target reads or writes
/// process-wide state, so concurrent calls may use different variants.
typedef struct ak_table {
    /// General matrix multiply: C = alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ.
    /// op(A) is M×K, op(B) is K×N, C is M×N. Single-threaded; callers split work.
    void (*sgemm)(int transA, int transB, long M, long N, long K, float alpha,
                  const float *A, long lda, const float *B, long ldb,
                  float beta, float *C, long ldc);

    /// Full-tile product used by the fused kernel:
    /// C[rows × cols] = (rowScale ? rowScale[r]·C : accumulate ? C : 0) + A·B
    /// where B is depth × cols with row stride ldb, and A (rows × depth) is
    /// - shape 0 (S = Q·Kᵀ): packed by pack_panels, A(r, k) = a[(r/12)·12·depth + 12k + r%12]
    ///   (`lda` unused), `rows` a multiple of 12;
    /// - shape 1 (O += P·V): row-major, A(r, k) = a[r·lda + k], `rows` a multiple of 12.
    /// `cols` must be a multiple of 16 (every variant's vector width divides it). B rows are
    /// read for exactly `cols` floats; C is written for exactly rows × cols. The contract is
    /// asserted (debug builds).
    void (*tile_gemm)(int shape, long rows, long cols, long depth,
                      const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, int accumulate, const float *_Nullable rowScale);

    /// Packs x[rows × cols] (row stride ldx) times `scale` into 12-row panels, k-major
    /// (the A layout of tile_gemm shape 0), zero rows from `rows` to `rowsPadded`
    /// (a multiple of 12, asserted).
    void (*pack_panels)(long rows, long rowsPadded, long cols, const float *x, long ldx,
                        float scale, float *out);

    /// Copies K[cols × d] (row stride ldk) transposed into kt[d × colsPadded] (row stride
    /// ldkt), zero-filling columns cols..<colsPadded.
    void (*pack_transposed)(long cols, long d, const float *k, long ldk,
                            float *kt, long ldkt, long colsPadded);

    /// Copies x[rows × cols] (row stride ldx) scaled by `scale` into y (row stride ldy),
    /// zero-filling columns cols..<colsPadded.
    void (*pack_scaled)(long rows, long cols, const float *x, long ldx, float scale,
                        float *y, long ldy, long colsPadded);

    /// One online-softmax step over a tile of scores s[rows × cols] (row stride lds), in
    /// place, in base 2 (the caller folds log2 e into the scores): for each row,
    /// m' = max(m, max_j s), p_j = 2^(s_j − m'), l = l·2^(m − m') + Σ p_j, s_j ← p_j,
    /// alpha[r] = 2^(m − m'). With `natural` set the scores are natural-log units and every
    /// 2^x above is e^x (scores beyond ±FLT_MAX/log2 e, e.g. a −3.4e38 additive mask, stay
    /// finite). Rows that have seen only −inf keep m = −inf, p = 0, alpha = 1
    /// (so a fully masked row never produces NaN). When `spans` is not NULL, row r considers
    /// only columns spans[2r] ..< spans[2r+1] and zeroes the rest of its `cols` columns.
    void (*online_softmax)(long rows, long cols, float *s, long lds,
                           float *rowMax, float *rowSum, float *alpha,
                           const long *_Nullable spans, int natural);

    /// Plain row softmax in place (reference path): rows with no finite score become all
    /// zeros.
    void (*softmax_rows)(long rows, long cols, float *s, long lds);

    /// y[i] = exp(x[i]) with ~1 ulp relative error for results in the normal range;
    /// exp(−inf) = 0, results below FLT_MIN flush to 0, x > 88.72 gives +inf.
    void (*exp)(long n, const float *x, float *y);

    /// s[r][c] += −slope·|i − j| (symmetric) or −slope·(i − j) (causal form), with
    /// i = qStart + r + shift and j = kStart + c: ALiBi computed on the fly.
    void (*add_alibi)(long rows, long cols, float *s, long lds, float slope,
                      long qStart, long kStart, long shift, int symmetric);

    /// out[r·ldo + c] = o[r·ldoi + c] / l[r] for c < cols, or 0 where l[r] == 0 (NaN where
    /// l[r] is NaN: a row the checked mode marked).
    void (*finalize_rows)(long rows, long cols, const float *o, long ldoi,
                          const float *rowSum, float *out, long ldo);

    /// One pass over x[rows × cols] (row stride ldx): sets bad[r] = 1 for every row holding
    /// a NaN or ±inf (other entries of `bad` are left alone) and returns the largest |x| over
    /// the rows without one (0 when there are none). Screens attention inputs for the
    /// non-finite rule (docs/KERNELS.md).
    float (*scan_rows)(long rows, long cols, const float *x, long ldx, unsigned char *bad);

    /// Packs op(B) (K×N; B is N×K when transB, a layer's [out, in] weight) into AK_PANEL-
    /// column k-major panels, zero-padded: packed[p·K·32 + k·32 + t] = op(B)(k, 32p + t).
    /// The layout is the same for every variant; size: ak_packed_b_floats(K, N).
    void (*pack_b)(int transB, long K, long N, const float *B, long ldb, float *packed);

    /// C[M×N] = (accumulate ? C : 0) + A·op(B), A row-major M×K (row stride lda), op(B)
    /// packed by pack_b. C is not read when accumulate is 0 (it needs no zero-fill).
    /// Single-threaded; callers split rows.
    void (*sgemm_packed)(long M, long N, long K, const float *A, long lda,
                         const float *packed, int accumulate, float *C, long ldc);

    /// Flash-decoding partial: continues the online softmax (m, l, acc) of every query row of
    /// `rows` over the cached positions of `runs`, in order (see decode_impl.h). Each K/V
    /// element is read once for all rows. Rows that see nothing keep m = −inf, l = 0.
    void (*decode_partial)(const ak_decode_rows *rows, long nruns, const ak_kv_run *runs);
} ak_table;

/// Width of the column panels of a packed GEMM operand (pack_b), the same for every variant.
#define AK_PANEL 32

/// Floats that pack_b writes for op(B) of K×N: ceil(N / 32) panels of K × 32.
static inline long ak_packed_b_floats(long K, long N) {
    return (N + AK_PANEL - 1) / AK_PANEL * K * AK_PANEL;
}

/// The kernel table of variant `isa` (an `ak_isa`), or NULL when `isa` is unknown or this
/// CPU lacks it.
const ak_table *_Nullable ak_kernels(int isa);

/// Sets s[r][c] = −inf where key column c (absolute position kStart + c) is after
/// query row r (absolute position qStart + r + shift): the causal diagonal tile.
/// (Scalar; the same for every variant.)
void ak_mask_causal(long rows, long cols, float *s, long lds,
                    long qStart, long kStart, long shift);

/// Atomic counter for dynamic work distribution across threads.
long ak_atomic_fetch_add(long *counter, long value);

/// Sequentially consistent load and store of a word shared between threads (the worker
/// pool's job word and counters).
long ak_atomic_load(const long *word);
void ak_atomic_store(long *word, long value);
/// Sequentially consistent `*word -= 1`; returns the new value.
long ak_atomic_decrement(long *word);

/// A spin-wait hint to the CPU (`pause` on x86, `yield` on arm64).
void ak_spin_pause(void);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
