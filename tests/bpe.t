#!/bin/sh
# lm-bpe as a user runs it: plain and JSONL input, the model SentencePiece loads,
# quality next to spm_train, and the failures (no partial output).
. "$(dirname "$0")/lib.sh"

corpus=$ROOT/tests/data/tok_corpus.txt.gz
[ -r "$corpus" ] || skip_all "no $corpus"
# Every tenth line held out for the comparisons. The corpus is hard, multilingual
# text: coverage 0.98 (the lowest spm_train takes) keeps its alphabet at a few
# hundred characters. Training text without its invalid UTF-8, so that it can
# also be written as JSONL; the held-out text keeps it.
gzip -dc "$corpus" | awk 'NR % 10 == 0 { print > "held.txt"; next } { print }' |
	iconv -c -f UTF-8 -t UTF-8 > train.txt
opts="-n 2000 --character-coverage 0.98"

ok "trains a 2000-piece model on plain text" lm-bpe -p $opts -o m.model --vocab m.vocab train.txt
is "vocab file has 2000 lines" "$(wc -l < m.vocab | tr -d ' ')" 2000
is "meta pieces first" "$(head -3 m.vocab | tr '\t\n' ' ')" "<unk> 0 <s> 0 </s> 0 "
is "byte pieces at ids 3..258" "$(sed -n '4p;259p' m.vocab | cut -f1 | tr '\n' ' ')" "<0x00> <0xFF> "
is "merges scored by order from id 259" "$(sed -n '260,261p' m.vocab | cut -f2 | tr '\n' ' ')" "-0 -1 "
is "no piece twice" "$(cut -f1 m.vocab | sort | uniq -d | wc -l | tr -d ' ')" 0

# JSONL, gzip-compressed, several lines to a document: the same sentences
perl -ne 'chomp; s/\\/\\\\/g; s/"/\\"/g; s/([\x00-\x1f])/sprintf("\\u%04x", ord($1))/ge;
	$d .= ($. % 5 == 1 ? "" : "\\n") . $_;
	if ($. % 5 == 0) { print "{\"id\": $., \"text\": \"$d\"}\n"; $d = "" }
	END { print "{\"text\": \"$d\"}\n" if $d ne "" }' train.txt | gzip > train.jsonl.gz
ok "trains on gzip JSONL" lm-bpe $opts -o j.model --vocab j.vocab train.jsonl.gz
ok "same vocabulary from JSONL as from the plain lines" cmp m.vocab j.vocab
ok "reads standard input" sh -c "lm-bpe -p $opts -o - --vocab s.vocab < train.txt > s.model"
ok "same vocabulary from standard input" cmp m.vocab s.vocab
split -l 5000 train.txt part.
ok "reads several inputs in turn" lm-bpe -p $opts -o p.model --vocab p.vocab part.*
ok "same vocabulary as from their concatenation" cmp m.vocab p.vocab
ok "the model written to standard output encodes as the one written to a file" \
	sh -c 'lm-tokenize -m s.model held.txt > s.ids && lm-tokenize -m m.model held.txt > m.ids && cmp s.ids m.ids'

if command -v spm_encode >/dev/null 2>&1; then
	ok "spm_encode loads the model" sh -c 'spm_encode --model=m.model --output_format=id < held.txt > spm.ids'
	ok "lm-tokenize gives spm_encode's ids" sh -c 'lm-tokenize -m m.model --no-bos held.txt > lm.ids && cmp spm.ids lm.ids'
else
	echo "# spm_encode not installed: SentencePiece checks skipped"
fi
if command -v spm_train >/dev/null 2>&1 && command -v spm_encode >/dev/null 2>&1; then
	spm_train --input=train.txt --model_prefix=ref --vocab_size=2000 --model_type=bpe \
		--character_coverage=0.98 --split_digits=true --byte_fallback=true \
		--allow_whitespace_only_pieces=true --normalization_rule_name=identity \
		--remove_extra_whitespaces=false --max_sentencepiece_length=16 \
		--num_threads=1 >spm_train.log 2>&1
	ok "spm_train trained the reference" test -s ref.model
	spm_encode --model=ref.model --output_format=id < held.txt > ref.ids
	a=$(wc -w < spm.ids) b=$(wc -w < ref.ids)
	# tokens per byte on held-out text within 2% of spm_train's
	ok "held-out tokens $a within 2% of spm_train's $b" test $((a * 100)) -le $((b * 102)) -a $((a * 100)) -ge $((b * 98))
	same=$(cut -f1 ref.vocab | sort | comm -12 - "$(cut -f1 m.vocab | sort > mv; echo mv)" | wc -l)
	ok "vocabulary shares $same of 2000 pieces with spm_train's (>= 1960)" test "$same" -ge 1960
