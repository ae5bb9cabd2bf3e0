#!/usr/bin/env python3
"""PyTorch's bf16/f16 SDPA error against a float64 reference computed from the same
bf16/f16 inputs: the yardstick for the tolerance of Tests/AttentionTests/
ReducedPrecisionAttentionTests.swift (the test allows 2x the largest figure printed here).

Error = normwise relative: max |out - ref| / max |ref| over the whole output, per config.
Usage: python3 scripts/measure_reduced_precision_error.py  (one thread, ~1 minute)
"""
import torch
import torch.nn.functional as F

from attention_reference import reference

torch.manual_seed(0)
torch.set_num_threads(1)


configs = []
for d in (1, 8, 59, 64, 128, 256):
    for sq, sk in ((113, 203), (203, 113), (128, 128), (257, 1000)):
        for causal in (False, True):
            configs.append((2, 4, 2, sq, sk, d, causal))

for dtype in (torch.bfloat16, torch.float16):
    worst = 0.0
    rows = []
    for (b, h, hkv, sq, sk, d, causal) in configs:
        q = torch.randn(b, h, sq, d).to(dtype)
        k = torch.randn(b, hkv, sk, d).to(dtype)
        v = torch.randn(b, hkv, sk, d).to(dtype)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        ref = reference(q, k, v, causal)
        err = ((out.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()
        worst = max(worst, err)
        rows.append((d, sq, sk, causal, err))
    print(f"{str(dtype).replace('torch.', '')}: worst normwise relative error {worst:.3e}")
    for d in (1, 8, 59, 64, 128, 256):
        e = max(r[4] for r in rows if r[0] == d)
        print(f"  D={d:3d}: {e:.3e}")
