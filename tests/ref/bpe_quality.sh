#!/bin/sh
# lm-bpe against spm_train at Llama 2's options, 4096 and 32000 pieces, on the
# 24 MB corpus of bench/bpe.sh: SentencePiece loads lm-bpe's model, lm-tokenize
# gives spm_encode's ids with it, and on held-out text it gives within 2% of the
# tokens spm_train's model gives. Fails otherwise. Nothing is written to the tree.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$ROOT/${LMKIT_BIN:-bin}:$PATH
dir=$(sh "$ROOT/bench/bpe.sh" corpus | tail -1)
train=$dir/train.txt held=$dir/held.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bpe-ref.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
for v in 4096 32000; do
	lm-bpe -p -n $v -o "$tmp/lm.model" "$train"
	spm_train --input="$train" --model_prefix="$tmp/spm" --vocab_size=$v --model_type=bpe \
		--character_coverage=0.99995 --split_digits=true --byte_fallback=true \
		--allow_whitespace_only_pieces=true --normalization_rule_name=identity \
		--remove_extra_whitespaces=false --max_sentencepiece_length=16 \
		--max_sentence_length=4192 >"$tmp/spm.log" 2>&1
	spm_encode --model="$tmp/lm.model" --output_format=id < "$held" > "$tmp/lm.ids"
	spm_encode --model="$tmp/spm.model" --output_format=id < "$held" > "$tmp/spm.ids"
	lm-tokenize -m "$tmp/lm.model" --no-bos "$held" > "$tmp/lmtok.ids"
	if cmp -s "$tmp/lm.ids" "$tmp/lmtok.ids"; then
		echo "bpe_quality: vocab $v: lm-tokenize gives spm_encode's ids on the held-out text"
	else
		echo "bpe_quality: vocab $v: lm-tokenize and spm_encode disagree: $(cmp "$tmp/lm.ids" "$tmp/lmtok.ids" 2>&1)"
		fail=1
	fi
	lt=$(wc -w < "$tmp/lm.ids") st=$(wc -w < "$tmp/spm.ids") b=$(wc -c < "$held")
	shared=$(cut -f1 "$tmp/spm.vocab" | sort > "$tmp/a"; spm_export_vocab --model="$tmp/lm.model" | cut -f1 | sort | comm -12 "$tmp/a" - | wc -l)
	awk -v v=$v -v lt=$lt -v st=$st -v b=$b -v sh=$shared 'BEGIN {
		d = 100 * (lt - st) / st
		printf "bpe_quality: vocab %d: tokens/byte %.5f (lm-bpe) vs %.5f (spm_train), %+.3f%%; %d pieces shared\n", v, lt / b, st / b, d, sh
		exit (d > 2 || d < -2) }' || fail=1
done
exit $fail
