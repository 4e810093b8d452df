#!/bin/sh
# lm-dedup as a user runs it: one stream, sharded stages (equal byte for byte),
# input order and shard count do not change the survivors, --removed records,
# bad input. Quality against brute force is tests/unit/dedup_quality.c.
. "$(dirname "$0")/lib.sh"

${CC:-cc} -O2 -o gen "$ROOT/tests/gen_neardup.c" || skip_all "cannot build tests/gen_neardup.c"
./gen -n 3000 -s 11 -w 80 > corpus.jsonl

ok "one stream" lm-dedup -o out.jsonl --removed rm.jsonl corpus.jsonl
kept=$(wc -l < out.jsonl) gone=$(wc -l < rm.jsonl)
is "every document is kept or removed" $((kept + gone)) 3000
ok "it removed near duplicates" test "$gone" -gt 500
is "removed records name id, cluster, survivor, reason" \
	"$(grep -cE '^\{"id":"[^"]+","cluster":"[0-9a-f]{16}","survivor":"[^"]+","reason":"(exact|near)"\}$' rm.jsonl)" "$gone"
ok "documents without an id are named by their text hash" grep -q '"xxh3:[0-9a-f]\{16\}"' rm.jsonl
sed 's/.*"survivor":\("[^"]*"\).*/\1/' rm.jsonl | sort -u > survivors
grep -o '^{"id":"[^"]*"' out.jsonl | sed 's/^{"id"://' | sort > kept_ids
grep -v '^"xxh3' survivors > named_survivors
is "every survivor is in the output" "$(comm -23 named_survivors kept_ids | wc -l)" 0

# input order
awk 'BEGIN { srand(5) } { print rand() "\t" $0 }' corpus.jsonl | sort | cut -f2- > shuffled.jsonl
ok "shuffled input" lm-dedup -o shuf.jsonl --removed shufrm.jsonl shuffled.jsonl
is "same survivors whatever the input order" "$(sort shuf.jsonl | cksum)" "$(sort out.jsonl | cksum)"
is "same removed records whatever the input order" "$(sort shufrm.jsonl | cksum)" "$(sort rm.jsonl | cksum)"

# sharded stages: same bytes as one stream, for 1, 3 and 7 shards
for k in 1 3 7; do
	mkdir s$k
	split -d -n l/$k corpus.jsonl s$k/part.
	sigs= i=0
	for p in s$k/part.*; do lm-dedup sig -o $p.sig $p || echo "sig failed" >&2; sigs="$sigs $p.sig"; done
	ok "$k shards: clusters" lm-dedup clusters --mem 64M -o s$k/c.clu $sigs
	: > s$k/all.jsonl; : > s$k/allrm.jsonl
	for p in s$k/part.??; do
		lm-dedup filter -c s$k/c.clu -s $i -o $p.out --removed $p.rm $p || echo "filter failed" >&2
		cat $p.out >> s$k/all.jsonl; cat $p.rm >> s$k/allrm.jsonl
		i=$((i + 1))
	done
	is "$k shards: survivors equal the one-stream output byte for byte" "$(cksum < s$k/all.jsonl)" "$(cksum < out.jsonl)"
	is "$k shards: removed records equal too" "$(cksum < s$k/allrm.jsonl)" "$(cksum < rm.jsonl)"
done

# the sort spills to disk under a small --mem and still gives the same clusters
ok "clusters in 8.3 MB" lm-dedup clusters -v --mem 8.3M -o small.clu s3/part.00.sig s3/part.01.sig s3/part.02.sig
stderr_has "small --mem sorts on disk" 'sort runs on disk'
ok "clusters made in 8.3 MB filter the same" sh -c 'lm-dedup filter -c small.clu -s 1 s3/part.01 | cmp - s3/part.01.out'
fails "--mem too small for the documents" lm-dedup clusters --mem 8M -o tiny.clu s3/part.00.sig
stderr_has "says --mem is too small" 'too small'
ok "no clusters file left behind" test ! -e tiny.clu

