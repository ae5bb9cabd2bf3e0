// Run-time detection of optional arm64 instructions (cpu_features.h): one function, one
// branch per operating system.
#include "cpu_features.h"

#if defined(__aarch64__) && defined(__APPLE__)
#include <stddef.h>
#include <sys/sysctl.h>

static unsigned feature(const char *name, unsigned bit) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, NULL, 0) == 0 && value != 0 ? bit : 0;
}

unsigned ak_arm64_features(void) {
    return feature("hw.optional.arm.FEAT_FP16", AK_ARM64_FP16) |
           feature("hw.optional.arm.FEAT_BF16", AK_ARM64_BF16) |
           feature("hw.optional.arm.FEAT_I8MM", AK_ARM64_I8MM) |
           feature("hw.optional.arm.FEAT_SME", AK_ARM64_SME);
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

// The bits of the Linux arm64 ABI (asm/hwcap.h), spelled out for older headers.
#define AK_HWCAP_ASIMDHP (1UL << 10)
#define AK_HWCAP2_I8MM (1UL << 13)
#define AK_HWCAP2_BF16 (1UL << 14)
#define AK_HWCAP2_SME (1UL << 23)
#ifndef AT_HWCAP2
#define AT_HWCAP2 26
#endif

unsigned ak_arm64_features(void) {
    unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
    return (hwcap & AK_HWCAP_ASIMDHP ? AK_ARM64_FP16 : 0) | (hwcap2 & AK_HWCAP2_BF16 ? AK_ARM64_BF16 : 0) |
           (hwcap2 & AK_HWCAP2_I8MM ? AK_ARM64_I8MM : 0) | (hwcap2 & AK_HWCAP2_SME ? AK_ARM64_SME : 0);
}

#else
unsigned ak_arm64_features(void) { return 0; }
#endif
