// Internal: the few AMX operations bf16_amx.c uses, behind macros, so that one kernel source
// runs either on the real tile registers or on a software model of them.
//
// Normally each macro is the intrinsic of the same name (<immintrin.h>; the caller's function
// carries `target("amx-tile,amx-bf16,amx-fp16,...")`). Compiled with -DAK_AMX_EMULATE — only by
// scripts/test-amx.sh, never by the package — they call the plain-C model in
// Tests/amx/amx_emulator.c instead: eight tile registers per thread, Intel's pseudo-code of
// TDPBF16PS and TDPFP16PS, and checks of every configuration and every load/store against it.
//
// Tile numbers must be literals (the intrinsics encode them in the instruction).
#ifndef AK_AMX_TILES_H
#define AK_AMX_TILES_H
#include <stdint.h>

/// The 64-byte operand of LDTILECFG, palette 1: tile t has rows[t] rows of colsb[t] bytes.
typedef struct {
    uint8_t palette;    // 1: eight tiles of at most 16 rows × 64 bytes
    uint8_t startRow;   // 0 (used only to restart an interrupted load/store)
    uint8_t reserved[14];
    uint16_t colsb[16];  // bytes per row, ≤ 64; entries 8-15 must be 0
    uint8_t rows[16];    // ≤ 16; entries 8-15 must be 0
} ak_tile_config;

_Static_assert(sizeof(ak_tile_config) == 64, "LDTILECFG reads 64 bytes");

#ifdef AK_AMX_EMULATE
void ak_amx_emu_loadconfig(const ak_tile_config *config);
void ak_amx_emu_zero(int tile);
void ak_amx_emu_load(int tile, const void *base, long stride);
void ak_amx_emu_dpbf16ps(int c, int a, int b);
void ak_amx_emu_dpfp16ps(int c, int a, int b);
void ak_amx_emu_store(int tile, void *base, long stride);
void ak_amx_emu_release(void);
#define AK_TILE_LOADCONFIG(config) ak_amx_emu_loadconfig(config)
#define AK_TILE_ZERO(t) ak_amx_emu_zero(t)
#define AK_TILE_LOAD(t, base, stride) ak_amx_emu_load(t, base, stride)
#define AK_TILE_DPBF16PS(c, a, b) ak_amx_emu_dpbf16ps(c, a, b)
#define AK_TILE_DPFP16PS(c, a, b) ak_amx_emu_dpfp16ps(c, a, b)
#define AK_TILE_STORE(t, base, stride) ak_amx_emu_store(t, base, stride)
#define AK_TILE_RELEASE() ak_amx_emu_release()
#else
#include <immintrin.h>
#define AK_TILE_LOADCONFIG(config) _tile_loadconfig(config)
#define AK_TILE_ZERO(t) _tile_zero(t)
#define AK_TILE_LOAD(t, base, stride) _tile_loadd(t, base, stride)
#define AK_TILE_DPBF16PS(c, a, b) _tile_dpbf16ps(c, a, b)
#define AK_TILE_DPFP16PS(c, a, b) _tile_dpfp16ps(c, a, b)
#define AK_TILE_STORE(t, base, stride) _tile_stored(t, base, stride)
#define AK_TILE_RELEASE() _tile_release()
#endif

#endif
