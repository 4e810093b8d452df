#!/bin/sh
# Reference ids for tests/tokenize.t from Debian's python3-sentencepiece.
#   sh tests/ref/spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]
# With no arguments: the committed corpus (regenerated first) with Llama 2's
# tokenizer.model and with tok512.model from ../shared/assets. Other models (e.g. one lm-bpe trained)
# pass all four paths and compare the same way (see tests/tokenize.t).
set -eu
cd "$(dirname "$0")/.."/..
if [ $# -eq 0 ]; then
	a=${LMKIT_ASSETS:-../shared/assets}
	if [ ! -r "$a/tokenizer.model" ]; then echo "spm_ids: no $a/tokenizer.model; skipped"; exit 0; fi
	/usr/bin/python3 tests/ref/gen_tok_corpus.py tests/data/tok_corpus.txt.gz
	# tok512.model removes extra whitespace, Llama 2's model keeps it: both are checked
	/usr/bin/python3 tests/ref/spm_ids.py "$a/tok512.model" tests/data/tok_corpus.txt.gz \
		tests/data/tok_corpus.tok512.ids.gz tests/data/tok_corpus.tok512.decoded.gz
	set -- "$a/tokenizer.model" tests/data/tok_corpus.txt.gz tests/data/tok_corpus.ids.gz tests/data/tok_corpus.decoded.gz
fi
[ $# -eq 4 ] || { echo "usage: spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]" >&2; exit 2; }
/usr/bin/python3 tests/ref/spm_ids.py "$@"
echo "spm_ids: wrote $3 and $4"
