// A plain-C model of the AMX tile registers, for testing bf16_amx.c on CPUs without AMX.
//
// Linked only by scripts/test-amx.sh, which compiles the kernel sources with -DAK_AMX_EMULATE
// so that the AK_TILE_* macros of amx_tiles.h call these functions instead of the intrinsics.
// The model keeps, per thread (tile state is per thread on real hardware too), the loaded
// palette-1 configuration and eight tiles of 16 rows × 64 bytes, and stops the process with a
// message on anything the hardware would fault on or that would make a kernel read or write
// outside the shape it configured:
//   - LDTILECFG: palette 1, start row 0, reserved bytes 0, tiles 8-15 empty, every tile
//     rows ≤ 16 and colsb ≤ 64 (a multiple of 4), rows 0 exactly when colsb 0;
//   - any other operation without a loaded configuration (before LDTILECFG or after
//     TILERELEASE), or on a tile the configuration leaves empty;
//   - TDPBF16PS or TDPFP16PS on tiles that are not three distinct ones, or whose shapes
//     disagree (C rows = A rows, C colsb = B colsb, A colsb / 4 = B rows).
// Loads read, and stores write, exactly the configured rows × colsb bytes at the given stride.
//
// TDPBF16PS follows the pseudo-code of Intel's SDM (vol. 2, "TDPBF16PS"): for each row m of C,
// a temporary of 2·N fp32 lanes starts at 0; for each pair k of A and each column n, the even
// lane accumulates A[m].bf16[2k]·B[k].bf16[2n] and the odd lane A[m].bf16[2k+1]·B[k].bf16[2n+1],
// each as an fp32 FMA rounded to nearest even with input denormals treated as zero (DAZ) and
// denormal results flushed to zero (FTZ), MXCSR ignored; then C[m][n] += (even + odd), the two
// additions also RNE with DAZ/FTZ. A bf16 value is widened by placing it in the upper half of a
// binary32 (exact), so each product is exact and fmaf gives the single rounding.
//
// TDPFP16PS (AMX-FP16) is the same but for its inputs: binary16 values, subnormals included,
// are widened exactly (no DAZ). (Intel's intrinsics guide shows a simplified form that adds
// each product straight into C; the SDM's operation, modelled here, keeps the two lanes.)
#include "../../Sources/_AttentionKernels/amx_tiles.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct {
    int configured;
    uint8_t rows[8];
    uint16_t colsb[8];
    uint8_t data[8][16][64];
} tiles;

static atomic_long products, configs;

static void fault(const char *what, int tile) __attribute__((noreturn));
static void fault(const char *what, int tile) {
    fprintf(stderr, "AMX emulator: %s (tile %d)\n", what, tile);
    abort();
}

static void need(int tile) {
    if (!tiles.configured) fault("tile operation without a loaded configuration", tile);
    if (tile < 0 || tile > 7) fault("no such tile", tile);
    if (tiles.rows[tile] == 0) fault("tile not configured", tile);
}

void ak_amx_emu_loadconfig(const ak_tile_config *config) {
    if (config->palette != 1) fault("palette is not 1", -1);
    if (config->startRow != 0) fault("start_row is not 0", -1);
    for (int i = 0; i < 14; i++)
        if (config->reserved[i]) fault("reserved byte not 0", -1);
    for (int t = 0; t < 16; t++) {
        int rows = config->rows[t], colsb = config->colsb[t];
        if (t >= 8 && (rows || colsb)) fault("palette 1 has 8 tiles", t);
        if (rows > 16 || colsb > 64 || colsb % 4) fault("rows > 16 or colsb > 64 or not a multiple of 4", t);
        if ((rows == 0) != (colsb == 0)) fault("rows and colsb not both zero", t);
    }
    memset(&tiles, 0, sizeof tiles);  // LDTILECFG zeroes every tile
    for (int t = 0; t < 8; t++) tiles.rows[t] = config->rows[t], tiles.colsb[t] = config->colsb[t];
    tiles.configured = 1;
    atomic_fetch_add(&configs, 1);
}

