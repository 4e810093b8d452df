#!/bin/sh
# lm-dedup's clusters against datatrove's (tests/data/dedup_datatrove.tsv, made
# by tests/ref/dedup_datatrove.sh) on the same generated corpus, as pairs of
# documents that share a cluster. datatrove joins every pair that shares a band
# (no confirmation step), so it has more pairs, between J 0.5 and 0.75 (see
# docs/DEDUP.md); nearly every pair lm-dedup joins, datatrove joins too.
. "$(dirname "$0")/lib.sh"
[ -r "$ROOT/tests/data/dedup_datatrove.tsv" ] || skip_all "no tests/data/dedup_datatrove.tsv"
${CC:-cc} -O2 -o gen "$ROOT/tests/gen_neardup.c" || skip_all "cannot build tests/gen_neardup.c"
./gen -n 1500 -s 5 -w 60 -m 0 > corpus.jsonl   # the same call as tests/ref/dedup_datatrove.sh

# "a b" (a < b) for every two ids that share a cluster, from "id<TAB>cluster" lines
pairs() {
	awk -F'\t' '{ n[$2]++; m[$2, n[$2]] = $1 }
	END { for (c in n) for (i = 1; i <= n[c]; i++) for (j = 1; j <= n[c]; j++)
		if (m[c, i] < m[c, j]) print m[c, i], m[c, j] }' "$1" | sort
}

ok "lm-dedup" lm-dedup --removed rm.jsonl -o kept.jsonl corpus.jsonl
sed 's/^{"id":"\([^"]*\)","cluster":"[0-9a-f]*","survivor":"\([^"]*\)".*/\1	\2\
\2	\2/' rm.jsonl | sort -u > lm.tsv
pairs lm.tsv > lm.pairs
pairs "$ROOT/tests/data/dedup_datatrove.tsv" > dt.pairs
lm=$(wc -l < lm.pairs) dt=$(wc -l < dt.pairs) both=$(comm -12 lm.pairs dt.pairs | wc -l)
echo "# pairs in one cluster: lm-dedup $lm, datatrove $dt, both $both"
ok "lm-dedup joins pairs ($lm)" test "$lm" -gt 200
ok "of lm-dedup's pairs, >= 90% are datatrove's too ($both/$lm)" test $((both * 100)) -ge $((lm * 90))
ok "of datatrove's pairs, >= 50% are lm-dedup's too ($both/$dt)" test $((both * 100)) -ge $((dt * 50))
done_testing
