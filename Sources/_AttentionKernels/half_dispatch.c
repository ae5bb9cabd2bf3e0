// Run-time choice of the reduced-precision variant (see AttentionKernelsHalf.h): like
// dispatch.c, no global "active" variant; callers ask for a table once per call.
#include "half_variants.h"
#include "cpu_features.h"

#ifdef AK_HALF_HAS_X86
// The AVX512-BF16 table with its two products (`dot_gemm`, `gemm_packed`) given: on
// `vdpbf16ps` for AK_HALF_AVX512BF16, on AMX tiles for AK_HALF_AMX_BF16; further entries
// (the f16 products of AK_HALF_AMX_FP16) follow them.
#define AK_AVX512BF16_TABLE(DOT_GEMM, GEMM_PACKED, ...)                                        \
    {                                                                                          \
        .to_f32 = ak_half_to_f32_f16c, .from_f32 = ak_half_from_f32_f16c,                      \
        .scan_rows = ak_half_scan_rows_avx2, .pack_rows = ak_bf16_pack_rows_portable,          \
        .pack_transposed = ak_bf16_pack_transposed_avx512,                                     \
        .pack_interleaved = ak_bf16_pack_interleaved_avx512,                                   \
        .pairs_from_f32 = ak_bf16_pairs_from_f32_avx512, .dot_gemm = DOT_GEMM,                 \
        .pack_weight = ak_bf16_pack_weight_avx512, .gemm_packed = GEMM_PACKED,                 \
        .decode_partial_bf16 = ak_decode_partial_bf16_avx512, __VA_ARGS__                      \
    }
#endif

static const ak_half_table half_tables[] = {
    {
        .to_f32 = ak_half_to_f32_portable,
        .from_f32 = ak_half_from_f32_portable,
        .scan_rows = ak_half_scan_rows_portable,
    },
#ifdef AK_HALF_HAS_X86
    {
        .to_f32 = ak_half_to_f32_f16c,
        .from_f32 = ak_half_from_f32_f16c,
        .scan_rows = ak_half_scan_rows_avx2,
    },
    AK_AVX512BF16_TABLE(ak_bf16_dot_gemm_avx512, ak_bf16_gemm_packed_avx512),
#endif
};

#ifdef AK_HALF_HAS_X86
// AK_HALF_AMX_BF16: the AVX512-BF16 table with the products on AMX tiles (bf16_amx.c).
// Decoding keeps the AVX512-BF16 pair kernel: a step reads memory, it needs no tiles.
static const ak_half_table amx_bf16_table = AK_AVX512BF16_TABLE(ak_bf16_dot_gemm_amx, ak_bf16_gemm_packed_amx);
// AK_HALF_AMX_FP16: the AMX-BF16 table and f16 products on AMX-FP16 tiles (`tdpfp16ps`).
static const ak_half_table amx_fp16_table =
    AK_AVX512BF16_TABLE(ak_bf16_dot_gemm_amx, ak_bf16_gemm_packed_amx,
                        .pairs_from_f32_f16 = ak_f16_pairs_from_f32_avx512, .dot_gemm_f16 = ak_f16_dot_gemm_amx);
#endif

#ifdef AK_HALF_HAS_ARM64
// AK_HALF_ARM64_BF16: the portable conversions, BFDOT tile products (bf16_neon.c).
static const ak_half_table arm64_bf16_table = {
    .to_f32 = ak_half_to_f32_portable,
    .from_f32 = ak_half_from_f32_portable,
    .scan_rows = ak_half_scan_rows_portable,
    .pack_rows = ak_bf16_pack_rows_portable,
    .pack_transposed = ak_bf16_pack_transposed_neon,
    .pack_interleaved = ak_bf16_pack_interleaved_neon,
    .pairs_from_f32 = ak_bf16_pairs_from_f32_neon,
    .dot_gemm = ak_bf16_dot_gemm_neon,
    .pack_weight = ak_bf16_pack_weight_neon,
    .gemm_packed = ak_bf16_gemm_packed_neon,
};
#endif

int ak_detected_half_variant(void) {
#ifdef AK_HALF_HAS_X86
    __builtin_cpu_init();
    // The F16C table (and those above it, which reuse its entries) is compiled for
    // avx2,f16c,fma (half_f16c.c).
    int f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
    if (f16c && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bf16"))
        return !ak_amx_bf16_usable() ? AK_HALF_AVX512BF16 : ak_amx_fp16_usable() ? AK_HALF_AMX_FP16 : AK_HALF_AMX_BF16;
    if (f16c) return AK_HALF_F16C;
#endif
#ifdef AK_HALF_HAS_ARM64
    if (ak_arm64_features() & AK_ARM64_BF16) return AK_HALF_ARM64_BF16;
#endif
    return AK_HALF_PORTABLE;
}

const ak_half_table *ak_half_kernels(int variant) {
#ifdef AK_HALF_HAS_ARM64
    if (variant == AK_HALF_ARM64_BF16)
        return ak_detected_half_variant() == AK_HALF_ARM64_BF16 ? &arm64_bf16_table : 0;
    return variant == AK_HALF_PORTABLE ? &half_tables[0] : 0;
#endif
#ifdef AK_HALF_HAS_X86
    if (variant == AK_HALF_ARM64_BF16) return 0;
    if (variant == AK_HALF_AMX_BF16) return ak_detected_half_variant() >= AK_HALF_AMX_BF16 ? &amx_bf16_table : 0;
    if (variant == AK_HALF_AMX_FP16) return ak_detected_half_variant() == AK_HALF_AMX_FP16 ? &amx_fp16_table : 0;
#endif
    if (variant < 0 || variant > ak_detected_half_variant() || variant > AK_HALF_AVX512BF16) return 0;
    return &half_tables[variant];
}
