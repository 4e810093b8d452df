#!/bin/sh
# transformers' LlamaTokenizer built from a .model that lm-bpe wrote gives
# lm-tokenize's ids, line by line, on the hard tokenizer corpus (valid UTF-8
# lines). LlamaTokenizerFast is reported beside it, not required: its
# conversion from SentencePiece differs on some lines for Meta's own
# tokenizer.model too.
set -eu
cd "$(dirname "$0")/../.."
. tests/ref/venv.rc hf_tok
$venv/bin/python -c 'import google.protobuf' 2>/dev/null || $venv/bin/pip install -q protobuf ||
	{ echo "hf_tok: SKIPPED: pip could not install protobuf"; exit 0; }
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-hftok.XXXXXX")
trap 'rm -rf "$W"' EXIT
model=tests/data/tok_bpe_lmbpe.model
gzip -dc tests/data/tok_corpus.txt.gz >"$W/corpus.txt"
bin/lm-tokenize -m $model "$W/corpus.txt" >"$W/lm.ids"
$venv/bin/python tests/ref/hf_tok.py $model "$W/corpus.txt" "$W/lm.ids"