# wrong pairings are caught before any output file appears
fails "filter with another shard's clusters" lm-dedup filter -c s3/c.clu -s 0 -o wrong.jsonl s3/part.01
stderr_has "names the input" 's3/part.01: .*not the shard|s3/part.01: .*number of documents'
ok "no output from a refused filter" test ! -e wrong.jsonl
fails "shard number out of range" lm-dedup filter -c s3/c.clu -s 3 s3/part.00
stderr_has "says there is no such shard" 'no shard 3'
fails "a clusters file that is not one" lm-dedup filter -c corpus.jsonl -s 0 s3/part.00
stderr_has "says so" 'not an lm-dedup clusters file'
fails "a sig file that is not one" lm-dedup clusters -o x.clu corpus.jsonl
stderr_has "says so" 'not an lm-dedup sig file'
lm-dedup sig --exact -o ex.sig s3/part.00
fails "sig files made with other options" lm-dedup clusters -o x.clu ex.sig s3/part.01.sig
stderr_has "names the mismatch" 'other options'

# exact mode: normalization folds case, punctuation and spaces
cat > ex.jsonl <<'EOF'
{"id":"a","text":"The  Quick, brown fox!"}
{"id":"b","text":"the quick brown fox"}
{"id":"c","text":"THE QUICK\nBROWN  FOX..."}
{"id":"d","text":"the quick brown fax"}
{"id":"e","text":"Ünïcode “quoted” text — here"}
{"id":"f","text":"ünïcode quoted text here"}
EOF
ok "--exact" lm-dedup --exact --removed exrm.jsonl -o exout.jsonl ex.jsonl
is "--exact keeps one per normalized text" "$(grep -c '"id":"[abc]"' exout.jsonl) $(grep -c '"id":"d"' exout.jsonl) $(grep -c '"id":"[ef]"' exout.jsonl)" "1 1 1"
is "--exact removed records say exact" "$(grep -c '"reason":"exact"' exrm.jsonl)" 3

# --exact in one stream reads the input twice (or a copy of standard input or
# of gzip's output) and holds no text: the same bytes as the --exact stages
for k in 1 3; do
	sigs= i=0
	for p in s$k/part.??; do lm-dedup sig --exact -o $p.exsig $p; sigs="$sigs $p.exsig"; done
	lm-dedup clusters -o s$k/ex.clu $sigs
	: > s$k/ex.jsonl; : > s$k/exrm.jsonl
	for p in s$k/part.??; do
		lm-dedup filter -c s$k/ex.clu -s $i --removed $p.exrm $p >> s$k/ex.jsonl
		cat $p.exrm >> s$k/exrm.jsonl
		i=$((i + 1))
	done
done
is "the --exact stages: 1 and 3 shards agree" "$(cksum < s3/ex.jsonl) $(cksum < s3/exrm.jsonl)" "$(cksum < s1/ex.jsonl) $(cksum < s1/exrm.jsonl)"
ok "--exact one stream" lm-dedup --exact -o ex1.jsonl --removed ex1rm.jsonl corpus.jsonl
is "  equals the stages: survivors" "$(cksum < ex1.jsonl)" "$(cksum < s1/ex.jsonl)"
is "  and removed records" "$(cksum < ex1rm.jsonl)" "$(cksum < s1/exrm.jsonl)"
ok "  removed some" test -s ex1rm.jsonl
gzip -c corpus.jsonl > corpus.jsonl.gz
ok "--exact on gzip" lm-dedup --exact -o exgz.jsonl --removed exgzrm.jsonl corpus.jsonl.gz
is "  the same" "$(cat exgz.jsonl exgzrm.jsonl | cksum)" "$(cat ex1.jsonl ex1rm.jsonl | cksum)"
ok "--exact on standard input" sh -c 'lm-dedup --exact --removed exinrm.jsonl - < corpus.jsonl > exin.jsonl'
is "  the same" "$(cat exin.jsonl exinrm.jsonl | cksum)" "$(cat ex1.jsonl ex1rm.jsonl | cksum)"
fails "--exact on standard input, no directory for its copy" sh -c 'lm-dedup --exact --tmpdir nodir -o exno.jsonl - < corpus.jsonl'
stderr_has "  names it" 'nodir/lm-dedup.*: No such file or directory'
ok "  and leaves no output" test ! -e exno.jsonl

