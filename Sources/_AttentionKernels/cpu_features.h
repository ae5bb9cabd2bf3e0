// Optional arm64 instructions, detected at run time: the coming bf16 kernels choose by them
// (BFDOT/BFMMLA need FEAT_BF16, Apple M2 and later) as the x86 tables do by
// __builtin_cpu_supports. Internal to the C target; Linux reads the auxiliary vector, Darwin
// sysctl, and every other system (and every other architecture) reports none.
#ifndef AK_CPU_FEATURES_H
#define AK_CPU_FEATURES_H

enum {
    AK_ARM64_FP16 = 1 << 0,  // FEAT_FP16: half-precision arithmetic
    AK_ARM64_BF16 = 1 << 1,  // FEAT_BF16: BFDOT, BFMMLA, BFMLAL, BFCVT
    AK_ARM64_I8MM = 1 << 2,  // FEAT_I8MM: int8 matrix multiply
    AK_ARM64_SME = 1 << 3,   // FEAT_SME: the scalable matrix extension (Apple M4)
};

/// The AK_ARM64_* features of this CPU; 0 on other architectures.
unsigned ak_arm64_features(void);

#endif