else
	echo "# spm_train not installed: comparison skipped"
fi

# options
ok "user and control symbols" lm-bpe -p -n 1000 --character-coverage 0.98 --user-symbols '<sep>,<cls>' --control-symbols '<ctl>' \
	-o u.model --vocab u.vocab train.txt
is "control then user symbols then bytes" "$(sed -n '4,7p' u.vocab | cut -f1 | tr '\n' ' ')" "<ctl> <sep> <cls> <0x00> "
if command -v spm_encode >/dev/null 2>&1; then
	is "SentencePiece keeps a user symbol whole" "$(echo 'a<sep>b' | spm_encode --model=u.model --output_format=piece)" "▁a <sep> b"
fi
ok "without byte fallback" lm-bpe -p -n 1000 --character-coverage 0.98 --no-byte-fallback -o nb.model --vocab nb.vocab train.txt
is "no byte pieces" "$(grep -c '^<0x' nb.vocab)" 0
ok "digits may merge when asked" lm-bpe -p -n 1000 --character-coverage 0.98 --no-split-digits -o nd.model --vocab nd.vocab train.txt
ok "pieces of several digits" grep -qE '^▁?[0-9][0-9]+	' nd.vocab
is "none by default" "$(grep -cE '^▁?[0-9][0-9]+	' m.vocab)" 0
ok "max piece length" lm-bpe -p -n 1000 --character-coverage 0.98 --max-piece-length 4 -o ml.model --vocab ml.vocab train.txt
is "no piece over 4 characters" "$(cut -f1 ml.vocab | grep -v '^<' | perl -CS -ne 'chomp; print "$_\n" if length > 4' | wc -l | tr -d ' ')" 0
ok "word pruning" lm-bpe -v -p -n 1000 --character-coverage 0.98 --max-words 5000 -o mw.model train.txt
stderr_has "reports the pruned words" '[1-9][0-9]* pruned'

# failures: a clear message, non-zero exit, no output left behind
fails "missing input" lm-bpe -p -n 1000 --character-coverage 0.98 -o f1.model nope.txt
stderr_has "names the file" 'lm-bpe: nope.txt: No such file'
: > empty.txt
fails "empty input" lm-bpe -p -n 1000 --character-coverage 0.98 -o f2.model empty.txt
stderr_has "says there is no text" 'no text to train on'
fails "vocabulary smaller than the meta pieces" lm-bpe -p -n 100 -o f3.model train.txt
stderr_has "explains" 'smaller than the 259 meta pieces'
fails "vocabulary too small for the characters" lm-bpe -p -n 300 -o f4.model train.txt
stderr_has "explains" 'cannot hold the 259 meta pieces and [0-9]+ required characters'
fails "vocabulary larger than the text allows" lm-bpe -p -n 100000 --character-coverage 0.98 -o f5.model held.txt
stderr_has "explains" 'yields only [0-9]+ pieces'
printf '{"text": "ok"}\nnot json\n' > bad.jsonl
fails "invalid JSONL" lm-bpe -n 1000 -o f6.model bad.jsonl
stderr_has "names the line" 'bad.jsonl:2'
head -c 20000 train.jsonl.gz > cut.jsonl.gz
fails "truncated gzip" lm-bpe -n 1000 -o f7.model cut.jsonl.gz
fails "bad coverage" lm-bpe -p --character-coverage 0.5 -o f8.model train.txt
stderr_has "explains" 'coverage must be between 0.98 and 1'
fails "bad vocabulary size" lm-bpe -p -n abc -o f9.model train.txt
fails "no output named" lm-bpe -p train.txt
fails "duplicate symbol" lm-bpe -p --user-symbols 'x,x' -o f10.model train.txt
stderr_has "explains" 'symbol x is already defined'
head -c 5000 /dev/zero | tr '\0' a > long.txt && echo >> long.txt
fails "only lines over the length limit" lm-bpe -p -n 1000 -o f11.model long.txt
stderr_has "explains" 'all 1 lines are longer than --max-line-length 4192'
ok "--max-line-length 0 keeps them" lm-bpe -p -n 262 --max-line-length 0 -o long.model long.txt
fails "unwritable output" lm-bpe -p -n 1000 --character-coverage 0.98 -o nodir/x.model train.txt
is "no partial outputs" "$(ls | grep -E '^(f[0-9]+|x)\.model|\.tmp\.' | wc -l | tr -d ' ')" 0

[ -e "$ROOT/man/lm-bpe.1" ] && command -v mandoc >/dev/null 2>&1 &&
	ok "man page is clean" mandoc -Tlint -W warning "$ROOT/man/lm-bpe.1"
done_testing
