#!/usr/bin/env bash
# The AMX-BF16 and AMX-FP16 kernels (Sources/_AttentionKernels/bf16_amx.c) against double references, with
# the driver of scripts/test-arm64.sh (Tests/arm64/kernel_test.c: every entry of every
# reduced-precision table at edge sizes, operands ending at guard pages, NaN padding, C
# sentinels) built natively with the flags SwiftPM uses, in release (-O2) and debug (-O0
# -DDEBUG=1, contracts asserted).
#
# On a CPU with AMX (amx_bf16 in /proc/cpuinfo) the kernels run on the real tiles. Elsewhere
# every source is compiled with -DAK_AMX_EMULATE and linked with Tests/amx/amx_emulator.c: the
# tile macros of amx_tiles.h then call a plain-C model of the eight tile registers (Intel's
# TDPBF16PS and TDPFP16PS pseudo-code, configuration and shape checks); the model has both, so
# both AMX tables are offered and tested. On real tiles AMX-FP16 is tested where the CPU has it
# (amx_fp16 in /proc/cpuinfo, Granite Rapids and later). The package itself never defines
# AK_AMX_EMULATE. Needs an x86-64 CPU with AVX512-BF16 (the rest of the AMX table) — without
# it the script says so and exits 0.
#
#   scripts/test-amx.sh                  the C driver, release and debug
#   scripts/test-amx.sh --swift [ARGS]    `swift test ARGS` (default: every suite) on a build of
#                                         the package with the emulated tiles (a throw-away
#                                         --scratch-path, -Xcc -DAK_AMX_EMULATE, the model linked
#                                         in): the fused forward, layers and CLI with AMX-FP16
#                                         (the AMX-BF16 table plus f16 tile products) as the
#                                         default bf16/f16 kernel, and AMX-BF16 where a suite
#                                         loops over the kernels. On a CPU with AMX the plain
#                                         `swift test` already does this on the real tiles.
#
# Compiler: $CC, else the `clang` next to `swift`. Exit status: 0 passed (or not applicable),
# 1 a check failed, 2 a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/opt/swift/usr/bin:$PATH"
cc="${CC:-$(command -v clang || true)}"
if [[ -z "$cc" ]]; then
    echo "test-amx: missing clang (the Swift toolchain's, or set CC)" >&2
    exit 2
fi
if [[ "$(uname -m)" != x86_64 ]] || ! grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
    echo "test-amx: skipped (needs x86-64 Linux with avx512_bf16; this is $(uname -m))"
    exit 0
fi

emulate=()
expect_fp16=1  # the emulated tiles have AMX-FP16 too
if grep -qw amx_bf16 /proc/cpuinfo && grep -qw amx_tile /proc/cpuinfo; then
    mode="the real AMX tiles (amx_bf16 in /proc/cpuinfo)"
    # amx_fp16 in /proc/cpuinfo: the table must be offered. Without it, no check: kernels
    # before Linux 6.3 do not list the flag, while CPUID (what the library reads) has the bit.
    expect_fp16=""
    grep -qw amx_fp16 /proc/cpuinfo && expect_fp16=1 && mode="the real AMX tiles (amx_bf16, amx_fp16 in /proc/cpuinfo)"
else
    emulate=(-DAK_AMX_EMULATE)
    mode="the EMULATED tiles (no amx_bf16 in /proc/cpuinfo; Tests/amx/amx_emulator.c)"
fi

src=Sources/_AttentionKernels
build=$(mktemp -d "${TMPDIR:-/tmp}/test-amx.XXXXXX")
trap 'rm -rf "$build"' EXIT

if [[ "${1:-}" == "--swift" ]]; then
    shift
    if ((${#emulate[@]} == 0)); then
        echo "test-amx --swift: this CPU has AMX; the plain \`swift test\` runs AMX-BF16 on the real tiles"
        exit 0
    fi
    "$cc" -O2 -fPIC -c Tests/amx/amx_emulator.c -o "$build/amx_emulator.o"
    flags=(--scratch-path "$build/swift" -Xcc -DAK_AMX_EMULATE -Xlinker "$build/amx_emulator.o")
    swift build --build-tests "${flags[@]}"
    echo "== swift test${*:+ $*}, on $mode"
    if swift test --skip-build "${flags[@]}" "$@"; then echo "test-amx --swift: passed"; exit 0; fi
    echo "test-amx --swift: FAILED" >&2
    exit 1
fi
# SwiftPM's flags for a C target (swift build -v), apart from the index store.
common=(-DSWIFT_PACKAGE=1 -fblocks -I "$src/include" -fPIC -g -fno-omit-frame-pointer)
files=("$src"/*.c Tests/arm64/kernel_test.c)
((${#emulate[@]})) && files+=(Tests/amx/amx_emulator.c)

status=0
for config in release debug; do
    if [[ $config == release ]]; then opt=(-O2); else opt=(-O0 -DDEBUG=1); fi
    objs=()
    for f in "${files[@]}"; do
        o="$build/$config-$(basename "$f").o"
        "$cc" "${opt[@]}" "${common[@]}" ${emulate[@]+"${emulate[@]}"} -c "$f" -o "$o"
        objs+=("$o")
    done
    exe="$build/kernel_test-$config"
    "$cc" "${objs[@]}" -lm -lpthread -o "$exe"
    echo "== $config, $mode"
    KERNEL_TEST_HALF_ONLY=1 EXPECT_AMX=1 EXPECT_AMX_FP16=$expect_fp16 "$exe" || status=1
done
echo "test-amx: ran on $mode"
if [[ $status == 0 ]]; then echo "test-amx: passed"; else echo "test-amx: FAILED" >&2; fi
exit $status
