// Internal: the per-ISA kernel entry points that dispatch.c chooses between.
#ifndef AK_VARIANTS_H
#define AK_VARIANTS_H
#include <stdlib.h>
#include "AttentionKernels.h"

/// 64-byte aligned allocation (free with free()).
void *ak_alloc_bytes(size_t bytes);
static inline float *ak_alloc(size_t floats) { return (float *)ak_alloc_bytes(floats * sizeof(float)); }

/// The calling thread's packing buffer `slot` of at least `floats` floats (grown as needed),
/// freed when the thread exits: a plain thread-local pointer leaked it with every worker
/// thread the dispatch pool retires (LeakSanitizer: ~2 MiB per thread).
enum { AK_BUFFER_SGEMM_A, AK_BUFFER_SGEMM_B, AK_BUFFER_SGEMM_PACKED_A, AK_BUFFER_SLOTS };
float *ak_thread_buffer(int slot, size_t floats);

#define AK_DECLARE_VARIANT(S)                                                                  \
    void ak_tile_gemm_##S(int, long, long, long, const float *, long, const float *, long,     \
                          float *, long, int, const float *);                                  \
    void ak_sgemm_##S(int, int, long, long, long, float, const float *, long, const float *,   \
                      long, float, float *, long);                                             \
    void ak_pack_panels_##S(long, long, long, const float *, long, float, float *);            \
    void ak_pack_transposed_##S(long, long, const float *, long, float *, long, long);         \
    void ak_pack_scaled_##S(long, long, const float *, long, float, float *, long, long);      \
    void ak_online_softmax_##S(long, long, float *, long, float *, float *, float *, const long *, int); \
    void ak_softmax_rows_##S(long, long, float *, long);                                       \
    void ak_exp_##S(long, const float *, float *);                                             \
    void ak_add_alibi_##S(long, long, float *, long, float, long, long, long, int);            \
    void ak_finalize_rows_##S(long, long, const float *, long, const float *, float *, long); \
    float ak_scan_rows_##S(long, long, const float *, long, unsigned char *);               \
    void ak_pack_b_##S(int, long, long, const float *, long, float *);                        \
    void ak_sgemm_packed_##S(long, long, long, const float *, long, const float *, int, float *, long); \
    void ak_decode_partial_##S(const ak_decode_rows *, long, const ak_kv_run *);

AK_DECLARE_VARIANT(portable)
#if defined(__x86_64__) || defined(_M_X64)
#define AK_HAS_X86 1
AK_DECLARE_VARIANT(avx2)
AK_DECLARE_VARIANT(avx512)
#endif

#endif
