"""PyTorch's CPU scaled_dot_product_attention for one decode step (Sq = 1, enable_gqa=True),
on the configurations of `attention bench --decode`, reporting the same cache-read GB/s.

Optional: the package never needs PyTorch. Run it back to back with ours (interleaved), e.g.

    for i in 1 2; do
      swift run -c release attention bench --decode --heads 32 --kv-heads 8 --head-dim 128 \
          --cache-lens 4096,32768 --threads 2 --repeats 20
      python3 scripts/bench_pytorch_decode.py --threads 2 --cache-lens 4096,32768
    done
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--heads", type=int, default=32)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=128)
p.add_argument("--cache-lens", default="4096,32768")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=20)
p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
p.add_argument("--json", default=None, help="also write the rows as a JSON array here")
args = p.parse_args()
rows = []
torch.set_num_threads(args.threads)
dtype = getattr(torch, args.dtype)
print(f"PyTorch {torch.__version__} SDPA decode, {args.threads} thread(s), {args.dtype}")
print(f"{'cache':>6}  {'ms/step':>8}  {'cache GB/s':>10}")
for n in map(int, args.cache_lens.split(",")):
    q = torch.randn(1, args.heads, 1, args.head_dim, dtype=dtype)
    k = torch.randn(1, args.kv_heads, n, args.head_dim, dtype=dtype)
    v = torch.randn_like(k)
    run = lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    with torch.no_grad():
        for _ in range(3):
            run()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)
    gb = 2 * k.numel() * k.element_size() / 1e9
    print(f"{n:>6}  {ms:>8.3f}  {gb / (ms / 1e3):>10.1f}")
    rows.append({"cacheLen": n, "threads": args.threads, "dtype": args.dtype, "msPerStep": ms,
                 "gbPerS": gb / (ms / 1e3)})
if args.json:
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
