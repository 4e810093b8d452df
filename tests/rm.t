#!/bin/sh
# lm-rm: a score model made from a language model learns preference pairs,
# scores chat records whatever the batch size, resumes exactly after SIGKILL,
# and refuses bad input with file and line.
. "$(dirname "$0")/lib.sh"
need_assets tok512.model
TOK=$ASSETS/tok512.model
export OMP_NUM_THREADS=1
echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 160}' >cfg.json
ok "a language model" lm-convert --init cfg.json lm.st
ok "init: a score model from it" lm-rm init --seed 3 -o rm0.st lm.st
is "init: the head is a score head" "$(lm-info rm0.st | sed -n 's/^head: //p')" score
ok "init: seeded" lm-rm init --seed 3 -o rm0b.st lm.st
is "init: same seed, same bytes" "$(cmp rm0.st rm0b.st && echo same)" same
fails "init: a score model is not a language model" lm-rm init -o x.st rm0.st
stderr_has "init: says which file" "rm0.st: a score"

# pairs: a question answered with a word of the first five (chosen) or of the
# last five (rejected): learnable by a tiny model in a few steps
awk 'BEGIN { split("apple river stone cloud bread lamp field horse music tower", w, " ");
	split("significantly better|better|slightly better|negligibly better", r, "|");
	for (i = 0; i < 96; i++) { a = w[i % 5 + 1]; b = w[(i * 3) % 5 + 6];
		printf "{\"id\": \"p%d\", \"kind\": \"%s\", \"variant\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Say %s\"}], \"chosen\": \"%s\", \"rejected\": \"%s\", \"rating\": \"%s\"}\n",
			i, i % 4 ? "helpful" : "safe", i % 3 ? "odd" : "even", a, a, b, r[i % 4 + 1] } }' >pairs.jsonl
head -64 pairs.jsonl >train.jsonl
tail -32 pairs.jsonl >val.jsonl
ok "train" lm-rm train --init rm0.st --tokenizer "$TOK" -b 16 --epochs 6 --lr 3e-3 --val val.jsonl \
	--val-every 8 --metrics m.jsonl -o rm.st train.jsonl
is "metrics: a record per step" "$(grep -c '"step":' m.jsonl)" 25
is "metrics: accuracy and margin per step, and per validation" \
	"$(tail -1 m.jsonl | grep -c '"accuracy".*"margin".*"val_loss".*"val_accuracy".*"val_margin"')" 1
is "training accuracy rose" "$(tail -1 m.jsonl | sed 's/.*"accuracy":\([0-9.]*\).*/\1/' | awk '{ print ($1 >= 0.75) ? "yes" : "no " $1 }')" yes
ok "eval" lm-rm eval -t "$TOK" -o eval.jsonl rm.st val.jsonl
is "eval: a line for all, 4 ratings, 2 kinds, 2 variants, unsafe" "$(wc -l <eval.jsonl | tr -d ' ')" 10
is "eval: the variants' pairs" "$(sed -n 's/.*"variant", "value": "\([a-z]*\)", "pairs": \([0-9]*\).*/\1 \2/p' eval.jsonl | sort | tr '\n' ' ')" "even 10 odd 22 "
is "eval: held-out accuracy above chance" "$(sed -n 's/.*"group": "all".*"lo": \([0-9.]*\).*/\1/p' eval.jsonl | awk '{ print ($1 > 0.5) ? "yes" : "no " $1 }')" yes

