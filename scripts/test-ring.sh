#!/usr/bin/env bash
# Ring attention over MPI: builds `attention` with the package's MPI trait (in its own
# scratch directory, so the default build is untouched) and checks `attention ring --check`
# — forward and backward gathered on rank 0 against the single-process fused kernel
# (≤ 1e-6 relative, 1e-5 with ALiBi; bf16: 8 bf16 roundings) — under mpirun with 1, 2, 3 and 4 ranks.
# Needs Open MPI (openmpi-bin, libopenmpi-dev); .ci/run installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scratch=.build/mpi
swift build --traits MPI --scratch-path "$scratch" --product attention
bin="$(swift build --traits MPI --scratch-path "$scratch" --show-bin-path)/attention"

mpi=(mpirun --oversubscribe --mca btl self,vader)
if [ "$(id -u)" = 0 ]; then mpi+=(--allow-run-as-root); fi

run() {  # ranks, then `attention ring` flags
    local ranks=$1
    shift
    echo "== mpirun -np $ranks attention ring $*"
    "${mpi[@]}" -np "$ranks" "$bin" ring --check "$@"
}

run 1 --seq-len 300 --heads 4 --kv-heads 2 --head-dim 32 --causal --backward
run 2 --seq-len 1000 --heads 4 --kv-heads 2 --head-dim 32 --causal --backward
run 2 --seq-len 777 --heads 2 --head-dim 48 --backward
run 4 --seq-len 1001 --heads 8 --kv-heads 2 --head-dim 32 --causal --backward
run 4 --seq-len 999 --heads 4 --head-dim 32 --backward
run 4 --seq-len 1000 --heads 4 --head-dim 32 --window 50,10 --backward
run 3 --seq-len 500 --heads 4 --kv-heads 2 --head-dim 32 --window 40,0 --alibi symmetric --backward
run 4 --seq-len 640 --heads 4 --head-dim 32 --causal --alibi causal --backward
run 2 --seq-len 1000 --heads 4 --kv-heads 2 --head-dim 32 --causal --dtype bf16 --backward
# A bad flag under mpirun: every rank fails, rank 0 alone prints the one `Error:` line.
echo "== mpirun -np 3 attention ring --seq-len 0 (expects one Error line)"
if out=$("${mpi[@]}" -np 3 "$bin" ring --seq-len 0 2>&1); then
    echo "expected a failure, got success"; exit 1
fi
errors=$(grep -c '^Error: ' <<<"$out" || true)
if [ "$errors" != 1 ]; then
    echo "expected exactly one Error line from 3 ranks, got $errors:"; echo "$out"; exit 1
fi
grep '^Error: ' <<<"$out"
echo "ring attention: all MPI checks passed"
