#!/bin/sh
# Reference ids for tests/tokenize.t from Debian's python3-sentencepiece.
#   sh tests/ref/spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]
# With no arguments: the committed corpus (regenerated first) with Llama 2's
# tokenizer.model and with tok512.model from ../shared/assets, and two small
# models made by spm_train on part of it. Other models (e.g. one lm-bpe trained)
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
	# two small BPE models from spm_train for the rarer paths: user-defined
	# symbols without byte fallback (unknown characters fold into one <unk>),
	# and whitespace as suffix (no segment cache); checked on every 8th line
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	gzip -dc tests/data/tok_corpus.txt.gz | head -3000 > "$tmp/train.txt"
	gzip -dc tests/data/tok_corpus.txt.gz | awk 'NR % 8 == 1' | gzip -n > tests/data/tok_small.txt.gz
	spm_train --input="$tmp/train.txt" --model_prefix="$tmp/ud" --model_type=bpe --vocab_size=800 \
		--normalization_rule_name=identity --user_defined_symbols='<sep>,foo,▁▁x' --byte_fallback=false \
		--remove_extra_whitespaces=false --character_coverage=0.98 --num_threads=1 --minloglevel=2 >/dev/null 2>&1
	spm_train --input="$tmp/train.txt" --model_prefix="$tmp/sfx" --model_type=bpe --vocab_size=800 \
		--normalization_rule_name=identity --treat_whitespace_as_suffix=true --byte_fallback=true \
		--num_threads=1 --minloglevel=2 >/dev/null 2>&1
	cp "$tmp/ud.model" tests/data/tok_bpe_ud.model
	cp "$tmp/sfx.model" tests/data/tok_bpe_suffix.model
	# and one with UNUSED pieces, which SentencePiece splits back after merging
	make -s build/ref/spm_unused
	build/ref/spm_unused tests/data/tok_bpe_ud.model tests/data/tok_bpe_unused.model
	# a model trained by lm-bpe itself (Llama 2's options) on the corpus, held to
	# SentencePiece's ids on the whole of it
	gzip -dc tests/data/tok_corpus.txt.gz | bin/lm-bpe -p -n 4000 --character-coverage 0.98 \
		-o tests/data/tok_bpe_lmbpe.model -
	/usr/bin/python3 tests/ref/spm_ids.py tests/data/tok_bpe_lmbpe.model tests/data/tok_corpus.txt.gz \
		tests/data/tok_corpus.lmbpe.ids.gz tests/data/tok_corpus.lmbpe.decoded.gz
	for m in ud suffix unused; do
		/usr/bin/python3 tests/ref/spm_ids.py tests/data/tok_bpe_$m.model tests/data/tok_small.txt.gz \
			tests/data/tok_small.$m.ids.gz tests/data/tok_small.$m.decoded.gz
	done
	set -- "$a/tokenizer.model" tests/data/tok_corpus.txt.gz tests/data/tok_corpus.ids.gz tests/data/tok_corpus.decoded.gz
fi
[ $# -eq 4 ] || { echo "usage: spm_ids.sh [MODEL CORPUS IDS_OUT DECODED_OUT]" >&2; exit 2; }
/usr/bin/python3 tests/ref/spm_ids.py "$@"
echo "spm_ids: wrote $3 and $4"
