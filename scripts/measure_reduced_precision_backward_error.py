#!/usr/bin/env python3
"""PyTorch's bf16/f16 SDPA *backward* error against float64 autograd run on the same
bf16/f16 inputs (q, k, v and the output gradient rounded once, then widened exactly): the
yardstick for the tolerance of Tests/AttentionTests/ReducedPrecisionBackwardTests.swift
(the test allows 2x the worst figure printed here, per dtype).

Error = normwise relative ||g - ref||_2 / ||ref||_2 per gradient (dQ, dK, dV) and config;
the worst over the gradients and configs is printed per dtype.
Usage: python3 scripts/measure_reduced_precision_backward_error.py  (one thread, < 1 minute)
"""
import torch
import torch.nn.functional as F

from attention_reference import reference

torch.manual_seed(0)
torch.set_num_threads(1)


def normwise(a, ref):
    return ((a.double() - ref).norm() / ref.norm().clamp_min(1e-300)).item()


DIMS = (1, 7, 64, 111)
configs = []
for d in DIMS:
    for sq, sk in ((37, 53), (53, 37), (128, 128)):
        for causal in (False, True):
            for h, hkv in ((4, 4), (4, 2)):
                configs.append((2, h, hkv, sq, sk, d, causal))

for dtype in (torch.bfloat16, torch.float16):
    worst = 0.0
    rows = []
    for (b, h, hkv, sq, sk, d, causal) in configs:
        q = torch.randn(b, h, sq, d).to(dtype).requires_grad_()
        k = torch.randn(b, hkv, sk, d).to(dtype).requires_grad_()
        v = torch.randn(b, hkv, sk, d).to(dtype).requires_grad_()
        do = torch.randn(b, h, sq, d).to(dtype)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hkv != h)
        out.backward(do)
        q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
        reference(q64, k64, v64, causal).backward(do.double())
        errs = [normwise(t.grad, r.grad) for t, r in ((q, q64), (k, k64), (v, v64))]
        assert all(t.grad.dtype == dtype for t in (q, k, v))
        worst = max(worst, *errs)
        rows.append((d, sq, sk, causal, hkv != h, errs))
    print(f"{str(dtype).replace('torch.', '')}: worst normwise relative error {worst:.3e}")
    for d in DIMS:
        e = [max(r[5][i] for r in rows if r[0] == d) for i in range(3)]
        print(f"  D={d:3d}: dQ {e[0]:.3e}  dK {e[1]:.3e}  dV {e[2]:.3e}")