# input and output handling
gzip -c corpus.jsonl > corpus.jsonl.gz
ok "gzip input by magic, gzip output by name" lm-dedup -o out.jsonl.gz corpus.jsonl.gz
is "same survivors through gzip" "$(gzip -dc out.jsonl.gz | cksum)" "$(cksum < out.jsonl)"
ok "standard input to standard output" sh -c 'lm-dedup < corpus.jsonl > piped.jsonl'
is "same survivors through a pipe" "$(cksum < piped.jsonl)" "$(cksum < out.jsonl)"
: > empty.jsonl
ok "empty input" lm-dedup -o emptyout.jsonl --removed emptyrm.jsonl empty.jsonl
is "empty input gives empty output files" "$(cat emptyout.jsonl emptyrm.jsonl 2>&1 | wc -c)" 0
printf 'first line\nsecond line\nFirst line!\n' > plain.txt
ok "--plain" lm-dedup --plain -o plain.out plain.txt
is "--plain dedups lines" "$(wc -l < plain.out) $(grep -c '^second line$' plain.out)" "2 1"

# bad input: clear error, exit 1, no output file
head -5 corpus.jsonl > bad.jsonl; echo '{"text": "unterminated' >> bad.jsonl; tail -3 corpus.jsonl >> bad.jsonl
fails "invalid JSON" lm-dedup -o badout.jsonl bad.jsonl
stderr_has "names file and line" 'bad.jsonl:6: '
ok "no partial output" test ! -e badout.jsonl
ok "--skip-bad" lm-dedup -v --skip-bad -o skipped.jsonl bad.jsonl
stderr_has "--skip-bad counts the bad lines" '1 bad lines skipped'
printf '{"id":"x","txt":"no text member"}\n' > notext.jsonl
fails "a document without text" lm-dedup notext.jsonl
stderr_has "says text is missing" 'notext.jsonl:1: .*text'
head -c 20000 corpus.jsonl.gz > trunc.gz
fails "truncated gzip" lm-dedup -o truncout.jsonl trunc.gz
stderr_has "says truncated" 'trunc.gz: .*truncated'
ok "no output from truncated input" test ! -e truncout.jsonl
printf '{"id":"u1","text":"caf\351 latin1 bytes \377 here"}\n{"id":"u2","text":"CAF\351 latin1 bytes \377 here"}\n' > badutf8.jsonl
ok "invalid UTF-8 is dedupped as bytes" lm-dedup -o utf8out.jsonl badutf8.jsonl
is "invalid UTF-8: case folded around the bytes, one survivor" "$(wc -l < utf8out.jsonl)" 1
is "invalid UTF-8: the survivor passes through byte for byte" "$(grep -cxFf utf8out.jsonl badutf8.jsonl)" 1
fails "usage error" lm-dedup -q
is "usage error exits 2" "$(lm-dedup -q 2>/dev/null; echo $?)" 2
fails "sig without -o" lm-dedup sig corpus.jsonl

# a 50 MB document, and a copy of it, is one document
awk 'BEGIN { printf "{\"id\":\"big1\",\"text\":\""; for (i = 0; i < 1000000; i++) printf "w%048d ", i; print "\"}" }' > big.jsonl
sed 's/big1/big2/' big.jsonl > big2.jsonl && cat big2.jsonl >> big.jsonl
ok "a 50 MB document" lm-dedup --removed bigrm.jsonl -o bigout.jsonl big.jsonl
is "its copy is removed" "$(wc -l < bigout.jsonl) $(grep -c '"reason":"exact"' bigrm.jsonl)" "1 1"

# the man page's examples, as written, in a directory of their own
mkdir ex && cd ex
sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$ROOT/man/lm-dedup.1" |
	awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0 } on' | sed 's/\\e/\\/g' > examples.sh
ok "the man page's examples run as written" sh -e examples.sh
is "... and keep one of the two documents" "$(wc -l < kept.jsonl | tr -d ' ') $(wc -l < removed.jsonl | tr -d ' ')" "1 1"
cd ..

done_testing