void ak_amx_emu_zero(int tile) {
    need(tile);
    memset(tiles.data[tile], 0, sizeof tiles.data[tile]);
}

void ak_amx_emu_load(int tile, const void *base, long stride) {
    need(tile);
    memset(tiles.data[tile], 0, sizeof tiles.data[tile]);
    for (int r = 0; r < tiles.rows[tile]; r++)
        memcpy(tiles.data[tile][r], (const char *)base + r * stride, tiles.colsb[tile]);
}

void ak_amx_emu_store(int tile, void *base, long stride) {
    need(tile);
    for (int r = 0; r < tiles.rows[tile]; r++)
        memcpy((char *)base + r * stride, tiles.data[tile][r], tiles.colsb[tile]);
}

void ak_amx_emu_release(void) { memset(&tiles, 0, sizeof tiles); }

static float flush(float x) { return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x; }
static float bf16(uint32_t word, int high) {
    uint32_t bits = high ? word & 0xFFFF0000u : word << 16;
    float x;
    memcpy(&x, &bits, 4);
    return flush(x);  // DAZ
}

// The three tiles of a dot product, checked; m, n, k: C's rows, C's columns, A's pairs.
static void shapes(const char *op, int c, int a, int b, int *m, int *n, int *k) {
    need(c), need(a), need(b);
    if (c == a || c == b || a == b) fault(op, c);
    *m = tiles.rows[c], *n = tiles.colsb[c] / 4, *k = tiles.colsb[a] / 4;
    if (tiles.rows[a] != *m || tiles.colsb[b] != tiles.colsb[c] || tiles.rows[b] != *k) fault(op, c);
}

// A binary16 value (the low or high half of `word`) widened exactly, subnormals kept.
static float fp16(uint32_t word, int high) {
    uint32_t h = high ? word >> 16 : word & 0xFFFF, sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
    float x = exponent == 0    ? ldexpf((float)mantissa, -24)
              : exponent == 31 ? (mantissa ? NAN : INFINITY)
                               : ldexpf((float)(mantissa | 1024), (int)exponent - 25);
    return sign ? -x : x;
}

// TDPBF16PS and TDPFP16PS: the same pseudo-code but for how a pair's elements widen.
static void dot_pairs(const char *op, int c, int a, int b, float (*widen)(uint32_t, int)) {
    int m, n, k;
    shapes(op, c, a, b, &m, &n, &k);
    for (int i = 0; i < m; i++) {
        float temp[32] = {0};
        for (int p = 0; p < k; p++) {
            uint32_t x;
            memcpy(&x, tiles.data[a][i] + 4 * p, 4);
            for (int j = 0; j < n; j++) {
                uint32_t y;
                memcpy(&y, tiles.data[b][p] + 4 * j, 4);
                temp[2 * j] = flush(fmaf(widen(x, 0), widen(y, 0), temp[2 * j]));
                temp[2 * j + 1] = flush(fmaf(widen(x, 1), widen(y, 1), temp[2 * j + 1]));
            }
        }
        for (int j = 0; j < n; j++) {
            float dest;
            memcpy(&dest, tiles.data[c][i] + 4 * j, 4);
            float sum = flush(temp[2 * j] + temp[2 * j + 1]);
            dest = flush(flush(dest) + sum);
            memcpy(tiles.data[c][i] + 4 * j, &dest, 4);
        }
    }
    atomic_fetch_add(&products, 1);
}

void ak_amx_emu_dpbf16ps(int c, int a, int b) {
    dot_pairs("TDPBF16PS needs three distinct tiles of agreeing shapes", c, a, b, bf16);
}

void ak_amx_emu_dpfp16ps(int c, int a, int b) {
    dot_pairs("TDPFP16PS needs three distinct tiles of agreeing shapes", c, a, b, fp16);
}

/// TDPBF16PS and TDPFP16PS instructions and LDTILECFGs executed so far (all threads).
long ak_amx_emu_products(void) { return atomic_load(&products); }
long ak_amx_emu_configs(void) { return atomic_load(&configs); }
