#!/bin/sh
# lm-clean as a user runs it: filtering, rejects, formats, bad input, options.
. "$(dirname "$0")/lib.sh"
D=$ROOT/tests/data

ok "--help" lm-clean --help
ok "--version" lm-clean --version
ok "--list" sh -c 'lm-clean --list > list'
is "--list names every rule" "$(grep -c '^[a-z0-9-]*$' list)" 6
is "--list shows published thresholds" "$(grep -c 'gopher-repetition.dup10 *0.1 ' list)" 1

# the committed documents: kept lines byte for byte, rewritten ones in place
ok "clean the test documents" lm-clean -r rej.jsonl -o out.jsonl "$D/clean_docs.jsonl"
ok "output as expected" cmp out.jsonl "$D/clean_docs.expected.jsonl"
ok "rejects as expected" cmp rej.jsonl "$D/clean_docs.rejects.jsonl"
is "kept documents keep their other members as written" "$(grep -c '"meta": {"lang": "en", "n": \[1, 2.5\]}' out.jsonl)" 1
is "rejects can be tuned with awk" "$(awk -F'"check":"' '{ split($2, a, "\""); print a[1] }' rej.jsonl | tr '\n' ' ')" "top2 dup_line lorem_ipsum "
ok "quiet on success" lm-clean -o out2.jsonl "$D/clean_docs.jsonl"
is "nothing on stderr" "$(wc -c < .err)" 0
ok "-v summary" lm-clean -v -o out2.jsonl "$D/clean_docs.jsonl"
stderr_has "summary counts documents" '8 documents, 5 kept, 3 changed'
stderr_has "summary per rule" 'c4 +dropped 1'
stderr_has "summary of PII" 'replaced 1 e-mail, 0 IP, 0 phone'

# switches and parameters
ok "--no-pii keeps the address" sh -c "lm-clean --no-pii '$D/clean_docs.jsonl' > nopii.jsonl"
is "address kept" "$(grep -c 'miller@example.org' nopii.jsonl)" 1
ok "--only utf8 keeps everything" sh -c "lm-clean --only utf8 '$D/clean_docs.jsonl' > u.jsonl"
is "all 8 documents" "$(wc -l < u.jsonl)" 8
ok "-s lowers a threshold" sh -c "lm-clean --only c4 -s c4.lorem_ipsum=off -s c4.min_sentences=3 '$D/clean_docs.jsonl' > c4.jsonl"
is "lorem document kept with its line" "$(grep -c '"id": "lorem"' c4.jsonl)-$(grep -c 'Lorem ipsum' c4.jsonl)" "1-1"
fails "-s with an unknown parameter" lm-clean -s c4.nope=1 "$D/clean_docs.jsonl"
stderr_has "names the assignment" 'lm-clean: -s c4.nope=1: unknown parameter'
fails "-s with a bad value" lm-clean -s c4.min_sentences=many "$D/clean_docs.jsonl"
fails "--only with an unknown rule" lm-clean --only c5 "$D/clean_docs.jsonl"
stderr_has "names the rule" "unknown rule 'c5'"
lm-clean --bogus x >/dev/null 2>.err; is "unknown option exits 2" $? 2
lm-clean a b >/dev/null 2>.err; is "two inputs exit 2" $? 2

# formats: stdin/stdout, gzip by magic in and by name out, plain text
ok "stdin to stdout" sh -c "lm-clean - < '$D/clean_docs.jsonl' > s.jsonl"
ok "same as from a file" cmp s.jsonl out.jsonl
gzip -c "$D/clean_docs.jsonl" > in.data
ok "gzip input found by magic" lm-clean -o g.jsonl.gz in.data
ok "gzip output by name" sh -c 'gzip -dc g.jsonl.gz | cmp - out.jsonl'
ok "-z compresses stdout" sh -c "lm-clean -z '$D/clean_docs.jsonl' | gzip -dc | cmp - out.jsonl"
printf 'Write to ann@example.com or call (555) 123-4567 from 10.0.0.1.\nNothing here.\n' > plain.txt
ok "plain-text mode" sh -c 'lm-clean -p --only pii plain.txt > plain.out'
is "plain lines out" "$(cat plain.out)" "Write to <EMAIL> or call <PHONE> from <IP>.
Nothing here."

