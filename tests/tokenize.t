#!/bin/sh
# lm-tokenize as a user runs it: identical to SentencePiece on the committed
# corpus, shards and id lines, threads, JSONL, decoding, and failures.
. "$(dirname "$0")/lib.sh"
D=$ROOT/tests/data
M=$ASSETS/tokenizer.model

# needs no assets
for m in ud suffix unused; do
	ok "a BPE model from spm_train ($m) encodes and decodes as SentencePiece does" \
		sh "$ROOT/tests/tokenize_check.sh" "$D/tok_bpe_$m.model" "$D/tok_small.txt.gz" \
		"$D/tok_small.$m.ids.gz" "$D/tok_small.$m.decoded.gz" 2
done
ok "a model trained by lm-bpe encodes and decodes the whole corpus as SentencePiece does" \
	sh "$ROOT/tests/tokenize_check.sh" "$D/tok_bpe_lmbpe.model" "$D/tok_corpus.txt.gz" \
	"$D/tok_corpus.lmbpe.ids.gz" "$D/tok_corpus.lmbpe.decoded.gz" 2
fails "an unigram model is refused" lm-tokenize -m "$D/tok_unigram.model" /dev/null
stderr_has "... saying the model type is unsupported" "tok_unigram.model: unsupported model type unigram"
printf 'not a model at all\n' > garbage.model
fails "a garbage model is refused" lm-tokenize -m garbage.model /dev/null
stderr_has "... naming the file" "^lm-tokenize: garbage.model: "
fails "a missing model is an error" lm-tokenize -m nosuch.model /dev/null
stderr_has "... naming the file" "^lm-tokenize: nosuch.model: No such file"
fails "no model is a usage error" lm-tokenize /dev/null
is "... with exit status 2" "$(lm-tokenize /dev/null 2>/dev/null; echo $?)" 2

if [ ! -r "$M" ]; then
	echo "# skipping the Llama 2 tests: no $M"
	done_testing
	exit
fi

ok "the corpus encodes and decodes as SentencePiece does (2 threads)" \
	sh "$ROOT/tests/tokenize_check.sh" "$M" "$D/tok_corpus.txt.gz" "$D/tok_corpus.ids.gz" "$D/tok_corpus.decoded.gz" 2

if [ -r "$ASSETS/tok512.model" ]; then
	ok "... and so does tok512.model, which removes extra whitespace" \
		sh "$ROOT/tests/tokenize_check.sh" "$ASSETS/tok512.model" "$D/tok_corpus.txt.gz" \
		"$D/tok_corpus.tok512.ids.gz" "$D/tok_corpus.tok512.decoded.gz" 2
fi
ok "shard with 1 thread" lm-tokenize -m "$M" -j 1 --eos -o one.shard "$D/tok_corpus.txt.gz"
ok "shard with 2 threads" lm-tokenize -m "$M" -j 2 --eos -o two.shard "$D/tok_corpus.txt.gz"
ok "... are identical" cmp one.shard two.shard
gzip -dc "$D/tok_corpus.decoded.gz" > want.text
lm-tokenize -d -m "$M" two.shard > got.text
ok "a shard decodes to SentencePiece's decoding (BOS and EOS invisible)" cmp got.text want.text
lines=$(wc -l < want.text)
is "one line of ids per input line" "$(gzip -dc "$D/tok_corpus.txt.gz" | lm-tokenize -m "$M" | wc -l | tr -d ' ')" "$(echo $lines)"

printf 'Hello world\n\nI believe the meaning of life is\n' > in.txt
is "ids start with BOS; an empty line is BOS alone" "$(lm-tokenize -m "$M" in.txt | tr '\n' '|')" \
	"1 15043 3186|1|1 306 4658 278 6593 310 2834 338|"
is "--eos appends EOS" "$(echo hi | lm-tokenize -m "$M" --eos)" "1 7251 2"
printf '{"text":"Hello world","id":7}\n\n{"id":"x","text":"a\\u0000b"}\n' > in.jsonl
is "JSONL: the text field, \\u0000 kept as a NUL byte" "$(lm-tokenize -m "$M" --jsonl in.jsonl | tr '\n' '|')" \
	"1 15043 3186|1 263 3 29890|"
is "decoding to JSONL" "$(lm-tokenize -m "$M" --jsonl in.jsonl | lm-tokenize -d -m "$M" --jsonl | tr '\n' '|')" \
	'{"text":"Hello world"}|{"text":"a\u0000b"}|'
lm-tokenize -m "$M" -o - in.txt > piped.shard
is "a shard on a pipe decodes" "$(lm-tokenize -m "$M" -o - in.txt | lm-tokenize -d -m "$M" | tr '\n' '|')" \
	"Hello world||I believe the meaning of life is|"
if [ -r "$ASSETS/tokenizer.bin" ]; then
	is "tokenizer.bin gives the ids tokenizer.model gives on valid UTF-8" \
		"$(lm-tokenize -m "$ASSETS/tokenizer.bin" in.txt)" "$(lm-tokenize -m "$M" in.txt)"
fi

head -c 100000 "$M" > cut.model
fails "a truncated .model is refused" lm-tokenize -m cut.model in.txt
stderr_has "... as truncated" "cut.model: .*truncated"
fails "an unreadable input is an error" lm-tokenize -m "$M" -o out.shard in.txt nosuch.txt
stderr_has "... naming it" "^lm-tokenize: nosuch.txt: No such file"
is "... and leaves no partial shard" "$(ls out.shard* 2>/dev/null)" ""
printf '{"text":"ok"}\n{"text":\n' > bad.jsonl
fails "bad JSONL is an error" lm-tokenize -m "$M" --jsonl -o out.shard bad.jsonl
stderr_has "... naming file and line" "^lm-tokenize: bad.jsonl:2: "
is "... and leaves no partial shard" "$(ls out.shard* 2>/dev/null)" ""
echo "1 99999" > big.ids
fails "decoding an id outside the vocabulary is an error" lm-tokenize -d -m "$M" big.ids
stderr_has "... naming file and line" "big.ids:1: token id 99999 out of range"
done_testing
