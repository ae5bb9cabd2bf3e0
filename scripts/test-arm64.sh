#!/usr/bin/env bash
# Builds the C kernels (Sources/_AttentionKernels, every .c file, unchanged) for aarch64 with
# the flags SwiftPM uses — only the target differs — links them with Tests/arm64/kernel_test.c
# and runs the result under qemu-aarch64: the NEON build of the portable variant, executed.
# Both SwiftPM configurations are tested: release (-O2) and debug (-O0 -DDEBUG=1, contracts
# asserted).
#
#   scripts/test-arm64.sh            aarch64 under qemu (needs clang, aarch64-linux-gnu-gcc
#                                    and libc6-dev-arm64-cross for linking, qemu-user)
#   scripts/test-arm64.sh --host     the same driver built natively: every x86 variant, or
#                                    on an arm64 machine (Apple Silicon) the NEON kernels for real
#
# Compiler: $CC, else the `clang` next to `swift` (the one SwiftPM compiles C targets with;
# GCC lacks the clang vector builtins the kernels use). aarch64-linux-gnu-gcc only links.
# Exit status: 0 all passed, 1 a check failed, 2 a tool is missing.
# QEMU_CPUS (default "max cortex-a53") lists the emulated CPUs: qemu's everything-on model
# and an Armv8.0 core without optional features; the driver also checks that the run-time
# feature detection (cpu_features.c) finds exactly those.
set -euo pipefail
cd "$(dirname "$0")/.."

host=0
[[ "${1:-}" == "--host" ]] && host=1

export PATH="/opt/swift/usr/bin:$PATH"
cc="${CC:-$(command -v clang || true)}"
missing=()
[[ -n "$cc" ]] || missing+=(clang)
if [[ $host == 0 ]]; then
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
    [[ -e /usr/aarch64-linux-gnu/include/stdio.h ]] || missing+=(libc6-dev-arm64-cross)
    command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
fi
if ((${#missing[@]})); then
    echo "test-arm64: missing ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
    exit 2
fi

src=Sources/_AttentionKernels
build=$(mktemp -d "${TMPDIR:-/tmp}/test-arm64.XXXXXX")
trap 'rm -rf "$build"' EXIT

if [[ $host == 1 ]]; then
    target=()
    link=("$cc")
else
    target=(-target aarch64-unknown-linux-gnu)
    link=(aarch64-linux-gnu-gcc)
    run=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
fi
# SwiftPM's flags for a C target (swift build -v), apart from -target and the index store.
common=(-DSWIFT_PACKAGE=1 -fblocks -I "$src/include" -fPIC -g -fno-omit-frame-pointer)

status=0
for config in release debug; do
    if [[ $config == release ]]; then opt=(-O2); else opt=(-O0 -DDEBUG=1); fi
    objs=()
    for f in "$src"/*.c Tests/arm64/kernel_test.c; do
        o="$build/$config-$(basename "$f").o"
        "$cc" ${target[@]+"${target[@]}"} "${opt[@]}" "${common[@]}" -c "$f" -o "$o"
        objs+=("$o")
    done
    exe="$build/kernel_test-$config"
    "${link[@]}" "${objs[@]}" -lm -lpthread -o "$exe"
    if [[ $host == 1 ]]; then
        echo "== $config, host"
        # The AMX-BF16 table must be offered exactly on an x86 CPU with AMX and AVX512-BF16;
        # the AMX-FP16 table never without it, and surely where /proc/cpuinfo lists amx_fp16
        # (otherwise no check: kernels before 6.3 do not list it, while CPUID has the bit).
        amx=1
        for flag in amx_bf16 amx_tile avx512_bf16; do grep -qw $flag /proc/cpuinfo 2>/dev/null || amx=0; done
        fp16=$amx
        [[ $amx == 1 ]] && { grep -qw amx_fp16 /proc/cpuinfo 2>/dev/null || fp16=""; }
        EXPECT_AMX=$amx EXPECT_AMX_FP16=$fp16 "$exe" || status=1
    else
        for cpu in ${QEMU_CPUS:-max cortex-a53}; do
            echo "== $config, qemu-aarch64 -cpu $cpu"
            case $cpu in  # what ak_arm64_features must find (cpu_features.h)
                max) expect=0xf ;;       # FP16, BF16, I8MM, SME
                cortex-a53) expect=0 ;;  # Armv8.0: none
                *) expect="" ;;
            esac
            EXPECT_ARM64_FEATURES=$expect "${run[@]}" -cpu "$cpu" "$exe" || status=1
        done
    fi
done
if [[ $status == 0 ]]; then echo "test-arm64: passed"; else echo "test-arm64: FAILED" >&2; fi
exit $status
