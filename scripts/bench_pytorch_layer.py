"""PyTorch's equivalent of `attention bench --layer` and of its GEMM line, on the same machine.

Optional: the package never needs PyTorch. The layer is the seed's: four `nn.Linear(E, E,
bias=False)` projections around `F.scaled_dot_product_attention` (8 heads), no grad. Also
times `nn.Linear` alone on [B·S, E] × [E, E], and NumPy's matmul (its BLAS) on the same shape.
Medians of --repeats runs after one warm-up; run it interleaved with ours (see
docs/PERFORMANCE.md).

    python3 scripts/bench_pytorch_layer.py --threads 2 --seq-lens 256,512,1024
"""
import argparse, statistics, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--dims", type=int, default=512)
p.add_argument("--seq-lens", default="256,512,1024")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=7)
p.add_argument("--no-numpy", action="store_true", help="skip NumPy (its BLAS threads spin after a call)")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def median_ms(f):
    f()
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


b, e, h = args.batch, args.dims, args.heads
proj = [nn.Linear(e, e, bias=False) for _ in range(4)]
for s in map(int, args.seq_lens.split(",")):
    x = torch.randn(b, s, e)

    def layer():
        with torch.no_grad():
            q, k, v = (p(x).view(b, s, h, e // h).transpose(1, 2) for p in proj[:3])
            o = F.scaled_dot_product_attention(q, k, v)
            return proj[3](o.transpose(1, 2).reshape(b, s, e))

    def linear():
        with torch.no_grad():
            return proj[0](x)

    ms = median_ms(layer)
    lin = median_ms(linear)
    gemm = 2 * b * s * e * e
    print(f"torch {torch.__version__} layer B={b} S={s} E={e} H={h}: {ms:.2f} ms", flush=True)
    print(f"torch nn.Linear [{b * s}, {e}]x[{e}, {e}]: {lin:.3f} ms {gemm / lin / 1e6:.1f} GFLOP/s", flush=True)
    if not args.no_numpy:
        a, w = np.random.randn(b * s, e).astype(np.float32), np.random.randn(e, e).astype(np.float32)
        nm = median_ms(lambda: a @ w.T)
        print(f"numpy {np.__version__} matmul [{b * s}, {e}]x[{e}, {e}]: {nm:.3f} ms {gemm / nm / 1e6:.1f} GFLOP/s", flush=True)
