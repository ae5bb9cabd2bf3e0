"""PyTorch's CPU scaled_dot_product_attention on the same grid as `attention bench`.

Optional: the package never needs PyTorch. Used to put a second implementation, measured on
the same machine in the same session, next to ours in docs/PERFORMANCE.md.

    python3 scripts/bench_pytorch.py --threads 2 --seq-lens 256,512,1024,2048,4096 [--dtype bf16]
    python3 scripts/bench_pytorch.py --seq-lens 64,256 --kv-lens 4096   # Sq x Sk, as `attention
        bench --kv-lens`; causal rows are then aligned bottom-right (causal_lower_right), as
        our `--mask causal-bottom-right`
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.bias import causal_lower_right

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--seq-lens", default="256,512,1024,2048,4096")
p.add_argument("--kv-lens", default=None,
               help="comma-separated key/value lengths, each against every --seq-lens (default: Sk = Sq)")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--backends", default="flash,math")
p.add_argument("--dtype", default="f32", choices=("f32", "bf16", "f16"),
               help="element type of q, k, v (torch.float32, bfloat16 or float16)")
p.add_argument("--backward", action="store_true",
               help="time the backward (torch.autograd.grad of q, k, v on a kept graph); FLOPs 2.5x the forward's")
args = p.parse_args()
torch.set_num_threads(args.threads)
kinds = {"flash": SDPBackend.FLASH_ATTENTION, "math": SDPBackend.MATH}
dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[args.dtype]
rows = []
def visible_fraction(causal, sq, sk):
    if not causal:
        return 1.0
    if sq == sk:
        return 0.5  # this grid's convention for the square causal case (as before)
    return sum(max(0, min(sk, i + sk - sq + 1)) for i in range(sq)) / (sq * sk)

pairs = [(s, sk) for s in map(int, args.seq_lens.split(","))
         for sk in (map(int, args.kv_lens.split(",")) if args.kv_lens else [s])]
for causal in (False, True):
    for s, sk in pairs:
        q = torch.randn(args.batch, args.heads, s, args.head_dim).to(dtype)
        k = torch.randn(args.batch, args.heads, sk, args.head_dim).to(dtype)
        v = torch.randn_like(k)
        # Sq != Sk: causal means bottom-right (the last query sees every key).
        sdpa = (lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=causal_lower_right(s, sk))) \
            if causal and s != sk else (lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=causal))
        for name in args.backends.split(","):
            if name == "math" and args.batch * args.heads * s * sk * 4 > 8 << 30:
                continue
            with sdpa_kernel(kinds[name]):
                if args.backward:
                    qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
                    out = sdpa(qg, kg, vg)
                    grad = torch.randn_like(out)
                    run = lambda: torch.autograd.grad(out, (qg, kg, vg), grad, retain_graph=True)
                else:
                    run = lambda: sdpa(q, k, v)
                run()
                times = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    run()
                    times.append((time.perf_counter() - t) * 1e3)
            ms = statistics.median(times)
            flops = 4 * args.batch * args.heads * s * sk * args.head_dim * visible_fraction(causal, s, sk)
            flops *= 2.5 if args.backward else 1
            label = f"torch-{name}" + ("-backward" if args.backward else "")
            rows.append(dict(backend=label, dtype=args.dtype, seqLen=s, keyLen=sk, causal=causal, medianMs=ms, gflops=flops / ms / 1e6))
            shape = f"{s:5d}" if s == sk else f"{s}x{sk}"
            print(f"torch {torch.__version__} {name:5s} {args.dtype}{' backward' if args.backward else ''} causal={causal!s:5s} seq {shape}: {ms:9.2f} ms {flops / ms / 1e6:7.1f} GFLOP/s", flush=True)
print(json.dumps(rows))
