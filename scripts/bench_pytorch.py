"""PyTorch's CPU scaled_dot_product_attention on the same grid as `attention bench`.

Optional: the package never needs PyTorch. Used to put a second implementation, measured on
the same machine in the same session, next to ours in docs/PERFORMANCE.md.

    python3 scripts/bench_pytorch.py --threads 2 --seq-lens 256,512,1024,2048,4096 [--dtype bf16]
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--seq-lens", default="256,512,1024,2048,4096")
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
for causal in (False, True):
    for s in map(int, args.seq_lens.split(",")):
        q = torch.randn(args.batch, args.heads, s, args.head_dim).to(dtype)
        k, v = torch.randn_like(q), torch.randn_like(q)
        for name in args.backends.split(","):
            if name == "math" and args.batch * args.heads * s * s * 4 > 8 << 30:
                continue
            with sdpa_kernel(kinds[name]):
                if args.backward:
                    qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
                    out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                    grad = torch.randn_like(out)
                    run = lambda: torch.autograd.grad(out, (qg, kg, vg), grad, retain_graph=True)
                else:
                    run = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                run()
                times = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    run()
                    times.append((time.perf_counter() - t) * 1e3)
            ms = statistics.median(times)
            flops = 4 * args.batch * args.heads * s * s * args.head_dim * (0.5 if causal else 1)
            flops *= 2.5 if args.backward else 1
            label = f"torch-{name}" + ("-backward" if args.backward else "")
            rows.append(dict(backend=label, dtype=args.dtype, seqLen=s, causal=causal, medianMs=ms, gflops=flops / ms / 1e6))
            print(f"torch {torch.__version__} {name:5s} {args.dtype}{' backward' if args.backward else ''} causal={causal!s:5s} seq {s:5d}: {ms:9.2f} ms {flops / ms / 1e6:7.1f} GFLOP/s", flush=True)
print(json.dumps(rows))
