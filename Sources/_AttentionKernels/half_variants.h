// Internal: the reduced-precision entry points that half_dispatch.c chooses between.
#ifndef AK_HALF_VARIANTS_H
#define AK_HALF_VARIANTS_H
#include "AttentionKernelsHalf.h"

float ak_half_to_float(int format, uint16_t h);
uint16_t ak_float_to_half(int format, float value);

void ak_half_to_f32_portable(int, long, const uint16_t *, float *);
void ak_half_from_f32_portable(int, long, const float *, uint16_t *);
float ak_half_scan_rows_portable(int, long, long, const uint16_t *, long, unsigned char *);
void ak_bf16_pack_rows_portable(long, long, long, const uint16_t *, long, uint32_t *, long);

#if defined(__x86_64__) || defined(_M_X64)
#define AK_HALF_HAS_X86 1
void ak_half_to_f32_f16c(int, long, const uint16_t *, float *);
void ak_half_from_f32_f16c(int, long, const float *, uint16_t *);
float ak_half_scan_rows_avx2(int, long, long, const uint16_t *, long, unsigned char *);
void ak_bf16_pack_transposed_avx512(long, long, const uint16_t *, long, uint32_t *, long, long);
void ak_bf16_pack_interleaved_avx512(long, long, const uint16_t *, long, uint32_t *, long, long);
void ak_bf16_pairs_from_f32_avx512(long, long, const float *, long, uint32_t *, long);
void ak_f16_pairs_from_f32_avx512(long, long, const float *, long, uint32_t *, long);
void ak_bf16_round_rows_avx512(long, long, const float *, long, uint32_t *);
void ak_bf16_pack_weight_avx512(long, long, const uint16_t *, long, uint32_t *);
void ak_bf16_gemm_packed_avx512(long, long, long, const float *, long, const uint32_t *, int, float *, long,
                                uint32_t *);
void ak_decode_partial_bf16_avx512(const ak_decode_rows *, long, const ak_kv_run *);
void ak_bf16_dot_gemm_avx512(long, long, long, const uint32_t *, long, const uint32_t *, long,
                             float *, long, float, const float *);
// bf16_amx.c: AMX tile products; ak_amx_bf16_usable checks CPUID, XCR0 and (Linux, once
// per process) the permission for the tile data state.
int ak_amx_bf16_usable(void);
void ak_bf16_dot_gemm_amx(long, long, long, const uint32_t *, long, const uint32_t *, long, float *, long, float,
                          const float *);
void ak_bf16_gemm_packed_amx(long, long, long, const float *, long, const uint32_t *, int, float *, long,
                             uint32_t *);
// AMX-FP16 (tdpfp16ps): ak_amx_fp16_usable is ak_amx_bf16_usable and CPUID's AMX-FP16 bit.
int ak_amx_fp16_usable(void);
void ak_f16_dot_gemm_amx(long, long, long, const uint32_t *, long, const uint32_t *, long, float *, long, float,
                         const float *);
#endif

#if defined(__aarch64__)
#define AK_HALF_HAS_ARM64 1
void ak_bf16_pack_transposed_neon(long, long, const uint16_t *, long, uint32_t *, long, long);
void ak_bf16_pack_interleaved_neon(long, long, const uint16_t *, long, uint32_t *, long, long);
void ak_bf16_pairs_from_f32_neon(long, long, const float *, long, uint32_t *, long);
void ak_bf16_pack_weight_neon(long, long, const uint16_t *, long, uint32_t *);
void ak_bf16_gemm_packed_neon(long, long, long, const float *, long, const uint32_t *, int, float *, long,
                              uint32_t *);
void ak_bf16_dot_gemm_neon(long, long, long, const uint32_t *, long, const uint32_t *, long, float *, long,
                           float, const float *);
#endif

#endif
