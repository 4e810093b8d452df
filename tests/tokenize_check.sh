#!/bin/sh
# Compare lm-tokenize with SentencePiece's reference output for one model:
#   sh tests/tokenize_check.sh MODEL CORPUS IDS.gz DECODED.gz [JOBS]
# IDS.gz and DECODED.gz are what tests/ref/spm_ids.sh wrote for MODEL and
# CORPUS. Exits 0 when encoding gives the same ids and decoding those ids the
# same bytes, line for line; otherwise prints the first differing line.
set -u
model=$1 corpus=$2 ids=$3 decoded=$4 jobs=${5:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
lm-tokenize -m "$model" -j "$jobs" --no-bos "$corpus" > "$tmp/ids" || exit 1
gzip -dc "$ids" > "$tmp/want.ids" || exit 1
first_diff() {
	cmp "$1" "$2" >/dev/null && return 0
	n=$(cmp "$1" "$2" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p')
	echo "$3 differ at line ${n:-?}:" >&2
	echo "  got:  $(sed -n "${n:-1}p" "$1" | cut -c1-300)" >&2
	echo "  want: $(sed -n "${n:-1}p" "$2" | cut -c1-300)" >&2
	return 1
}
first_diff "$tmp/ids" "$tmp/want.ids" "ids" || exit 1
lm-tokenize -d -m "$model" "$tmp/want.ids" > "$tmp/text" || exit 1
gzip -dc "$decoded" > "$tmp/want.text" || exit 1
first_diff "$tmp/text" "$tmp/want.text" "decoded texts" || exit 1
