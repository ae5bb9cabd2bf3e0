"""Plain float64 attention shared by the measure_* scripts (GQA by repeating K/V heads;
top-left causal, or bottom-right; rows that see no key give zeros). Autograd can
differentiate it."""
import math

import torch


def reference(q, k, v, causal, bottom_right=False):
    q, k, v = q.double(), k.double(), v.double()
    if k.shape[1] != q.shape[1]:
        g = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        sq, sk = s.shape[-2], s.shape[-1]
        shift = sk - sq if bottom_right else 0
        i = torch.arange(sq)[:, None] + shift
        j = torch.arange(sk)[None, :]
        s = s.masked_fill(j > i, float("-inf"))
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return p @ v