# score: chat records (the chosen replies as dialogues)
sed 's/"messages": \[\(.*\)\], "chosen": "\([a-z]*\)", "rejected".*/"messages": [\1, {"role": "assistant", "content": "\2"}], "keep": [1, {"a": null}]}/' val.jsonl >chat.jsonl
ok "score -b 1" lm-rm score -t "$TOK" -b 1 -o s1.jsonl rm.st chat.jsonl
ok "score -b 64, stdin to stdout" sh -c "lm-rm score -t '$TOK' -b 64 rm.st - <chat.jsonl >s64.jsonl"
is "score: the same bytes for -b 1 and -b 64" "$(cmp s1.jsonl s64.jsonl && echo same)" same
is "score: one record per input, in order" "$(sed 's/.*"id":"\([^"]*\)".*/\1/' s1.jsonl | tr '\n' ' ')" "$(sed 's/.*"id": "\([^"]*\)".*/\1/' chat.jsonl | tr '\n' ' ')"
is "score: other members kept" "$(grep -c '"keep":\[1,{"a":null}\]' s1.jsonl)" 32
ok "score: a second model adds its own reward" sh -c "lm-rm score -t '$TOK' -n safety rm.st s1.jsonl >s2.jsonl"
is "score: both rewards" "$(grep -c '"rewards":{"rm":[-0-9.e]*,"safety":[-0-9.e]*}' s2.jsonl)" 32
# bf16 weights: the same records, each reward within 2% of the score's spread of its fp32 one
ok "score --weights bf16" lm-rm score -t "$TOK" --weights bf16 -b 1 -o sb1.jsonl rm.st chat.jsonl
ok "score --weights bf16 -b 64" lm-rm score -t "$TOK" --weights bf16 -b 64 -o sb64.jsonl rm.st chat.jsonl
is "score bf16: the same bytes for -b 1 and -b 64" "$(cmp sb1.jsonl sb64.jsonl && echo same)" same
is "score bf16: close to fp32" "$(paste -d' ' s1.jsonl sb1.jsonl | sed 's/.*"rm":\([-0-9.e]*\)}.*"rm":\([-0-9.e]*\)}.*/\1 \2/' |
	awk '{ d = $1 - $2; d = d < 0 ? -d : d; if (d > m) m = d; lo = NR == 1 || $1 < lo ? $1 : lo; hi = NR == 1 || $1 > hi ? $1 : hi; n++ }
	END { print (n == 32 && m < 0.02 * (hi - lo)) ? "yes" : "no: largest difference " m " of a spread " hi - lo }')" yes
fails "score: --weights f16 refused" lm-rm score -t "$TOK" --weights f16 -o bad.jsonl rm.st chat.jsonl

# rows shorter than a pair: each side in a row of its own, both in one micro-batch
ok "train: pairs longer than a row" lm-rm train --init rm0.st --tokenizer "$TOK" -t 40 -b 16 --micro-batch 4 \
	--metrics split.jsonl -o split.st train.jsonl
is "train: two rows a pair" "$(sed -n '2s/.*"step_pairs":16,"rows":\([0-9]*\).*/\1/p' split.jsonl)" 32
fails "train: not with one row a micro-batch" lm-rm train --init rm0.st --tokenizer "$TOK" -t 40 --micro-batch 1 \
	-o split1.st train.jsonl
stderr_has "train: says which pair" "^lm-rm: train.jsonl:1: the pair takes two rows of 40"

