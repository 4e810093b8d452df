#!/bin/sh
# lm-clean drops the same documents as datatrove's filters of the same names on a
# small generated corpus (decisions recorded by tests/ref/datatrove_clean.sh, make ref).
. "$(dirname "$0")/lib.sh"
D=$ROOT/tests/data
[ -r "$D/clean_ref_datatrove.tsv" ] || skip_all "no recorded datatrove decisions"
for r in gopher-repetition gopher-quality c4 fineweb; do
	lm-clean --only "$r" -r "$r.rej" -o /dev/null "$D/clean_ref_corpus.jsonl"
	want=$(awk -F'\t' -v r="$r" '$2 == r && $3 == "dropped" { printf "%s ", $1 }' "$D/clean_ref_datatrove.tsv")
	got=$(sed 's/.*"line":\([0-9]*\).*/\1/' "$r.rej" | tr '\n' ' ')
	is "$r drops what datatrove drops" "$got" "$want"
	is "$r: some documents dropped" "$([ -n "$got" ] && echo yes)" yes
done
done_testing
