// Run-time choice of the kernel variant. There is no global "active" variant: a caller asks
// for a table (ak_kernels) once per call and calls through it, so concurrent calls may use
// different variants. ak_detected_isa reports what the CPU supports (__builtin_cpu_supports).
#include "variants.h"
#include <pthread.h>
#include <stdlib.h>

#define AK_TABLE(S)                                                                            \
    {                                                                                          \
        .sgemm = ak_sgemm_##S, .tile_gemm = ak_tile_gemm_##S,                                  \
        .pack_panels = ak_pack_panels_##S, .pack_transposed = ak_pack_transposed_##S,          \
        .pack_scaled = ak_pack_scaled_##S, .online_softmax = ak_online_softmax_##S,            \
        .softmax_rows = ak_softmax_rows_##S, .exp = ak_exp_##S, .add_alibi = ak_add_alibi_##S, \
        .finalize_rows = ak_finalize_rows_##S, .scan_rows = ak_scan_rows_##S,                  \
        .pack_b = ak_pack_b_##S, .sgemm_packed = ak_sgemm_packed_##S,                          \
        .decode_partial = ak_decode_partial_##S,                                               \
    }

static const ak_table tables[] = {
    AK_TABLE(portable),
#ifdef AK_HAS_X86
    AK_TABLE(avx2),
    AK_TABLE(avx512),
#endif
};

int ak_detected_isa(void) {
#ifdef AK_HAS_X86
    __builtin_cpu_init();
    // F16C for both: a variant may run every one below it, and the AVX2 one needs it.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return AK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return AK_ISA_AVX2;
#endif
    return AK_ISA_PORTABLE;
}

const ak_table *ak_kernels(int isa) {
    if (isa < 0 || isa > ak_detected_isa()) return 0;
    return &tables[isa];
}

void *ak_alloc_bytes(size_t bytes) {
    void *p = 0;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return 0;
    return p;
}

// Per-thread packing buffers behind a pthread key, whose destructor frees them when the
// thread exits.
typedef struct {
    float *p[AK_BUFFER_SLOTS];
    size_t cap[AK_BUFFER_SLOTS];
} ak_thread_buffers;
static pthread_key_t buffersKey;
static pthread_once_t buffersOnce = PTHREAD_ONCE_INIT;

static void free_thread_buffers(void *v) {
    ak_thread_buffers *b = v;
    for (int i = 0; i < AK_BUFFER_SLOTS; i++) free(b->p[i]);
    free(b);
}

static void make_buffers_key(void) { pthread_key_create(&buffersKey, free_thread_buffers); }

float *ak_thread_buffer(int slot, size_t floats) {
    pthread_once(&buffersOnce, make_buffers_key);
    ak_thread_buffers *b = pthread_getspecific(buffersKey);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return 0;
        pthread_setspecific(buffersKey, b);
    }
    if (b->cap[slot] < floats) {
        free(b->p[slot]);
        b->p[slot] = ak_alloc(floats);
        b->cap[slot] = floats;
    }
    return b->p[slot];
}

void ak_mask_causal(long rows, long cols, float *s, long lds, long qStart, long kStart,
                    long shift) {
    for (long r = 0; r < rows; r++) {
        long first = qStart + r + shift - kStart + 1;  // first hidden column of this row
        if (first < 0) first = 0;
        for (long c = first; c < cols; c++) s[r * lds + c] = -__builtin_inff();
    }
}

long ak_atomic_fetch_add(long *counter, long value) {
    return __atomic_fetch_add(counter, value, __ATOMIC_RELAXED);
}

long ak_atomic_load(const long *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }

void ak_atomic_store(long *word, long value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }

long ak_atomic_decrement(long *word) { return __atomic_sub_fetch(word, 1, __ATOMIC_SEQ_CST); }

void ak_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
