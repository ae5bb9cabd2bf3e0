"""Issue 11's speed targets for the bf16 fused forward, measured in one run and checked.

Optional (the package never needs it). For each round, in turn: our fp32 and bf16 fused
forward (`attention bench`, one process, f32 and bf16 back to back per configuration), then
PyTorch's bf16 flash SDPA (scripts/bench_pytorch.py) when `torch` imports. Medians over the
rounds per configuration, then the targets for the kernel our bf16 rows ran on:

  AMX (AMX-BF16 / AMX-FP16):   bf16 >= 1.0x PyTorch bf16 on every configuration,
                               >= 1.15x on the geometric mean, >= 2.5x our fp32
  AVX512-BF16 (no AMX):        bf16 >= 1.5x our fp32
  anything else:               reported, no target

    swift build -c release
    python3 scripts/reduced_precision_targets.py [--rounds 3] [--repeats 7] [--threads 2]
        [--seq-lens 512,1024,2048] [--json out.json]

B=8 H=8 D=64, non-causal and causal (the issue's grid). Exit status 0 when every target of
the kernel is met, 1 when one is missed, 2 when a run fails or its output is unusable, 3 when
the AMX targets against PyTorch could not be checked (no torch).
"""
import json, math, os, statistics, subprocess, sys, tempfile

from targets_common import check_binary, parser, root, torch_imports

p = parser(rounds=3, repeats=7)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seq-lens", default="512,1024,2048")
args = p.parse_args()
check_binary(args, "reduced_precision_targets")
have_torch = torch_imports("only our fp32 and bf16 are measured")


def ours():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "ours.json")
        subprocess.run([args.binary, "bench", "--threads", str(args.threads), "--seq-lens", args.seq_lens,
                        "--causal", "both", "--backends", "fused", "--dtype", "f32,bf16", "--no-gemm",
                        "--repeats", str(args.repeats), "--json", out],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.load(open(out))


def pytorch():
    r = subprocess.run([sys.executable, os.path.join(root, "scripts/bench_pytorch.py"), "--threads",
                        str(args.threads), "--seq-lens", args.seq_lens, "--dtype", "bf16", "--backends", "flash",
                        "--repeats", str(args.repeats)], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


times = {}  # (who, seq, causal) -> [ms per round]
kernels = set()
try:
    for round in range(1, args.rounds + 1):
        for row in ours():
            key = ("f32" if row["dtype"] == "f32" else "bf16", row["seqLen"], row["causal"])
            times.setdefault(key, []).append(row["medianMs"])
            if row["dtype"] == "bf16":
                kernels.add(row["kernel"])
        if have_torch:
            for row in pytorch():
                times.setdefault(("torch", row["seqLen"], row["causal"]), []).append(row["medianMs"])
        print(f"round {round}/{args.rounds} done", flush=True)
except (subprocess.CalledProcessError, OSError, ValueError, KeyError, TypeError) as e:
    print(f"reduced_precision_targets: a run failed or gave unusable output: {e!r}", file=sys.stderr)
    sys.exit(2)
if any(v is None for vs in times.values() for v in vs) or not kernels or None in kernels:
    print("reduced_precision_targets: a row was skipped or names no kernel", file=sys.stderr)
    sys.exit(2)

kernel = ", ".join(sorted(kernels))
amx = any(k.startswith("AMX") for k in kernels)
fp32_target = 2.5 if amx else 1.5 if kernels == {"AVX512-BF16"} else None
med = {k: statistics.median(v) for k, v in times.items()}
configs = sorted({(s, c) for (_, s, c) in times}, key=lambda x: (x[1], x[0]))
missed, vs_torch = [], []
print(f"\nbf16 kernel: {kernel}; medians of {args.rounds} rounds, {args.repeats} repeats each, {args.threads} threads")
print("| seq | mask | ours f32 ms | ours bf16 ms | bf16 vs f32 | PyTorch bf16 ms | ours bf16 vs PyTorch |")
print("|---|---|---|---|---|---|---|")
for s, c in configs:
    f32, bf16, th = med.get(("f32", s, c)), med.get(("bf16", s, c)), med.get(("torch", s, c))
    speed = f32 / bf16
    if fp32_target and speed < fp32_target:
        missed.append(f"S={s} {'causal' if c else 'none'}: bf16 {speed:.2f}x our fp32 < {fp32_target}x")
    cell = "—"
    if th is not None:
        ratio = th / bf16
        vs_torch.append(ratio)
        cell = f"{ratio:.2f}×"
        if amx and ratio < 1.0:
            missed.append(f"S={s} {'causal' if c else 'none'}: {ratio:.2f}x PyTorch < 1.0x")
    print(f"| {s} | {'causal' if c else 'none'} | {f32:.1f} | {bf16:.1f} | {speed:.2f}× | "
          f"{'—' if th is None else f'{th:.1f}'} | {cell} |")
if vs_torch:
    geo = math.exp(sum(map(math.log, vs_torch)) / len(vs_torch))
    print(f"geometric mean, ours bf16 vs PyTorch bf16: {geo:.2f}×")
    if amx and geo < 1.15:
        missed.append(f"geometric mean {geo:.2f}x PyTorch < 1.15x")
if args.json:
    with open(args.json, "w") as f:
        json.dump({"kernel": kernel, "rounds": {"|".join(map(str, k)): v for k, v in times.items()},
                   "medians": {"|".join(map(str, k)): v for k, v in med.items()}}, f, indent=1)
if fp32_target is None:
    print(f"no target for the {kernel} kernel (the issue sets them for AMX and AVX512-BF16)")
    sys.exit(0)
for m in missed:
    print("MISSED:", m)
if missed:
    print(f"{len(missed)} target(s) missed")
    sys.exit(1)
if not have_torch and amx:
    print("the fp32 target is met; the targets against PyTorch were not checked (no torch)")
    sys.exit(3)
print("all targets met")
