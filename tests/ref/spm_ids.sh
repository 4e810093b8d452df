#!/bin/sh
# Reference ids for tests/tokenize.t from Debian's python3-sentencepiece.
#   sh tests/ref/spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]
# With no arguments: the committed corpus (regenerated first) and Llama 2's
# tokenizer.model from ../shared/assets. Other models (e.g. one lm-bpe trained)
# pass all four paths and compare the same way (see tests/tokenize.t).
set -eu
cd "$(dirname "$0")/.."/..
if [ $# -eq 0 ]; then
	model=${LMKIT_ASSETS:-../shared/assets}/tokenizer.model
	if [ ! -r "$model" ]; then echo "spm_ids: no $model; skipped"; exit 0; fi
	/usr/bin/python3 tests/ref/gen_tok_corpus.py tests/data/tok_corpus.txt.gz
	set -- "$model" tests/data/tok_corpus.txt.gz tests/data/tok_corpus.ids.gz tests/data/tok_corpus.decoded.gz
fi
[ $# -eq 4 ] || { echo "usage: spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]" >&2; exit 2; }
/usr/bin/python3 tests/ref/spm_ids.py "$@"
echo "spm_ids: wrote $3 and $4"
