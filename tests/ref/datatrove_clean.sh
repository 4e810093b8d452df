#!/bin/sh
# Agreement of lm-clean's drop decisions with datatrove's filters of the same name,
# rule by rule, on a generated corpus (bench/gencorpus.c). Prints the figures and
# the disagreements; docs/CLEAN.md explains them. Regenerates the committed
# expected decisions tests/data/clean_dt_*.tsv used by tests/clean_ref.t.
# Needs datatrove and spacy in the PATH python3 (pip install datatrove spacy).
set -eu
cd "$(dirname "$0")/../.."
MB=${MB:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-dtclean.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 -c 'import datatrove, spacy' 2>/dev/null || { echo "datatrove_clean: needs 'pip install datatrove spacy'" >&2; exit 1; }
cc -O2 -o "$W/gencorpus" bench/gencorpus.c
"$W/gencorpus" "$MB" 7 > "$W/corpus.jsonl"
python3 tests/ref/datatrove_clean.py "$W/corpus.jsonl" "$W/dt"


n=$(wc -l < "$W/corpus.jsonl")
for r in gopher-repetition gopher-quality c4 fineweb; do
	bin/lm-clean --only "$r" -r "$W/$r.rej" -o /dev/null "$W/corpus.jsonl"
	# line numbers of dropped documents, both ways
	awk -F'\t' '$2 == "dropped" { print $1 }' "$W/dt/$r.tsv" | sort > "$W/$r.dt"
	sed 's/.*"line":\([0-9]*\).*/\1/' "$W/$r.rej" | sort > "$W/$r.lm"
	both=$(comm -12 "$W/$r.dt" "$W/$r.lm" | wc -l)
	only_dt=$(comm -23 "$W/$r.dt" "$W/$r.lm" | wc -l)
	only_lm=$(comm -13 "$W/$r.dt" "$W/$r.lm" | wc -l)
	agree=$((n - only_dt - only_lm))
	printf '%-18s docs %d  dropped by both %d  only datatrove %d  only lm-clean %d  agreement %d/%d (%s%%)\n' \
		"$r" "$n" "$both" "$only_dt" "$only_lm" "$agree" "$n" "$(awk -v a="$agree" -v n="$n" 'BEGIN { printf "%.2f", 100 * a / n }')"
	for l in $(comm -3 "$W/$r.dt" "$W/$r.lm" | tr -d '\t' | head -"${SHOW:-5}"); do
		dt=$(awk -F'\t' -v l="$l" '$1 == l { print $2 " " $3 }' "$W/dt/$r.tsv")
		lm=$(grep "\"line\":$l," "$W/$r.rej" | sed 's/.*"check":"\([^"]*\)","value":\([^}]*\)}/\1 \2/')
		echo "    line $l: datatrove: $dt; lm-clean: ${lm:-kept}"
	done
done
