#!/bin/sh
# Agreement of lm-clean's drop decisions with datatrove's filters of the same name,
# rule by rule, on a generated corpus (bench/gencorpus.c). Prints the figures and
# the disagreements; docs/CLEAN.md explains them. Regenerates the committed
# corpus and datatrove decisions that tests/clean_ref.t checks lm-clean against.
# Needs datatrove and spacy in the PATH python3 (pip install datatrove spacy).
set -eu
cd "$(dirname "$0")/../.."
MB=${MB:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-dtclean.XXXXXX")
trap 'rm -rf "$W"' EXIT
# datatrove and spacy come from PyPI, not Debian: without them the comparison is
# skipped (loudly), so that the other references of make ref still run
python3 -c 'import datatrove, spacy' 2>/dev/null || {
	echo "datatrove_clean: SKIPPED: needs 'python3 -m pip install datatrove spacy' (PATH python3)" >&2
	exit 0
}
cc -O2 -o "$W/gencorpus" bench/gencorpus.c
"$W/gencorpus" "$MB" 7 > "$W/generated.jsonl"
# real English with URLs, addresses, lists and code: Debian's copyright files, one document each
python3 -c '
import glob, json, sys
for p in sorted(glob.glob("/usr/share/doc/*/copyright")):
    with open(p, encoding="utf-8", errors="replace") as f:
        print(json.dumps({"id": p, "text": f.read()}))' > "$W/copyright.jsonl"
# the small committed corpus and datatrove's decisions on it, checked by tests/clean_ref.t
"$W/gencorpus" 0.3 11 > tests/data/clean_ref_corpus.jsonl
python3 tests/ref/datatrove_clean.py tests/data/clean_ref_corpus.jsonl "$W/dt-small"
for r in gopher-repetition gopher-quality c4 fineweb; do
	awk -F'\t' -v r="$r" '{ print $1 "\t" r "\t" $2 }' "$W/dt-small/$r.tsv"
done > tests/data/clean_ref_datatrove.tsv
for corpus in generated copyright; do
	python3 tests/ref/datatrove_clean.py "$W/$corpus.jsonl" "$W/dt-$corpus"
	n=$(wc -l < "$W/$corpus.jsonl")
	echo "== $corpus: $n documents, $(($(wc -c < "$W/$corpus.jsonl") / 1000000)) MB"
	for r in gopher-repetition gopher-quality c4 fineweb; do
		dt=$W/dt-$corpus
		bin/lm-clean --only "$r" -r "$W/$r.rej" -o "$W/$r.out" "$W/$corpus.jsonl"
		# line numbers of dropped documents, both ways
		awk -F'\t' '$2 == "dropped" { print $1 }' "$dt/$r.tsv" | sort > "$W/$r.dt"
		sed 's/.*"line":\([0-9]*\).*/\1/' "$W/$r.rej" | sort > "$W/$r.lm"
		both=$(comm -12 "$W/$r.dt" "$W/$r.lm" | wc -l)
		only_dt=$(comm -23 "$W/$r.dt" "$W/$r.lm" | wc -l)
		only_lm=$(comm -13 "$W/$r.dt" "$W/$r.lm" | wc -l)
		agree=$((n - only_dt - only_lm))
		printf '%-18s dropped by both %4d  only datatrove %3d  only lm-clean %3d  agreement %d/%d (%s%%)\n' \
			"$r" "$both" "$only_dt" "$only_lm" "$agree" "$n" "$(awk -v a="$agree" -v n="$n" 'BEGIN { printf "%.2f", 100 * a / n }')"
		for l in $(comm -3 "$W/$r.dt" "$W/$r.lm" | tr -d '\t' | head -"${SHOW:-5}"); do
			d=$(awk -F'\t' -v l="$l" '$1 == l { print $2 " " $3 }' "$dt/$r.tsv")
			m=$(grep "\"line\":$l," "$W/$r.rej" | sed 's/.*"check":"\([^"]*\)","value":\([^}]*\)}/\1 \2/')
			echo "    line $l: datatrove: $d; lm-clean: ${m:-kept}"
		done
		if [ "$r" = c4 ]; then
			# the text C4 leaves, document by document, for those both keep
			python3 - "$dt/c4.texts.jsonl" "$W/c4.out" <<'PY'
import json, sys
a = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8", errors="replace")]
same = sum(x == y for x, y in zip(a, b))
print(f"    c4 rewritten texts identical: {same}/{min(len(a), len(b))}" + ("" if len(a) == len(b) else " (kept counts differ: texts compared in order)"))
PY
		fi
	done
done
