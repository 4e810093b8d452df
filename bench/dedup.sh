#!/bin/sh
# lm-dedup speed and memory on a generated corpus (>= 200 MB, in $TMPDIR, never
# committed), next to its peers measured in the same run: `gzip -dc | wc -l`
# (reading the input at all) and `sort -u` (exact dedup of identical lines) for
# --exact, datatrove's four MinHash stages for MinHash (bench/venv.rc's virtual
# environment). MB/s are per CPU
# second (user + sys), because the machine may be shared; wall seconds are
# shown too. Never fails on speed. Run by `make bench`; about 2 to 5 minutes.
#   DEDUP_BENCH_DOCS   documents to generate (default 150000, about 200 MB)
#   DEDUP_BENCH_DT     documents of the corpus's start given to datatrove (2000;
#                      it runs at well under 1 MB/s, see the output)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
. "$ROOT/bench/venv.rc"
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench-dedup.XXXXXX")
trap 'rm -rf "$W"' EXIT
ndocs=${DEDUP_BENCH_DOCS:-150000}
dtdocs=${DEDUP_BENCH_DT:-2000}

${CC:-cc} -O2 -o "$W/gen" "$ROOT/tests/gen_neardup.c"
"$W/gen" -n "$ndocs" -s 1 -w 200 > "$W/corpus.jsonl"
gzip -1 -c "$W/corpus.jsonl" > "$W/corpus.jsonl.gz"
MB=$(wc -c < "$W/corpus.jsonl" | awk '{ printf "%.1f", $1 / 1e6 }')
echo "corpus: $ndocs documents, $MB MB (tests/gen_neardup.c -n $ndocs -s 1 -w 200)"

# measure NAME MB CMD: one line of figures; the CPU seconds go to $W/NAME.cpu
measure() {
	name=$1 mb=$2; shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$W/t" sh -c "$*" || { echo "$name: failed"; return 0; }
	tail -1 "$W/t" | awk -v n="$name" -v mb="$mb" '{ cpu = $2 + $3; if (cpu <= 0) cpu = 0.01;
		printf "%-34s %8.1f MB %7.2f s wall %7.2f s cpu %8.1f MB/s %7.0f MB peak RSS\n", n, mb, $1, cpu, mb / cpu, $4 / 1024 }'
	tail -1 "$W/t" | awk -v mb="$mb" '{ cpu = $2 + $3; if (cpu <= 0) cpu = 0.01; print mb / cpu }' > "$W/$name.rate"
}
rate() { cat "$W/$1.rate" 2>/dev/null || echo 0; }
ratio() { awk -v a="$(rate "$1")" -v b="$(rate "$2")" -v l="$3" 'BEGIN { if (b > 0) printf "  %s: %.1fx\n", l, a / b }'; }

echo "== exact"
measure gzip-dc-wc "$MB" "gzip -dc '$W/corpus.jsonl.gz' | wc -l > /dev/null"
measure sort-u "$MB" "LC_ALL=C sort -u --parallel=1 -S 1G -T '$W' '$W/corpus.jsonl' > '$W/sorted'"
measure lm-dedup-exact "$MB" "'$BIN/lm-dedup' --exact '$W/corpus.jsonl' > '$W/exact.jsonl'"
measure lm-dedup-exact-gz "$MB" "'$BIN/lm-dedup' --exact '$W/corpus.jsonl.gz' > '$W/exact.jsonl'"
ratio lm-dedup-exact sort-u "lm-dedup --exact vs sort -u (per CPU second)"
ratio lm-dedup-exact-gz gzip-dc-wc "lm-dedup --exact on .gz vs gzip -dc | wc -l"

echo "== MinHash"
measure lm-dedup-minhash "$MB" "'$BIN/lm-dedup' '$W/corpus.jsonl' > '$W/near.jsonl'"
echo "  kept $(wc -l < "$W/near.jsonl") of $ndocs"

# sharded: 4 shards; the clusters stage bounded by --mem
mem=64
split -d -n l/4 "$W/corpus.jsonl" "$W/part."
measure lm-dedup-sig-4-shards "$MB" "for p in '$W'/part.0?; do '$BIN/lm-dedup' sig -o \$p.sig \$p || exit 1; done"
measure "lm-dedup-clusters-mem-${mem}M" "$MB" "'$BIN/lm-dedup' clusters -v --mem ${mem}M -o '$W/c.clu' '$W'/part.0?.sig 2> '$W/clu.err'"
rss=$(tail -1 "$W/t" | cut -d' ' -f4)
sed 's/^/  /' "$W/clu.err"
echo "  clusters peak RSS $((rss / 1024)) MB with --mem ${mem}M: $([ $((rss / 1024)) -le $mem ] && echo within || echo OVER) the bound"
measure lm-dedup-clusters-mem-16M "$MB" "'$BIN/lm-dedup' clusters -v --mem 16M -o '$W/c16.clu' '$W'/part.0?.sig 2> '$W/clu16.err'"
rss=$(tail -1 "$W/t" | cut -d' ' -f4)
sed 's/^/  /' "$W/clu16.err"
echo "  clusters peak RSS $((rss / 1024)) MB with --mem 16M: $([ $((rss / 1024)) -le 16 ] && echo within || echo OVER) the bound"
cmp -s "$W/c.clu" "$W/c16.clu" && echo "  same clusters file as with --mem ${mem}M" || echo "  WARNING: the clusters file differs from the one made with --mem ${mem}M"
measure lm-dedup-filter-4-shards "$MB" "i=0; for p in '$W'/part.0?; do '$BIN/lm-dedup' filter -c '$W/c.clu' -s \$i \$p || exit 1; i=\$((i + 1)); done > '$W/sharded.jsonl'"
if cmp -s "$W/sharded.jsonl" "$W/near.jsonl"; then echo "  sharded output = one-stream output, byte for byte"; else echo "  WARNING: sharded output differs from the one-stream output"; fi

echo "== datatrove MinHash (the first $dtdocs documents)"
if [ -n "$bench_py" ] && "$bench_py" -c 'import datatrove, xxhash' 2>/dev/null; then
	head -n "$dtdocs" "$W/corpus.jsonl" > "$W/dt.jsonl"
	DTMB=$(wc -c < "$W/dt.jsonl" | awk '{ printf "%.2f", $1 / 1e6 }')
	measure datatrove-minhash "$DTMB" "cd '$W' && '$bench_py' '$ROOT/bench/dedup_datatrove.py' '$W/dt.jsonl' '$W/dt' > '$W/dt.out' 2> '$W/dt.err'"
	echo "  kept $(cut -d' ' -f5 "$W/dt.out" 2>/dev/null) of $dtdocs; lm-dedup keeps $("$BIN/lm-dedup" "$W/dt.jsonl" | wc -l) of them"
	measure lm-dedup-minhash-same-docs "$DTMB" "'$BIN/lm-dedup' '$W/dt.jsonl' > /dev/null"
	ratio lm-dedup-minhash datatrove-minhash "lm-dedup MinHash ($MB MB) vs datatrove ($DTMB MB), per CPU second"
else
	echo "  PEER MISSING: datatrove with 'xxhash<4' (not in ${bench_py:-bench/venv.rc's virtual environment})"
fi
