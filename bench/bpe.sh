#!/bin/sh
# BPE training: lm-bpe next to spm_train (SentencePiece 0.1.97, Debian package
# sentencepiece) with the same options (Llama 2's), for vocabularies of 4096 and
# 32000 pieces on a >= 20 MB English corpus: wall and CPU time, peak RSS, and the
# tokens each model gives a held-out twentieth of the corpus.
#
# The corpus is public text from Debian packages, built once into
# $BPE_CORPUS_DIR (default ${TMPDIR:-/tmp}/lmkit-bpe-corpus): the King James
# Bible (package bible-kjv, 4.1 MB) and the installed manual pages rendered to
# plain text with mandoc, up to 24 MB in all. Every twentieth line is held out.
# "sh bench/bpe.sh corpus" only builds it and prints its directory
# (tests/ref/bpe_quality.sh uses it).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
dir=${BPE_CORPUS_DIR:-${TMPDIR:-/tmp}/lmkit-bpe-corpus}
mkdir -p "$dir"

if ! command -v spm_train >/dev/null 2>&1 || ! command -v spm_encode >/dev/null 2>&1; then
	echo "bpe: PEER MISSING: spm_train/spm_encode (apt-get install sentencepiece): lm-bpe not measured"
	exit 0
fi
[ -x /usr/bin/time ] || { echo "bpe: MISSING: /usr/bin/time (apt-get install time): not measured"; exit 0; }

if [ ! -s "$dir/train.txt" ]; then
	echo "bpe: building the corpus in $dir (once)"
	if ! command -v bible >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bible-kjv >/dev/null 2>&1
	fi
	: > "$dir/all.txt"
	# "Ge1:1 In the beginning..." -> the verse text
	command -v bible >/dev/null 2>&1 && bible -f 'gen1:1-rev22:21' | sed 's/^[^ ]* //' >> "$dir/all.txt"
	for f in /usr/share/man/man[1-8]/*; do
		[ "$(wc -c < "$dir/all.txt")" -ge 24000000 ] && break
		MANWIDTH=200 mandoc -Tutf8 "$f" 2>/dev/null | col -bx | sed 's/^ *//; s/  */ /g' | grep -v '^$' >> "$dir/all.txt"
	done
	awk -v d="$dir" 'NR % 20 == 0 { print > (d "/held.txt"); next } { print }' "$dir/all.txt" > "$dir/train.txt"
	rm -f "$dir/all.txt"
fi
train=$dir/train.txt held=$dir/held.txt
[ "${1:-}" = corpus ] && { echo "$dir"; exit 0; }
echo "bpe: corpus $(wc -c < "$train") bytes to train on, $(wc -c < "$held") held out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bpe-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# measure NAME CMD...: sets wall, cpu (user + sys seconds) and rss (KB)
measure() {
	/usr/bin/time -v -o "$tmp/time" "$@" > "$tmp/out" 2>&1 || { cat "$tmp/out" "$tmp/time" >&2; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$tmp/time")
	cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$tmp/time")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time")
}

printf '%-7s %-10s %8s %8s %9s %12s\n' vocab trainer wall_s cpu_s rss_MB held_tokens
for v in 4096 32000; do
	measure "$BIN/lm-bpe" -p -n $v -o "$tmp/lm.model" "$train"
	lw=$wall lc=$cpu lr=$rss
	measure spm_train --input="$train" --model_prefix="$tmp/spm" --vocab_size=$v --model_type=bpe \
		--character_coverage=0.99995 --split_digits=true --byte_fallback=true \
		--allow_whitespace_only_pieces=true --normalization_rule_name=identity \
		--remove_extra_whitespaces=false --max_sentencepiece_length=16 --max_sentence_length=4192
	sw=$wall sc=$cpu sr=$rss
	lt=$(spm_encode --model="$tmp/lm.model" --output_format=id < "$held" | wc -w)
	st=$(spm_encode --model="$tmp/spm.model" --output_format=id < "$held" | wc -w)
	awk -v v=$v -v w="$lw" -v c="$lc" -v r="$lr" -v t="$lt" 'BEGIN { printf "%-7s %-10s %8.2f %8.2f %9.1f %12d\n", v, "lm-bpe", w, c, r / 1024, t }'
	awk -v v=$v -v w="$sw" -v c="$sc" -v r="$sr" -v t="$st" 'BEGIN { printf "%-7s %-10s %8.2f %8.2f %9.1f %12d\n", v, "spm_train", w, c, r / 1024, t }'
	awk -v lw="$lw" -v sw="$sw" -v lc="$lc" -v sc="$sc" -v lr="$lr" -v sr="$sr" -v lt="$lt" -v st="$st" -v v=$v 'BEGIN {
		printf "vocab %d: lm-bpe is %.1fx faster (wall; target >= 2x), %.1fx less CPU, uses %.2fx the memory (target <= 0.5x); held-out tokens %+.2f%% vs spm_train (target within 2%%)\n",
			v, sw / (lw > 0.005 ? lw : 0.005), sc / (lc > 0.005 ? lc : 0.005), lr / sr, 100 * (lt - st) / st }'
done
