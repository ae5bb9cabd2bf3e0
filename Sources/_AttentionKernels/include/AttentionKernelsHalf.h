// Reduced-precision (bf16, f16) kernels: conversions to and from fp32, the non-finite scan,
// and the bf16 dot-product tile kernels of the fused forward (AVX512-BF16 on x86-64, BFDOT
// on arm64 with FEAT_BF16).
//
// A separate table from `ak_table` (AttentionKernels.h) because its variants follow other
// CPU features (F16C, AVX512-BF16) than the fp32 ones; a caller chooses one per call
// (`ak_half_kernels`) exactly as it chooses an `ak_table`. Nothing here is process-wide state.
#ifndef ATTENTION_KERNELS_HALF_H
#define ATTENTION_KERNELS_HALF_H

#include <stddef.h>
#include <stdint.h>

#include "AttentionKernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// Element formats of 2-byte data.
typedef enum {
    AK_HALF_BF16 = 0,  ///< bfloat16: the upper 16 bits of a binary32
    AK_HALF_F16 = 1,   ///< IEEE 754 binary16
} ak_half_format;

/// Variants of the reduced-precision table, in increasing order of capability.
typedef enum {
    AK_HALF_PORTABLE = 0,    ///< scalar C (any CPU)
    AK_HALF_F16C = 1,        ///< AVX2 + F16C conversions (8 per instruction)
    AK_HALF_AVX512BF16 = 2,  ///< the F16C conversions plus `vdpbf16ps` tile products
    /// arm64 only: the portable conversions plus BFDOT tile products (FEAT_BF16). On arm64 the
    /// ladder is PORTABLE < ARM64_BF16; the x86 variants 1 and 2 have no table there.
    AK_HALF_ARM64_BF16 = 3,
    /// x86-64 only: the AVX512-BF16 table with `dot_gemm` and `gemm_packed` on AMX tiles
    /// (`tdpbf16ps`). Offered when CPUID reports AMX-BF16 and AMX-TILE, the OS enables the tile
    /// state (XCR0 bits 17, 18) and, on Linux, the process is granted it: the first
    /// `ak_detected_half_variant` call asks once per process (`arch_prctl(ARCH_REQ_XCOMP_PERM,
    /// XFEATURE_XTILEDATA)`, a process-wide step because Linux grants the tile
    /// state per process); if refused, the variant is not offered. Each call loads its own tile
    /// configuration and releases the tiles before returning.
    AK_HALF_AMX_BF16 = 4,
    /// x86-64 only: the AMX-BF16 table plus f16 tile products on AMX-FP16 (`tdpfp16ps`:
    /// `dot_gemm_f16`, `pairs_from_f32_f16`). Offered when AMX-BF16 is and CPUID also reports
    /// AMX-FP16 (Intel Granite Rapids and later).
    AK_HALF_AMX_FP16 = 5,
} ak_half_variant;

/// The pair entries' types (bf16 and f16 forms share them): fp32 values rounded to pairs,
/// and the pair product C = rowScale ? rowScale[r]·C + A·B : scale·A·B.
typedef void (*ak_pairs_from_f32_fn)(long rows, long cols, const float *s, long lds, uint32_t *out, long ldo);
typedef void (*ak_pair_dot_gemm_fn)(long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b,
                                    long ldb, float *c, long ldc, float scale, const float *_Nullable rowScale);

