// AMX-BF16 variant of the bf16 tile products (`dot_gemm`, `gemm_packed`; AttentionKernelsHalf.h):
// TDPBF16PS multiplies a 16-row × 16-pair A tile by a 16-pair-row × 16-column B tile into a
// 16×16 fp32 C tile. The pairs of the table are exactly AMX's layout for both operands (A
// row-major in pairs, B "VNNI": pair rows), so the packing entries are the AVX512-BF16 ones.
// AMX-FP16's TDPFP16PS takes f16 pairs in the same layout (`dot_gemm_f16`): the same blocks
// with the other instruction.
//
// Tile budget (8 registers): a 32×32 output block = C tiles 0,1 (rows 0-15, columns 0-15 and
// 16-31) and 2,3 (rows 16-31) + A tiles 4,5 (the two row halves) + B tiles 6,7 (the two column
// halves), 16 pairs of depth per step. The last row block (rows not a multiple of 32) is
// configured with fewer rows, the last column block (16 columns) uses half the tiles, and a
// depth tail (< 16 pairs) is copied into zero-padded buffers, so no tile reads or writes past
// the caller's rows, columns or depth. C goes through a 32×32 buffer, where the scale (or
// rowScale·C) is applied on AVX-512 exactly as the AVX512-BF16 kernel does.
//
// Tile configuration is per thread: every call loads its own (palette 1) and releases the
// tiles when it returns, so no call assumes another's. The one process-wide step is the Linux
// permission to use the tile data state (ak_amx_bf16_usable).
//
// Only compiled here (an AMD Zen 4 without AMX); its logic runs in the tile emulator of
// scripts/test-amx.sh (amx_tiles.h), never yet on real AMX hardware.
#include "half_variants.h"
#if defined(__x86_64__) || defined(_M_X64)
#if !defined(DEBUG) && !defined(NDEBUG)
#define NDEBUG 1
#endif
#include "amx_tiles.h"
#include <assert.h>
#include <immintrin.h>
#include <string.h>

// One target for the bf16 and the f16 entries (they share the always-inline block code and
// choose the tile instruction by a constant flag): `amx-fp16` only lets the compiler accept
// TDPFP16PS, which it emits nowhere but in the f16 entries. The AMX-BF16 table (chosen
// without AMX-FP16) never reaches one.
#define AK_AMX __attribute__((target("amx-tile,amx-bf16,amx-fp16,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define AK_AMX_INLINE static inline __attribute__((always_inline)) AK_AMX

// ---------------------------------------------------------------------------------------
// Detection and permission

#ifdef AK_AMX_EMULATE
// The emulated tiles need no CPU support; the rest of the table needs AVX512-BF16.
int ak_amx_bf16_usable(void) { return 1; }
int ak_amx_fp16_usable(void) { return 1; }
#else
#include <cpuid.h>
#include <pthread.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#define AK_ARCH_GET_XCOMP_PERM 0x1022
#define AK_ARCH_REQ_XCOMP_PERM 0x1023
#define AK_XFEATURE_XTILEDATA 18
#endif

static pthread_once_t detectOnce = PTHREAD_ONCE_INIT;
static int usable, fp16;  // written once, by detect

// CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; XCR0 bits 17 (XTILECFG) and 18
// (XTILEDATA) set by the OS (OSXSAVE, CPUID.1:ECX bit 27, makes XGETBV legal). Then, on
// Linux, the permission: the kernel keeps the 8 KB of tile data out of a thread's state until
// the process asks for it (the first tile instruction would raise SIGILL). The permission is
// process-wide and never withdrawn, so it is asked once per process; a refusal leaves AMX
// unused. Other systems: not offered (macOS on Intel has no AMX). AMX-FP16: CPUID.(7,1):EAX
// bit 21, on top of the rest.
static void detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) return;
    int maxLeaf7 = (int)a;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & (3u << 17)) != (3u << 17)) return;
#if defined(__linux__)
    unsigned long features = 0;
    if (syscall(SYS_arch_prctl, AK_ARCH_REQ_XCOMP_PERM, AK_XFEATURE_XTILEDATA) == 0 &&
        syscall(SYS_arch_prctl, AK_ARCH_GET_XCOMP_PERM, &features) == 0)
        usable = (features >> AK_XFEATURE_XTILEDATA) & 1;
#endif
    fp16 = usable && maxLeaf7 >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 21));
}

int ak_amx_bf16_usable(void) {
    pthread_once(&detectOnce, detect);
    return usable;
}

int ak_amx_fp16_usable(void) {
    pthread_once(&detectOnce, detect);
    return fp16;
}
#endif

// ---------------------------------------------------------------------------------------
// The 32×32 block