# bad input: an error naming file and line, no output file left behind
cp "$D/clean_docs.jsonl" bad.jsonl
printf '{"id":"x","text":"unterminated}\n' >> bad.jsonl
fails "invalid JSON line" lm-clean -o never.jsonl -r never.rej bad.jsonl
stderr_has "error names file and line" '^lm-clean: bad.jsonl:9: unterminated string$'
is "no partial output" "$(ls never* 2>/dev/null | wc -l)" 0
printf '{"id":"y","body":"no text"}\n' > notext.jsonl
fails "missing text" lm-clean -o never.jsonl notext.jsonl
stderr_has "says what is missing" 'notext.jsonl:1: no "text" member'
ok "--skip-bad counts bad lines" lm-clean -v --skip-bad -o skip.jsonl bad.jsonl
stderr_has "reported" '1 bad lines skipped'
ok "--skip-bad keeps the rest" cmp skip.jsonl out.jsonl
head -c 600 in.data > trunc.jsonl.gz
fails "truncated gzip" lm-clean -o never.jsonl trunc.jsonl.gz
stderr_has "says truncated" 'trunc.jsonl.gz: truncated gzip input'
is "no partial output" "$(ls never* 2>/dev/null | wc -l)" 0
: > empty.jsonl
ok "empty input" lm-clean -o e.out -r e.rej empty.jsonl
is "empty output" "$(cat e.out e.rej | wc -c)" 0
fails "missing input" lm-clean -o never.jsonl nosuch.jsonl
stderr_has "names it" 'nosuch.jsonl: No such file'

# a 50 MB single document: read whole and judged like any other
awk 'BEGIN { printf "{\"id\":\"big\",\"text\":\""; for (i = 0; i < 1500000; i++) printf "word%d is here and the end of it. ", i % 1000; print "\"}" }' > big.jsonl
is "big document is over 50 MB" "$(awk -v s="$(wc -c < big.jsonl)" 'BEGIN { print (s > 50e6) }')" 1
ok "big document" lm-clean -r big.rej -o big.out big.jsonl
is "dropped by the repetition rule" "$(grep -o '"rule":"[a-z-]*","check":"[a-z0-9_]*"' big.rej)" '"rule":"gopher-repetition","check":"top2"'
# its peak memory: a small multiple of its size (not measured under the sanitizers,
# whose shadow memory is theirs)
if [ -z "${LMKIT_BIN:-}" ] && [ -x /usr/bin/time ]; then
	/usr/bin/time -f %M -o big.rss lm-clean -o /dev/null big.jsonl
	is "big document: peak memory under 8 times its size" \
		"$(awk -v k="$(tail -1 big.rss)" -v s="$(wc -c < big.jsonl)" 'BEGIN { print (k * 1024 < 8 * s) }')" 1
fi
ok "big document kept with the rules off" lm-clean --only utf8,pii -o big.out big.jsonl
ok "written back whole" cmp big.out big.jsonl

# Asked for no reasons (no -r, no -v), gopher-quality runs before gopher-repetition:
# the same documents come out, with the same text.
C=$ROOT/samples/corpus.jsonl.gz
lm-clean --only gopher-repetition -o /dev/null -r rep.rej "$C"
lm-clean --only gopher-quality -o /dev/null -r qual.rej "$C"
cut -d, -f1 rep.rej | sort >rep.ids
cut -d, -f1 qual.rej | sort >qual.ids
is "premise: the sample corpus has documents both rules drop" "$([ "$(comm -12 rep.ids qual.ids | wc -l)" -gt 10 ] && echo yes)" yes
ok "no reasons asked" lm-clean -o fast.jsonl "$C"
ok "reasons asked" lm-clean -r all.rej -o ordered.jsonl "$C"
ok "the same documents kept" cmp fast.jsonl ordered.jsonl
is "those both drop are put down to gopher-repetition, the first in order" \
	"$(comm -12 rep.ids qual.ids | while read -r id; do grep -F "$id," all.rej; done | grep -c '"rule":"gopher-repetition"')" \
	"$(comm -12 rep.ids qual.ids | wc -l | tr -d ' ')"

# the man page's examples, as written, on the test documents
gzip -c "$D/clean_docs.jsonl" > web.jsonl.gz
ok "example: clean a compressed corpus" lm-clean -o clean.jsonl.gz -r rejects.jsonl web.jsonl.gz
ok "example: count drops per check" sh -c 'awk -F'"'"'"check":"'"'"' '"'"'{ split($2, a, "\""); n[a[1]]++ }
    END { for (c in n) print n[c], c }'"'"' rejects.jsonl | sort > counts'
is "example: counts" "$(cat counts | tr '\n' ' ')" "1 dup_line 1 lorem_ipsum 1 top2 "
ok "example: thresholds" lm-clean -s gopher-quality.min_words=20 -s c4.min_sentences=off -o out.jsonl web.jsonl.gz

if command -v mandoc >/dev/null; then
	ok "man page lints clean" sh -c "mandoc -Tlint -Wwarning '$ROOT/man/lm-clean.1'"
fi
done_testing