typedef struct ak_half_table {
    /// y[i] = x[i] widened to binary32 (exact: subnormals, infinities and NaN payloads kept).
    void (*to_f32)(int format, long n, const uint16_t *x, float *y);
    /// y[i] = x[i] rounded to `format`, to nearest, ties to even (NaN stays a quiet NaN;
    /// f16 overflows to infinity and keeps subnormals).
    void (*from_f32)(int format, long n, const float *x, uint16_t *y);
    /// The non-finite scan of `ak_table.scan_rows` on 2-byte data: bad[r] = 1 for each row
    /// holding a NaN or ±inf; returns the largest |x| over the other rows.
    float (*scan_rows)(int format, long rows, long cols, const uint16_t *x, long ldx,
                       unsigned char *bad);

    // The remaining entries are NULL unless the variant is AK_HALF_AVX512BF16,
    // AK_HALF_ARM64_BF16, AK_HALF_AMX_BF16 or AK_HALF_AMX_FP16. A "pair" is two bf16 values in
    // one 32-bit word (the lower half the even element), the element `vdpbf16ps` and BFDOT
    // multiply and add. The packing entries only move 16-bit words, so they serve f16 pairs too.

    /// out[r·ldo + p] = (x[r][2p], x[r][2p+1]) for r < rows, p < ceil(d/2) (x row stride
    /// ldx, bf16); the odd last column and the rows rows..<rowsPadded are zero.
    void (*_Nullable pack_rows)(long rows, long rowsPadded, long d, const uint16_t *x, long ldx,
                                uint32_t *out, long ldo);
    /// Kᵀ in pairs: out[p·ldo + c] = (k[c][2p], k[c][2p+1]) for c < cols (k row stride ldk,
    /// bf16), zero for cols ≤ c < colsPadded and for the odd last feature.
    void (*_Nullable pack_transposed)(long cols, long d, const uint16_t *k, long ldk,
                                      uint32_t *out, long ldo, long colsPadded);
    /// V in pairs of rows: out[p·ldo + n] = (v[2p][n], v[2p+1][n]) for p < ceil(rows/2),
    /// n < cols (v row stride ldv, bf16), zero for the odd last row and cols ≤ n < colsPadded.
    void (*_Nullable pack_interleaved)(long rows, long cols, const uint16_t *v, long ldv,
                                       uint32_t *out, long ldo, long colsPadded);
    /// fp32 probabilities to pairs: out[r·ldo + p] = bf16(s[r][2p], s[r][2p+1]) for
    /// p < ceil(cols/2), the odd last column zero (round to nearest even).
    ak_pairs_from_f32_fn _Nullable pairs_from_f32;
    /// C[rows × cols] = rowScale ? rowScale[r]·C + A·B : scale·A·B, fp32 accumulation, where
    /// A(r, p) = a[r·lda + p] and B(p, n) = b[p·ldb + n] are pairs and `depth` counts pairs.
    /// `rows` a multiple of 12, `cols` of 16 (asserted in debug builds).
    ak_pair_dot_gemm_fn _Nullable dot_gemm;
    /// A layer's bf16 weight W [N × K] (row stride ldw) packed for gemm_packed: 32-column
    /// panels of k-pairs, packed[p·P·32 + q·32 + t] = (W[32p+t][2q], W[32p+t][2q+1]) with
    /// P = ceil(K/2), zero beyond N and for the odd last k. Size: ak_bf16_packed_words(K, N).
    void (*_Nullable pack_weight)(long K, long N, const uint16_t *w, long ldw, uint32_t *packed);
    /// C[M×N] = (accumulate ? C : 0) + bf16(A)·Wᵀ, A fp32 row-major (row stride lda) rounded
    /// to bf16 (nearest even), W packed by pack_weight, fp32 accumulation. `scratch` holds
    /// 12·ceil(K/2) words. Single-threaded; callers split rows.
    void (*_Nullable gemm_packed)(long M, long N, long K, const float *a, long lda,
                                  const uint32_t *packed, int accumulate, float *c, long ldc,
                                  uint32_t *scratch);
    /// Flash-decoding partial on a bf16 cache in pairs (`ak_table.decode_partial`'s contract,
    /// kvType AK_KV_BF16 only): S = (qPairs·Kᵀ)·pairScale with the K rows used as pairs straight
    /// from the cache, and acc += P·V with P rounded to bf16 pairs of consecutive positions and
    /// V pairs made by interleaving two cached rows; fp32 accumulation and softmax. Tiles of
    /// AK_DECODE_BF16_TILE positions: `scratch` holds rows × (AK_DECODE_BF16_TILE + 1)
    /// floats. NULL except in AK_HALF_AVX512BF16 and AK_HALF_AMX_BF16 (the same kernel: decoding
    /// is bound by memory, not by the products).
    void (*_Nullable decode_partial_bf16)(const ak_decode_rows *rows, long nruns,
                                          const ak_kv_run *runs);

    // f16 tile products: NULL unless the variant is AK_HALF_AMX_FP16. An "f16 pair" is two
    // binary16 values in one 32-bit word (the lower half the even element), as AMX-FP16 reads.

    /// pairs_from_f32 rounding to binary16 (nearest even; beyond ±65504 to ±inf, subnormals
    /// kept): out[r·ldo + p] = f16(s[r][2p], s[r][2p+1]), the odd last column zero.
    ak_pairs_from_f32_fn _Nullable pairs_from_f32_f16;
    /// dot_gemm's contract with f16 pairs: each product of two binary16 values is exact in
    /// fp32, accumulated in fp32.
    ak_pair_dot_gemm_fn _Nullable dot_gemm_f16;
} ak_half_table;

/// Key positions per tile of decode_partial_bf16.
#define AK_DECODE_BF16_TILE 64

/// 32-bit words pack_weight writes for a weight of N × K.
static inline long ak_bf16_packed_words(long K, long N) { return (N + 31) / 32 * 32 * ((K + 1) / 2); }

/// The best reduced-precision variant this CPU supports (an `ak_half_variant`). The variants
/// form one ladder per architecture: PORTABLE < F16C < AVX512BF16 < AMX_BF16 < AMX_FP16 on x86-64,
/// PORTABLE < ARM64_BF16 on arm64; ak_half_kernels returns NULL for the other architecture's
/// variants.
int ak_detected_half_variant(void);

/// The table of `variant`, or NULL when it is unknown or this CPU lacks it.
const ak_half_table *_Nullable ak_half_kernels(int variant);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
