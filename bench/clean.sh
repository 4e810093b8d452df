#!/bin/sh
# lm-clean's speed with all rules on a generated corpus (bench/gencorpus.c, 200 MB
# by default: MB=...), next to the floor of any .jsonl.gz stage (gzip -dc | wc -l)
# and to datatrove's Gopher repetition + Gopher quality + C4 filters on a prefix of
# the same corpus (DT_MB, 10 MB by default: datatrove is too slow for all of it;
# it runs in bench/venv.rc's virtual environment).
# Prints MB/s (uncompressed input per wall second) and peak RSS; never fails on speed.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. bench/venv.rc
MB=${MB:-200}
DT_MB=${DT_MB:-10}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench-clean.XXXXXX")
trap 'rm -rf "$W"' EXIT
cc -O2 -o "$W/gencorpus" bench/gencorpus.c
"$W/gencorpus" "$MB" 1 > "$W/corpus.jsonl"
gzip -1 -c "$W/corpus.jsonl" > "$W/corpus.jsonl.gz"
size=$(wc -c < "$W/corpus.jsonl")
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# timed CMD...: wall seconds, user+sys seconds and peak RSS (KB) of CMD into $W/t
timed() { /usr/bin/time -f '%e %U %S %M' -o "$W/t" "$@"; }

echo "corpus: $(awk -v b="$size" 'BEGIN { printf "%.0f MB", b / 1e6 }'), $(wc -l < "$W/corpus.jsonl") documents; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
cpu_of() { read -r wall user sys rss < "$W/t"; awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }'; }
dt_rate=
if [ -n "$bench_py" ] && "$bench_py" -c 'import datatrove, spacy' 2>/dev/null; then
	head -c "$((DT_MB * 1000000))" "$W/corpus.jsonl" | sed '$d' > "$W/prefix.jsonl"
	psize=$(wc -c < "$W/prefix.jsonl")
	timed "$bench_py" bench/clean_datatrove.py "$W/prefix.jsonl" > "$W/dt.out"
	cp "$W/t" "$W/t.dt"
	dt_rate=$(mbs "$psize" "$(cpu_of)")
else
	echo "PEER MISSING: datatrove and spaCy (not in ${bench_py:-bench/venv.rc's virtual environment}); no datatrove row"
fi
# MB/s: uncompressed input per wall second; CPU MB/s: per second of user+system time
# (one core; steadier than wall time on a shared machine); vs datatrove: CPU MB/s ratio.
printf '%-42s %8s %9s %13s %9s\n' "stage" "MB/s" "CPU MB/s" "vs datatrove" "peak RSS"
row() {   # name bytes
	read -r wall user sys rss < "$W/t"
	cpu=$(mbs "$2" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
	ratio=-
	[ -n "$dt_rate" ] && ratio=$(awk -v a="$cpu" -v b="$dt_rate" 'BEGIN { printf "%.0fx", a / b }')
	printf '%-42s %8s %9s %13s %6s MB\n' "$1" "$(mbs "$2" "$wall")" "$cpu" "$ratio" "$((rss / 1024))"
}
if [ -n "$dt_rate" ]; then
	cp "$W/t.dt" "$W/t"
	row "datatrove gopher-rep + gopher-qual + c4 *" "$psize"
fi
timed sh -c "gzip -dc '$W/corpus.jsonl.gz' | wc -l > /dev/null"
row "gzip -dc | wc -l (floor for .gz)" "$size"
timed bin/lm-clean -o /dev/null "$W/corpus.jsonl"
row "lm-clean, all rules" "$size"
timed bin/lm-clean -o "$W/out.jsonl.gz" "$W/corpus.jsonl.gz"
row "lm-clean, all rules, .gz in and out" "$size"
timed bin/lm-clean --only gopher-repetition,gopher-quality,c4 -o /dev/null "$W/corpus.jsonl"
row "lm-clean gopher-rep + gopher-qual + c4" "$size"
# memory: one 52 MB document of ordinary words (the one tests/clean.t checks), peak RSS
# against its size
awk 'BEGIN { printf "{\"id\":\"big\",\"text\":\""; for (i = 0; i < 1500000; i++) printf "word%d is here and the end of it. ", i % 1000; print "\"}" }' > "$W/big.jsonl"
bsize=$(wc -c < "$W/big.jsonl")
timed bin/lm-clean -o /dev/null "$W/big.jsonl"
row "lm-clean, one $((bsize / 1000000)) MB document" "$bsize"
read -r wall user sys rss < "$W/t"
echo "  its peak RSS is $(awk -v r="$rss" -v s="$bsize" 'BEGIN { printf "%.1f", r * 1024 / s }') times the document"
if [ -n "$dt_rate" ]; then
	read -r docs kept mb secs rate < "$W/dt.out"
	bin/lm-clean --only gopher-repetition,gopher-quality,c4 -o "$W/lm.out" "$W/prefix.jsonl"
	echo "* on the first $DT_MB MB: datatrove kept $kept of $docs documents, lm-clean $(wc -l < "$W/lm.out")"
fi
