#!/bin/bash
# Interleaved A/B of the AVX-512 decode kernels (f32, f16 widening, bf16 pairs) of two
# revisions, in one process on one cache (scripts/decode_ab.c). A kernel's speed moves with
# the host's load on this kind of VM by up to 1.5× from minute to minute; the median of
# per-repetition ratios, both builds timed back to back, is steady where separate runs are not.
#
# usage: [ISA=avx2] scripts/decode-ab.sh REV_A [REV_B|.] [bf16|f16|f32] [POSITIONS...]
#   REV_B "." (the default) is the working tree. Defaults: bf16, positions 128 (the cache in
#   L2: the kernel's arithmetic), 4096 and 32768 (read from memory); 8 KV heads.
#   ISA=avx2 times the AVX2 variant instead of AVX-512 (bf16 then widens as f16 does).
# Needs an x86-64 CPU with AVX-512 (and AVX512-BF16 for bf16; AVX2, FMA and F16C with ISA=avx2), clang (the Swift toolchain's),
# nm and objcopy. Optional: nothing in the package or its tests uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,12p "$0"; exit 2; }
revA=$1 revB=${2:-.} dtype=${3:-bf16} isa=${ISA:-avx512}
case $isa in avx512) define= ;; avx2) define=-DAB_AVX2 ;; *) echo "ISA: avx512 or avx2" >&2; exit 2 ;; esac
shift $(($# < 3 ? $# : 3))
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(128 4096 32768)
cc="${CC:-$(command -v clang)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in A B; do
    rev=$([ $side = A ] && echo "$revA" || echo "$revB")
    mkdir -p "$work/$side"
    if [ "$rev" = . ]; then cp -r Sources/_AttentionKernels "$work/$side/"
    else git archive "$rev" Sources/_AttentionKernels | tar -x -C "$work/$side" --strip-components=1; fi
    src="$work/$side/_AttentionKernels"
    # The flags SwiftPM compiles the package's C with in release (frame pointers change register
    # use), and every function on a 64-byte boundary: where a kernel starts modulo 64 moves
    # its loops across cache-line boundaries, which alone changed the f16 step by 10–15%
    # (the package's decode kernels are declared aligned(64); older revisions were not).
    "$cc" -O2 -DSWIFT_PACKAGE=1 -fblocks -fPIC -g -fno-omit-frame-pointer -falign-functions=64 \
        -I "$src/include" -c "$src/kernels_$isa.c" -o "$work/$side.o"
    nm --defined-only -g "$work/$side.o" | awk -v p=$side '{print $3, p "_" $3}' > "$work/$side.syms"
    objcopy --redefine-syms="$work/$side.syms" "$work/$side.o" "$work/${side}_prefixed.o"
done
"$cc" -O2 -I "$work/B/_AttentionKernels/include" $define scripts/decode_ab.c "$work/A_prefixed.o" "$work/B_prefixed.o" \
    -o "$work/decode_ab" -lm
echo "A = $revA, B = $([ "$revB" = . ] && echo "the working tree" || echo "$revB")"
for n in "${sizes[@]}"; do
    reps=$((n <= 1024 ? 101 : n <= 8192 ? 31 : 15))
    "$work/decode_ab" "$n" 8 "$reps" "$dtype"
done