// Palette 1 with C tiles 0,1 and A tile 4 of `h0` rows, C tiles 2,3 and A tile 5 of `h1`
// rows (unconfigured when 0), B tiles 6,7 of 16 pair rows; every row 64 bytes.
static void configure(ak_tile_config *config, int h0, int h1) {
    memset(config, 0, sizeof *config);
    config->palette = 1;
    for (int t = 0; t < 8; t++) {
        int rows = t == 0 || t == 1 || t == 4 ? h0 : t == 2 || t == 3 || t == 5 ? h1 : 16;
        config->rows[t] = (uint8_t)rows;
        config->colsb[t] = rows ? 64 : 0;
    }
}

// C tile c += A tile a · B tile b: f16 pairs on TDPFP16PS, else bf16 pairs on TDPBF16PS.
#define AK_TILE_DP(f16, c, a, b)                     \
    do {                                             \
        if (f16) AK_TILE_DPFP16PS(c, a, b);          \
        else AK_TILE_DPBF16PS(c, a, b);              \
    } while (0)

// out[32 × 32] (row stride 32; only the configured rows and `twoCols ? 32 : 16` columns are
// written) = A·B over `depth` pairs (f16 pairs when `f16`, else bf16), A(r, p) = a[r·lda + p]
// for the h0 (+ h1) configured rows, B(p, n) = b[p·ldb + n] for n < 16 or 32. `twoRows`:
// tiles 2, 3, 5 are configured.
AK_AMX_INLINE void block(int f16, int twoRows, int twoCols, int h, long depth, const uint32_t *a, long lda,
                         const uint32_t *b, long ldb, float *out) {
    AK_TILE_ZERO(0);
    if (twoCols) AK_TILE_ZERO(1);
    if (twoRows) {
        AK_TILE_ZERO(2);
        if (twoCols) AK_TILE_ZERO(3);
    }
    long full = depth & ~15L;
    for (long p = 0; p < full; p += 16) {
        AK_TILE_LOAD(4, a + p, lda * 4);
        if (twoRows) AK_TILE_LOAD(5, a + 16 * lda + p, lda * 4);
        AK_TILE_LOAD(6, b + p * ldb, ldb * 4);
        if (twoCols) AK_TILE_LOAD(7, b + p * ldb + 16, ldb * 4);
        AK_TILE_DP(f16, 0, 4, 6);
        if (twoCols) AK_TILE_DP(f16, 1, 4, 7);
        if (twoRows) {
            AK_TILE_DP(f16, 2, 5, 6);
            if (twoCols) AK_TILE_DP(f16, 3, 5, 7);
        }
    }
    if (depth > full) {  // the last < 16 pairs, zero-padded to a full step
        long kt = depth - full;
        uint32_t at[32 * 16], bt[16 * 32];
        memset(at, 0, sizeof at), memset(bt, 0, sizeof bt);
        for (int r = 0; r < h; r++) memcpy(at + r * 16, a + r * lda + full, (size_t)kt * 4);
        for (long k = 0; k < kt; k++) memcpy(bt + k * 32, b + (full + k) * ldb, (size_t)(twoCols ? 32 : 16) * 4);
        AK_TILE_LOAD(4, at, 64);
        if (twoRows) AK_TILE_LOAD(5, at + 16 * 16, 64);
        AK_TILE_LOAD(6, bt, 128);
        if (twoCols) AK_TILE_LOAD(7, bt + 16, 128);
        AK_TILE_DP(f16, 0, 4, 6);
        if (twoCols) AK_TILE_DP(f16, 1, 4, 7);
        if (twoRows) {
            AK_TILE_DP(f16, 2, 5, 6);
            if (twoCols) AK_TILE_DP(f16, 3, 5, 7);
        }
    }
    AK_TILE_STORE(0, out, 128);
    if (twoCols) AK_TILE_STORE(1, out + 16, 128);
    if (twoRows) {
        AK_TILE_STORE(2, out + 16 * 32, 128);
        if (twoCols) AK_TILE_STORE(3, out + 16 * 32 + 16, 128);
    }
}

// ---------------------------------------------------------------------------------------
// dot_gemm: C[rows × cols] = rowScale ? rowScale[r]·C + A·B : scale·A·B

// The `h` rows × 16·vectors columns of a block into C.
AK_AMX_INLINE void finish(int h, int vectors, const float *out, float *c, long ldc, float scale,
                          const float *rowScale) {
    for (int r = 0; r < h; r++)
        for (int v = 0; v < vectors; v++) {
            __m512 t = _mm512_loadu_ps(out + r * 32 + 16 * v);
            float *cr = c + r * ldc + 16 * v;
            _mm512_storeu_ps(cr, rowScale ? _mm512_fmadd_ps(_mm512_set1_ps(rowScale[r]), _mm512_loadu_ps(cr), t)
                                          : _mm512_mul_ps(_mm512_set1_ps(scale), t));
        }
}

