#!/bin/sh
# tests/data/tok_unigram.model: a tiny SentencePiece unigram model, which
# lm-tokenize must refuse ("unsupported model type"). Needs Debian's spm_train.
# Its scores differ a little from run to run; only its type matters to the tests.
set -eu
cd "$(dirname "$0")/.."/..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 20000 /usr/share/common-licenses/GPL-3 > "$tmp/in.txt"
spm_train --input="$tmp/in.txt" --model_prefix="$tmp/uni" --model_type=unigram --vocab_size=100 \
	--normalization_rule_name=identity --num_threads=1 --minloglevel=2 >/dev/null 2>&1
cp "$tmp/uni.model" tests/data/tok_unigram.model
echo "tok_unigram: wrote tests/data/tok_unigram.model"
