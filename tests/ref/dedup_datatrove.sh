#!/bin/sh
# datatrove's MinHash clusters (5-grams, 14 x 8, bench/dedup_datatrove.py) on a
# corpus from the planting generator, kept as tests/data/dedup_datatrove.tsv
# ("id<TAB>cluster" for every document datatrove put in a cluster), against which
# tests/dedup_datatrove.t compares lm-dedup's clusters. Needs the PATH python3 to
# have datatrove and xxhash<4 (python3 -m pip install datatrove 'xxhash<4').
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-dedup-ref.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 -o "$tmp/gen" "$ROOT/tests/gen_neardup.c"
"$tmp/gen" -n 1500 -s 5 -w 60 -m 0 > "$tmp/corpus.jsonl"   # the same call as tests/dedup_datatrove.t
python3 "$ROOT/bench/dedup_datatrove.py" "$tmp/corpus.jsonl" "$tmp/dt" "$tmp/dt.tsv" 2> "$tmp/dt.log" ||
	{ tail -20 "$tmp/dt.log"; exit 1; }
mv "$tmp/dt.tsv" "$ROOT/tests/data/dedup_datatrove.tsv"
echo "tests/data/dedup_datatrove.tsv: $(wc -l < "$ROOT/tests/data/dedup_datatrove.tsv") documents in datatrove's clusters"
