#!/usr/bin/env python3
"""Checks `attention run --grad-output` against PyTorch autograd through
F.scaled_dot_product_attention.

For each case, draws query/key/value/grad_output (float32, seeded), computes PyTorch's
output and gradients in float64 from those float32 values (the math path: exact up to
float64 rounding), and stores everything in one .safetensors file: the inputs `query`,
`key`, `value`, `grad_output` (and `mask`) that `attention run` reads, the expectations
`expected_output`, `expected_grad_query`, `expected_grad_key`, `expected_grad_value`
(and `expected_grad_mask` for a float mask, checked with --grad-mask),
and the `attention run` flags of the case in the metadata (`flags`).

    python3 scripts/backward_vs_pytorch.py --write-fixtures Tests/Fixtures
        (re)writes the small committed fixtures (Tests/Fixtures/backward_*.safetensors)
    python3 scripts/backward_vs_pytorch.py --attention .build/release/attention
        writes the cases to a temporary folder, runs `attention run --grad-output` on each
        and prints the normwise relative error of every output against PyTorch's
"""
import argparse, json, os, subprocess, sys, tempfile
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

# name: (B, H, Hkv, Sq, Sk, D, options); options: is_causal, scale, mask ("additive" or
# "bool"). Sizes are small so the committed fixtures stay a few kilobytes.
CASES = {
    "plain_gqa": (1, 4, 2, 9, 13, 8, {}),
    "causal": (2, 2, 2, 11, 11, 16, {"is_causal": True}),
    "additive_scale": (1, 2, 1, 7, 10, 5, {"mask": "additive", "scale": 0.3}),
    "bool_mask": (1, 3, 3, 6, 9, 7, {"mask": "bool"}),
}


def make_case(name, b, h, hkv, sq, sk, d, opts, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, sq, d, generator=g)
    k = torch.randn(b, hkv, sk, d, generator=g)
    v = torch.randn(b, hkv, sk, d, generator=g)
    go = torch.randn(b, h, sq, d, generator=g)
    flags = []
    mask = None
    if opts.get("mask") == "additive":
        mask = torch.randn(sq, sk, generator=g)
    elif opts.get("mask") == "bool":
        mask = torch.rand(sq, sk, generator=g) < 0.7
        mask[:, 0] = True  # every row sees a key (PyTorch gives NaN for rows that see none)
    if opts.get("is_causal"):
        flags += ["--mask", "causal"]
    if "scale" in opts:
        flags += ["--scale", str(opts["scale"])]
    q64, k64, v64 = (t.double().requires_grad_() for t in (q, k, v))
    m64 = mask if mask is None or mask.dtype == torch.bool else mask.double().requires_grad_()
    if m64 is not None and m64.dtype != torch.bool:
        flags += ["--grad-mask"]
    out = F.scaled_dot_product_attention(
        q64, k64, v64, attn_mask=m64, is_causal=opts.get("is_causal", False),
        scale=opts.get("scale"), enable_gqa=h != hkv)
    out.backward(go.double())
    tensors = {
        "query": q, "key": k, "value": v, "grad_output": go,
        "expected_output": out.detach().float(),
        "expected_grad_query": q64.grad.float(), "expected_grad_key": k64.grad.float(),
        "expected_grad_value": v64.grad.float(),
    }
    if mask is not None:
        tensors["mask"] = mask if mask.dtype == torch.bool else mask.float()
    if m64 is not None and m64.dtype != torch.bool:
        tensors["expected_grad_mask"] = m64.grad.float()
    return tensors, flags


def write_cases(folder, seed):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, (name, (b, h, hkv, sq, sk, d, opts)) in enumerate(CASES.items()):
        tensors, flags = make_case(name, b, h, hkv, sq, sk, d, opts, seed + i)
        path = os.path.join(folder, f"backward_{name}.safetensors")
        save_file({k: v.contiguous() for k, v in tensors.items()}, path,
                  metadata={"flags": json.dumps(flags), "torch": torch.__version__})
        paths.append((path, flags))
    return paths


def normwise(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-fixtures", metavar="DIR")
    ap.add_argument("--attention", default=".build/release/attention")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    if args.write_fixtures:
        for path, flags in write_cases(args.write_fixtures, args.seed):
            print(f"wrote {path}  flags: {' '.join(flags) or '(none)'}")
        return
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path, flags in write_cases(tmp, args.seed):
            out = os.path.join(tmp, "out.safetensors")
            subprocess.run([args.attention, "run", "--input", path, "--output", out,
                            "--grad-output", *flags], check=True, stdout=subprocess.DEVNULL)
            got, want = load_file(out), load_file(path)
            errors = {n: normwise(got[n], want["expected_" + n])
                      for n in ("output", "grad_query", "grad_key", "grad_value", "grad_mask")
                      if "expected_" + n in want}
            worst = max(worst, *errors.values())
            print(os.path.basename(path), " ".join(f"{n} {e:.2e}" for n, e in errors.items()))
    print(f"worst normwise relative error: {worst:.2e}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
