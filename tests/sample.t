# lm-sample: llama2.c's greedy output for stories260K exactly, JSONL prompts and
# results, batch-independent sampling and errors (tests/valgrind.t runs it under valgrind).
. "$(dirname "$0")/lib.sh"

# A random model needs no assets: ids, JSONL and batching work on it.
printf '{"dim":32,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":64,"hidden_dim":48,"max_seq_len":64}' >cfg.json
lm-convert --init cfg.json --seed 5 r.st

ok "ids from BOS without a tokenizer" sh -c 'lm-sample -t 0 -n 10 --ids r.st >ids.txt'
is "  10 ids, one a line" "$(wc -l <ids.txt | tr -d ' ')" 10
ok "greedy is deterministic" sh -c 'lm-sample -t 0 -n 10 --ids r.st | cmp - ids.txt'

ok "JSONL without a tokenizer" sh -c 'lm-sample -j -t 0 -n 10 r.st >g.jsonl'
ok "  has ids, logprob and finish" grep -q '"ids":\[.*\],"logprob":-[0-9.e-]*,"finish":"length"' g.jsonl
is "  the same ids as --ids" "$(sed 's/.*"ids":\[\([^]]*\)\].*/\1/' g.jsonl | tr ',' '\n')" "$(cat ids.txt)"

# 24 samples alone (batch 1) and together (batch 24, 7) give the same tokens
lm-sample --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b 1 r.st >b1.txt
ok "batch 24 samples as batch 1 does" sh -c 'lm-sample --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b 24 r.st | cmp - b1.txt'
ok "batch 7 samples as batch 1 does" sh -c 'lm-sample --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b 7 r.st | cmp - b1.txt'
is "  24 samples" "$(grep -c '^$' b1.txt)" 23
ok "another seed samples other tokens" sh -c '! lm-sample --ids -t 1 -n 12 -c 24 -s 8 -b 24 r.st | cmp -s - b1.txt'

fails "missing model" lm-sample --ids nosuch.st
stderr_has "  names it" '^lm-sample: nosuch.st: No such file'
fails "text output needs a tokenizer" lm-sample r.st
stderr_has "  says so" 'needs --tokenizer'
fails "negative temperature" lm-sample --ids -t -1 r.st
fails "top-p outside (0, 1]" lm-sample --ids -P 1.5 r.st
lm-sample --ids -x r.st >/dev/null 2>&1
is "unknown option is a usage error (exit 2)" $? 2

if [ -r "$ASSETS/stories260K.bin" ] && [ -r "$ASSETS/tok512.bin" ] && [ -r "$ASSETS/tok512.model" ]; then
	S=$ASSETS/stories260K.bin
	# run.c prints a newline after the text; the expected file has it stripped
	{ cat "$ASSETS/stories260K_greedy200_expected.txt"; echo; } >want.txt
	ok "greedy 200 from BOS prints what run.c prints" sh -c "lm-sample -t 0 -n 200 --tokenizer $ASSETS/tok512.bin $S >got.txt"
	ok "  byte for byte" cmp got.txt want.txt
	ok "  the same with tok512.model" sh -c "lm-sample -t 0 -n 200 --tokenizer $ASSETS/tok512.model $S | cmp - want.txt"
	ok "  the same ids" sh -c "lm-sample -t 0 -n 200 --ids $S | cmp - $ASSETS/stories260K_greedy200_token_ids.txt"
	lm-convert "$S" v0.st && lm-convert "$ASSETS/stories260K_v1.bin" v1.st
	ok "  from the converted v0 checkpoint" sh -c "lm-sample -t 0 -n 200 --tokenizer $ASSETS/tok512.bin v0.st | cmp - want.txt"
	ok "  from the converted v1 checkpoint" sh -c "lm-sample -t 0 -n 200 --tokenizer $ASSETS/tok512.bin v1.st | cmp - want.txt"
	ok "  ids from the converted v1 checkpoint" sh -c "lm-sample -t 0 -n 200 --ids v1.st | cmp - $ASSETS/stories260K_greedy200_token_ids.txt"

	printf '{"prompt":"Once upon a time","id":"a"}\n\n{"prompt":"The cat"}\n' >p.jsonl
	ok "JSONL prompts" sh -c "lm-sample -j -t 0 -n 16 --tokenizer $ASSETS/tok512.bin -i p.jsonl $S >o.jsonl"
	is "  one line a prompt" "$(wc -l <o.jsonl | tr -d ' ')" 2
	ok "  keys of the prompt line kept" grep -q '^{"prompt":"Once upon a time","id":"a","completion":", there was a little girl named' o.jsonl
	is "  completion ids are run.c's" "$(head -1 o.jsonl | sed 's/.*"ids":\[\([^]]*\)\].*/\1/')" \
		"$(sed -n 5,20p "$ASSETS/stories260K_greedy200_token_ids.txt" | paste -sd, -)"
	ok "-p with -c 3 and temperature: three samples" sh -c "lm-sample -j -c 3 -n 8 -p 'The cat' --tokenizer $ASSETS/tok512.bin $S >c.jsonl"
	is "  three lines" "$(wc -l <c.jsonl | tr -d ' ')" 3

	printf '{"prompt":"ok"}\n{"text":"no prompt"}\n' >bad.jsonl
	fails "JSONL line without a prompt" lm-sample -j --tokenizer "$ASSETS/tok512.bin" -i bad.jsonl -o out.jsonl "$S"
	stderr_has "  names file and line" '^lm-sample: bad.jsonl:2: no "prompt"'
	ok "  no output file" sh -c '! ls out.jsonl* 2>/dev/null'
	printf '{"prompt":"ok"\n' >broken.jsonl
	fails "JSONL line that is not JSON" lm-sample -j --tokenizer "$ASSETS/tok512.bin" -i broken.jsonl "$S"
	stderr_has "  names the line" 'broken.jsonl:1: not a JSON object'
	if [ -r "$ASSETS/tokenizer.model" ]; then
		fails "tokenizer of another vocabulary" lm-sample --tokenizer "$ASSETS/tokenizer.model" "$S"
		stderr_has "  says so" 'tokenizer.model: 32000 tokens, but the model.s vocabulary has 512'
	fi
	fails "prompt without a tokenizer" lm-sample -j -p hi "$S"
else
	echo "# no $ASSETS/stories260K.bin or tok512: llama2.c asset tests skipped"
fi

done_testing