# Killed after a checkpoint and resumed: the same bytes as a straight run.
A="--init rm0.st --tokenizer $TOK -b 8 --epochs 2 --lr 1e-3 train.jsonl"
ok "straight run" lm-rm train $A -o straight.st
lm-rm train $A -o part.st --checkpoint-every 3 2>/dev/null &
pid=$!
while [ ! -e part.st.state ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
ok "resume after SIGKILL" lm-rm train --resume --tokenizer "$TOK" -b 8 --epochs 2 --lr 1e-3 -o part.st train.jsonl
is "resumed checkpoint equals the straight one" "$(cmp straight.st part.st && echo same)" same

# bad input: each an error naming the file (and line), and no output
printf '%s\n' '{"messages": [{"role": "user", "content": "Say a"}], "rejected": "b", "rating": "better"}' >nochosen.jsonl
printf '%s\n' '{"messages": [{"role": "user", "content": "Say a"}], "chosen": "a", "rejected": "a", "rating": "better"}' >same.jsonl
printf '%s\n' '{"messages": [{"role": "user", "content": "Say a"}], "chosen": "a", "rejected": "b", "rating": "much better"}' >rating.jsonl
awk 'BEGIN { s = ""; for (i = 0; i < 200; i++) s = s "word "; printf "{\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}], \"chosen\": \"a\", \"rejected\": \"b\", \"rating\": \"better\"}\n", s }' >long.jsonl
for f in nochosen same rating long; do
	fails "train: $f pair refused" lm-rm train --init rm0.st --tokenizer "$TOK" -o bad.st $f.jsonl
	stderr_has "train: $f names file and line" "^lm-rm: $f.jsonl:1: "
	is "train: $f leaves no checkpoint" "$(ls bad.st* 2>/dev/null)" ""
done
fails "score: a language model refused" lm-rm score -t "$TOK" -o bad.jsonl lm.st chat.jsonl
stderr_has "score: says why" "lm.st: a language model, not a score model"
is "score: no output" "$(ls bad.jsonl* 2>/dev/null)" ""
fails "lm-sample refuses a score model" lm-sample --tokenizer "$TOK" -n 4 rm.st
stderr_has "lm-sample: says why" "rm.st: a score \(reward\) model has no vocabulary head"
fails "lm-chat refuses a score model" lm-chat -m rm.st -t "$TOK" -i chat.jsonl -o bad.jsonl
fails "lm-eval loss refuses a score model" lm-eval loss rm.st /dev/null
printf '%s\n' '{"messages": [{"role": "user", "content": "Say a"}], "chosen": "a", "rejected": "  ", "rating": "better"}' >empty.jsonl
printf '%s\n' '{"messages": [{"role": "user", "content": "Say a"}], "chosen": "a", "rejected": "a ", "rating": "better"}' >space.jsonl
for f in empty space; do
	fails "train: $f reply refused" lm-rm train --init rm0.st --tokenizer "$TOK" -o bad.st $f.jsonl
	stderr_has "train: $f names file and line" "^lm-rm: $f.jsonl:1: "
done
echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 512, "head": "value"}' >badhead.json
fails "a head that is neither lm nor score" lm-convert --init badhead.json x.st
stderr_has "names the file" "^lm-convert: badhead.json: head: \"value\": must be"
perl -e 'print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 512, 2, 0, 0, 100, 1, ""), pack("v*", 1 .. 100), pack("Q<", 0)' >t.bin
fails "lm-pretrain refuses to make a score model" lm-pretrain --set dim=32 --set n_layers=1 --set n_heads=4 \
	--set vocab_size=512 --set max_seq_len=16 --set head=score -o x.st t.bin
stderr_has "says why" "a score \(reward\) model has no vocabulary head"
fails "score: the output may not be the input" lm-rm score -t "$TOK" -o chat.jsonl rm.st chat.jsonl
stderr_has "says so" "chat.jsonl: is also an input"
fails "train: the checkpoint may not be the pairs" lm-rm train --init rm0.st --tokenizer "$TOK" -o train.jsonl train.jsonl
stderr_has "says so" "train.jsonl: is also an input"
is "the pairs are intact" "$(head -64 pairs.jsonl | cmp - train.jsonl && echo intact)" intact
ok "--help" lm-rm --help
ok "--version names the BLAS kernel" sh -c 'lm-rm --version | grep -q "BLAS: OpenBLAS"'
fails "an unknown subcommand" lm-rm bogus
stderr_has "prints the usage" "^usage: lm-rm init"
if command -v mandoc >/dev/null; then ok "man page lints clean" mandoc -Tlint -Wwarning "$ROOT/man/lm-rm.1"; fi
fails "train: an lm checkpoint as --init refused" lm-rm train --init lm.st --tokenizer "$TOK" -o bad.st train.jsonl
stderr_has "train: says to use lm-rm init" "lm-rm init"
done_testing