// The row blocks [i0, i1) of 32 rows, or one of h < 32 rows, with `config` loaded.
AK_AMX_INLINE void rowBlocks(int f16, long i0, long i1, int h, long cols, long depth, const uint32_t *a, long lda,
                             const uint32_t *b, long ldb, float *c, long ldc, float scale, const float *rowScale) {
    float out[32 * 32];
    for (long i = i0; i < i1; i += 32)
        for (long j = 0; j < cols; j += 32) {
            int twoCols = cols - j >= 32;
            block(f16, h > 16, twoCols, h, depth, a + i * lda, lda, b + j, ldb, out);
            finish(h, twoCols ? 2 : 1, out, c + i * ldc + j, ldc, scale, rowScale ? rowScale + i : 0);
        }
}

AK_AMX_INLINE void dot_gemm(int f16, long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b,
                            long ldb, float *c, long ldc, float scale, const float *rowScale) {
    assert(rows % 12 == 0 && "ak_bf16_dot_gemm: rows must be a multiple of 12");
    assert(cols % 16 == 0 && "ak_bf16_dot_gemm: cols must be a multiple of 16");
    if (rows <= 0 || cols <= 0) return;
    ak_tile_config config;
    long whole = rows & ~31L;
    if (whole) {
        configure(&config, 16, 16);
        AK_TILE_LOADCONFIG(&config);
        rowBlocks(f16, 0, whole, 32, cols, depth, a, lda, b, ldb, c, ldc, scale, rowScale);
    }
    if (rows > whole) {
        int h = (int)(rows - whole);
        configure(&config, h < 16 ? h : 16, h > 16 ? h - 16 : 0);
        AK_TILE_LOADCONFIG(&config);
        rowBlocks(f16, whole, rows, h, cols, depth, a, lda, b, ldb, c, ldc, scale, rowScale);
    }
    AK_TILE_RELEASE();
}

AK_AMX void ak_bf16_dot_gemm_amx(long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b,
                                 long ldb, float *c, long ldc, float scale, const float *rowScale) {
    dot_gemm(0, rows, cols, depth, a, lda, b, ldb, c, ldc, scale, rowScale);
}

AK_AMX void ak_f16_dot_gemm_amx(long rows, long cols, long depth, const uint32_t *a, long lda, const uint32_t *b,
                                long ldb, float *c, long ldc, float scale, const float *rowScale) {
    dot_gemm(1, rows, cols, depth, a, lda, b, ldb, c, ldc, scale, rowScale);
}

// ---------------------------------------------------------------------------------------
// gemm_packed: C[M×N] = (accumulate ? C : 0) + bf16(A)·Wᵀ, W packed by pack_weight in
// 32-column panels of pairs (row stride 32 words: a B tile pair each). A is rounded to bf16
// twelve rows at a time into `scratch` (12·ceil(K/2) words), as the AVX512-BF16 kernel does;
// the tiles are configured with 12 rows.

AK_AMX void ak_bf16_gemm_packed_amx(long M, long N, long K, const float *A, long lda, const uint32_t *packed,
                                    int accumulate, float *C, long ldc, uint32_t *scratch) {
    if (M <= 0 || N <= 0) return;
    long pairs = (K + 1) / 2;
    ak_tile_config config;
    configure(&config, 12, 0);
    AK_TILE_LOADCONFIG(&config);
    float out[32 * 32];
    for (long i0 = 0; i0 < M; i0 += 12) {
        long h = M - i0 < 12 ? M - i0 : 12;
        ak_bf16_round_rows_avx512(h, K, A + i0 * lda, lda, scratch);
        for (long j0 = 0; j0 < N; j0 += 32) {
            long w = N - j0 < 32 ? N - j0 : 32;
            block(0, 0, 1, 12, pairs, scratch, pairs, packed + (j0 / 32) * pairs * 32, 32, out);
            float *c = C + i0 * ldc + j0;
            for (long r = 0; r < h; r++) {
                float *cr = c + r * ldc;
                const float *o = out + r * 32;
                if (w == 32) {
                    for (int v = 0; v < 2; v++) {
                        __m512 t = _mm512_loadu_ps(o + 16 * v);
                        _mm512_storeu_ps(cr + 16 * v, accumulate ? _mm512_add_ps(_mm512_loadu_ps(cr + 16 * v), t) : t);
                    }
                } else {
                    for (long t = 0; t < w; t++) cr[t] = (accumulate ? cr[t] : 0) + o[t];
                }
            }
        }
    }
    AK_TILE_RELEASE();
}
#endif
