#!/usr/bin/env python3
"""Writes the fixtures of Tests/AttentionModelsTests from the real Hugging Face libraries.

    scripts/fetch-minilm.sh                       # the model folder
    pip install transformers sentence-transformers
    flock /tmp/swiftattention-cpu.lock python3 scripts/make_minilm_fixtures.py [MODEL_DIR]

Writes (small, committed):
  Tests/AttentionModelsTests/Fixtures/minilm_tokens.json
      for each tricky string: the ids of `tokenizers` (the fast BertTokenizer of the model
      folder's tokenizer.json) with [CLS]/[SEP] and no truncation ("ids"), and truncated to
      sentence-transformers' max_seq_length 256 ("ids_256").
  Tests/AttentionModelsTests/Fixtures/minilm_embeddings.json
      sentence-transformers' normalised mean-pooled embeddings (float32, printed as the
      shortest decimals that round-trip) of >= 10 sentences, the first 8 components of every
      token's hidden state after the embeddings and after each layer for the first two
      sentences (transformers' BertModel), and the library versions that made them.
The Swift package and its tests never run Python; this script runs once, by hand.
"""
import json
import os
import sys

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "AttentionModelsTests", "Fixtures")
DEFAULT = os.environ.get("SWIFT_ATTENTION_MINILM") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "swift-attention", "all-MiniLM-L6-v2")

TRICKY = [
    "",
    "   ",
    "Hello, World!",
    "The quick brown fox jumps over the lazy dog.",
    "HeLLo WoRLD, MiXeD CaSe",
    "Café naïve résumé façade Ångström Øresund Straße",
    "İstanbul ǅemal ﬁne ﬂow ½ ² ℌ",  # compatibility characters, dotted capital I
    "Ελληνικά: Σίσυφος ΟΔΥΣΣΕΥΣ; русский текст",
    "Wait... what?!?! (yes) [no] {maybe} <tag> @user #hash $100 50% a&b ~x^y `q` |p|",
    "----====****____////\\\\\\\\",
    "Numbers: 3.14159, 1,000,000, 42nd, 2026-11-30, 0x1F, 1e-9, ٣٤٥",
    "Emoji 😀🎉👍🏽 and flags 🇫🇷 and ZWJ 👨‍👩‍👧 sequences",
    "中文分词测试，你好世界！日本語のテキストとカタカナ。한국어 텍스트",
    "mixed中文and English混合",
    "tab\tnewline\nreturn\r\nnbsp\u00a0zero\u200bwidth\u200dsoft\u00adhyphen",
    "control\x00char\x07bell\x1b[0m escape \ufffd replacement \ue000 private",
    "a" * 99,
    "b" * 100,
    "c" * 101,
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "Supercalifragilisticexpialidocious" * 4,
    "unbelievably un-believ-ably UNBELIEVABLY",
    "don't can't won't it's John's O'Neil",
    "e-mail: someone@example.com, URL: https://example.org/path?q=1&r=2#frag",
    "Arabic مرحبا بالعالم Hebrew שלום עולם Thai สวัสดีชาวโลก Hindi नमस्ते दुनिया",
    "combining: e\u0301 a\u0308 n\u0303 o\u0302 (decomposed) vs é ä ñ ô (composed)",
    " ".join(["token"] * 300),
    " ".join(f"word{i} and, more; punctuation!" for i in range(80)),
]

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The cat sat on the mat and then left.",
    "Hi",
    "",
    "Café naïve résumé — déjà vu, 100% sure!!!",
    "中文句子也可以嵌入吗？",
    "Attention is all you need: the Transformer relies entirely on self-attention to compute "
    "representations of its input and output without using sequence-aligned RNNs or "
    "convolution. " * 3,
    " ".join(["long"] * 400),
]


def hidden_states(model_dir, tok, sentences, components=8):
    """Per layer (embeddings, then each block), per token: the first `components` values of
    transformers' BertModel hidden states, for a per-layer check that stays small."""
    bert = AutoModel.from_pretrained(model_dir)
    bert.eval()
    result = []
    for text in sentences:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            states = bert(**enc, output_hidden_states=True).hidden_states
        result.append([[[float(str(np.float32(v))) for v in token[:components].tolist()]
                         for token in layer[0]] for layer in states])
    return result


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.is_fast, "expected the fast (Rust `tokenizers`) tokenizer"
    cases = []
    for text in TRICKY:
        full = tok(text, add_special_tokens=True, truncation=False)["input_ids"]
        cut = tok(text, add_special_tokens=True, truncation=True, max_length=256)["input_ids"]
        cases.append({"text": text, "ids": full, "ids_256": cut})
    assert any(len(c["ids"]) > 256 for c in cases)
    versions = {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "minilm_tokens.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": versions, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")

    model = SentenceTransformer(model_dir, device="cpu")
    emb = model.encode(SENTENCES, batch_size=32, convert_to_numpy=True,
                       normalize_embeddings=False).astype(np.float32)
    ids = [tok(s, truncation=True, max_length=model.max_seq_length)["input_ids"]
           for s in SENTENCES]
    with open(os.path.join(OUT, "minilm_embeddings.json"), "w", encoding="utf-8") as f:
        json.dump({
            "versions": versions,
            "max_seq_length": model.max_seq_length,
            "sentences": SENTENCES,
            "ids": ids,
            # The shortest decimal that round-trips each float32.
            "embeddings": [[float(str(np.float32(v))) for v in row] for row in emb],
            "hidden_states": hidden_states(model_dir, tok, SENTENCES[:2]),
        }, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} token cases and {len(SENTENCES)} embeddings to {OUT}")


if __name__ == "__main__":
    main()
