#!/usr/bin/env python3
"""Sentences per second of all-MiniLM-L6-v2: `attention embed` against sentence-transformers.

    swift build -c release
    flock /tmp/swiftattention-cpu.lock python3 scripts/bench_minilm.py [--threads 2] [--rounds 5]

The batch: 64 sentences of mixed length, 10…128 tokens each ([CLS] and [SEP] included),
drawn reproducibly (seed 0) from a fixed word list and checked with the model's tokenizer.
Each round runs the Swift binary (`attention embed --input … --repeats R --threads T`: one
warm-up, then R timed runs in one process, model loading not timed) and then
sentence-transformers (`model.encode`, default batch size 32, torch.set_num_threads(T):
one warm-up, R timed runs), interleaved so both see the same machine state. Reports the
median over all timed runs of each side, and their ratio.
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import tempfile
import time

import torch
from sentence_transformers import SentenceTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.environ.get("SWIFT_ATTENTION_MINILM") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "swift-attention", "all-MiniLM-L6-v2")

WORDS = (
    "the of and to in is was for on that with as by at from it an be this which or are "
    "have has had not but all were when there can more if their one will would about so "
    "some them other into than its time only new two could these may first any after "
    "attention transformer model sentence embedding layer head token kernel matrix vector "
    "softmax query key value memory cache thread benchmark library compute gradient "
    "running quickly beautiful unexpectedly internationalization characterization "
    "Paris London 2026 3.14 , . ; : ! ? ( ) - café naïve").split()


def make_sentences(tokenizer, count=64, low=10, high=128, seed=0):
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        target = rng.randint(low, high)
        words = []
        while True:
            words.append(rng.choice(WORDS))
            n = len(tokenizer(" ".join(words))["input_ids"])
            if n >= target:
                if n > target and len(words) > 1:
                    words.pop()
                break
        sentences.append(" ".join(words))
    return sentences


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "attention"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    sentences = make_sentences(model.tokenizer)
    lengths = [len(model.tokenizer(s)["input_ids"]) for s in sentences]
    print(f"{len(sentences)} sentences, {sum(lengths)} tokens, lengths {min(lengths)}…{max(lengths)}, "
          f"{args.threads} threads, torch {torch.__version__}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(sentences) + "\n")
        path = f.name
    swift, torch_runs = [], []
    try:
        for _ in range(args.rounds):
            out = subprocess.run(
                [args.binary, "embed", "--model", args.model, "--input", path,
                 "--repeats", str(args.repeats), "--threads", str(args.threads)],
                check=True, capture_output=True, text=True).stdout
            ms = float(re.search(r"median of \d+: ([0-9.]+) ms", out).group(1))
            swift.append(ms / 1e3)
            model.encode(sentences)  # warm-up
            for _ in range(args.repeats):
                t = time.perf_counter()
                model.encode(sentences)
                torch_runs.append(time.perf_counter() - t)
    finally:
        os.unlink(path)
    s, p = statistics.median(swift), statistics.median(torch_runs)
    n = len(sentences)
    print(f"swift  attention embed:   {s * 1e3:8.1f} ms  {n / s:7.1f} sentences/s  (median of {args.rounds} rounds' medians)")
    print(f"sentence-transformers:    {p * 1e3:8.1f} ms  {n / p:7.1f} sentences/s  (median of {len(torch_runs)} runs)")
    print(f"ratio (swift / PyTorch sentences/s): {p / s:.2f}x")


if __name__ == "__main__":
    main()
