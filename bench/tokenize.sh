#!/bin/sh
# Encoding speed of lm-tokenize against Debian's spm_encode and Hugging Face
# tokenizers (from PyPI, in bench/venv.rc's virtual environment) on ~4 MB of English,
# line by line, with Llama 2's tokenizer.model. Prints MB/s and ratios against
# spm_encode measured in the same run; never fails on speed.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
M=${LMKIT_ASSETS:-../shared/assets}/tokenizer.model
[ -r "$M" ] || { echo "tokenize: no $M; skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# English from files every Debian system has: licenses and package copyright notices
{ cat /usr/share/common-licenses/*; find /usr/share/doc -name copyright | sort | xargs cat; } 2>/dev/null |
	tr -d '\r' | grep -v '^[[:space:]]*$' > "$tmp/all.txt"
: > "$tmp/en.txt"
while [ "$(wc -c < "$tmp/en.txt")" -lt 4000000 ]; do cat "$tmp/all.txt" >> "$tmp/en.txt"; done
head -c 4000000 "$tmp/en.txt" | sed '$d' > "$tmp/in.txt"
bytes=$(wc -c < "$tmp/in.txt")
mb=$(echo "$bytes" | awk '{printf "%.2f", $1 / 1e6}')

# wall seconds, and CPU seconds (user + system) where /usr/bin/time exists: on a
# loaded machine the CPU figures say more about the code than the wall ones
secs() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -o "$tmp/time" -f "%e %U %S" "$@" > /dev/null
		awk '{printf "%.3f %.3f", $1, $2 + $3}' "$tmp/time"
	else
		s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
		echo "$s $e" | awk '{printf "%.3f -", $2 - $1}'
	fi
}
rate() { echo "$bytes $1" | awk '{printf "%.1f", $1 / 1e6 / $2}'; }
# "WALL CPU" of a run against spm_encode's: MB/s and ratios
report() {
	w=${2% *} c=${2#* }
	line=$(printf '%-28s %6s MB/s' "$1" "$(rate "$w")")
	if [ -n "$t_spm" ]; then
		line="$line $(echo "${t_spm% *} $w" | awk '{printf "%5.1fx", $1 / $2}')"
		[ "$c" != - ] && [ "${t_spm#* }" != - ] &&
			line="$line   CPU $(rate "$c") MB/s $(echo "${t_spm#* } $c" | awk '{printf "%5.1fx", $1 / $2}')"
	fi
	echo "$line${3:-}"
}

echo "input: $mb MB of English, $(wc -l < "$tmp/in.txt") lines; model $M"
echo "MB/s and ratio to spm_encode by wall time, then by CPU time (user + system)"
bin/lm-tokenize -m "$M" --no-bos -j 1 "$tmp/in.txt" > "$tmp/in.txt.lmkit"
t_spm=
if command -v spm_encode > /dev/null; then
	spm_encode --model="$M" --output_format=id < "$tmp/in.txt" > "$tmp/spm.ids"
	if cmp -s "$tmp/spm.ids" "$tmp/in.txt.lmkit"; then same=identical; else same=DIFFERENT; fi
	t_spm=$(secs spm_encode --model="$M" --output_format=id < "$tmp/in.txt")
	report "spm_encode (1 thread)" "$t_spm" "  (ids $same to lm-tokenize's)"
else
	echo "PEER MISSING: spm_encode (apt-get install sentencepiece)"
fi
for j in 1 2; do
	report "lm-tokenize -j $j" "$(secs bin/lm-tokenize -m "$M" --no-bos -j $j "$tmp/in.txt")"
done
. bench/venv.rc
if [ -n "$bench_py" ] && "$bench_py" -c 'import tokenizers' 2> /dev/null; then
	for j in 1 2; do
		out=$(RAYON_NUM_THREADS=$j "$bench_py" bench/hf_tokenize.py "$M" "$tmp/in.txt" $j)
		report "HF tokenizers, $j thread(s)" "${out%% *} -" "  (lines equal to lm-tokenize: ${out#* })"
	done
else
	echo "PEER MISSING: HF tokenizers (not in ${bench_py:-bench/venv.rc's virtual environment})"
fi
