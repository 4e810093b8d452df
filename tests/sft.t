#!/bin/sh
# lm-sft: a tiny model learns a chat format from a few hundred dialogues and
# answers held-out prompts in it; resume is exact; bad input is refused.
. "$(dirname "$0")/lib.sh"
need_assets tok512.model
TOK=$ASSETS/tok512.model
# one thread: the machine's other jobs make OpenMP's spinning threads slow
export OMP_NUM_THREADS=1
awk -v mode=train -f "$ROOT/tests/data/chat_say.awk" >train.jsonl
awk -v mode=held -f "$ROOT/tests/data/chat_say.awk" >held.jsonl
echo '{"dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": 512, "max_seq_len": 128}' >cfg.json
ok "chat dialogues to a masked shard" lm-tokenize --chat -m "$TOK" -o train.bin train.jsonl
ok "random initial model" lm-convert --init cfg.json init.safetensors

# accuracy FILE: percent of replies that repeat the prompt's words exactly
accuracy() {
	sed -n 's/.*"content": "Say \([^"]*\)"}, {"role": "assistant", "content": "\([^"]*\)"}.*/\1|\2/p' "$1" |
		awk -F'|' '{ n++; if ($1 == $2) k++ } END { printf "%d\n", n ? 100 * k / n : -1 }'
}
ok "replies of the untrained model" lm-chat -m init.safetensors -t "$TOK" --temperature 0 -i held.jsonl -o before.jsonl
is "90 held-out prompts answered" "$(wc -l <before.jsonl | tr -d ' ')" 90
before=$(accuracy before.jsonl)
ok "fine-tune" lm-sft --threads 1 --init init.safetensors -o sft.safetensors --lr 5e-3 -b 8 \
	--epochs 16 --warmup 5 --weight-decay 0 --metrics m.jsonl train.bin
ok "replies of the fine-tuned model" lm-chat -m sft.safetensors -t "$TOK" --temperature 0 -i held.jsonl -o after.jsonl
after=$(accuracy after.jsonl)
echo "# held-out accuracy: $before% before, $after% after"
is "untrained model does not know the format" "$([ "$before" -le 5 ] && echo yes || echo "no ($before%)")" yes
is "fine-tuned model answers held-out prompts in it" "$([ "$after" -ge 50 ] && echo yes || echo "no ($after%)")" yes
steps=$(sed -n 's/.*"steps":\([0-9]*\).*/\1/p' m.jsonl)
is "metrics: a start record and one record per step" "$(grep -c '"step":' m.jsonl)" $((steps + 1))
is "metrics: the loss fell" "$(awk -F'"loss":' 'NR==2 { split($2, a, ","); f = a[1] } END { split($2, a, ","); print (a[1] < f / 4) ? "yes" : "no" }' m.jsonl)" yes

# Killed after a checkpoint and resumed: the same final checkpoint as a straight run.
A="--threads 1 --init init.safetensors --lr 5e-3 -b 16 --epochs 2 --warmup 2 train.bin"
ok "straight run" lm-sft $A -o straight.safetensors
lm-sft $A -o part.safetensors --checkpoint-every 3 &
pid=$!
while [ ! -e part.safetensors.state ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
ok "resume after SIGKILL" lm-sft --resume -o part.safetensors --threads 1 --lr 5e-3 -b 16 --epochs 2 --warmup 2 train.bin
ok "resumed checkpoint is byte-identical" cmp straight.safetensors part.safetensors
# SIGTERM: the step under way finishes, the checkpoint is saved, exit 0; resuming still matches.
rm -f part.safetensors*
lm-sft $A -o part.safetensors --checkpoint-every 3 2>term.err &
pid=$!
while [ ! -e part.safetensors.state ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done
kill -TERM $pid 2>/dev/null
wait $pid
is "SIGTERM: exit status 0" $? 0
is "SIGTERM: says where it stopped" "$(grep -c 'terminated at step [0-9]*: saved part.safetensors' term.err)" 1
ok "resume after SIGTERM" lm-sft --resume -o part.safetensors --threads 1 --lr 5e-3 -b 16 --epochs 2 --warmup 2 train.bin
ok "resumed checkpoint is byte-identical" cmp straight.safetensors part.safetensors
fails "nothing left to resume" lm-sft --resume -o part.safetensors --threads 1 --lr 5e-3 -b 16 --epochs 2 train.bin
stderr_has "says so" "already trained"

# A row without any answer token (a question longer than the row) adds nothing and is counted.
q="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
printf '{"messages": [{"role": "user", "content": "%s %s"}, {"role": "assistant", "content": "ok"}]}\n' "$q" "$q" >long.jsonl
head -n 3 train.jsonl >>long.jsonl
ok "shard with a question longer than a row" lm-tokenize --chat -m "$TOK" -o long.bin long.jsonl
ok "fine-tune on rows of 32" lm-sft --threads 1 --init init.safetensors -o long.safetensors -t 32 -b 1 --epochs 1 \
	--seed 3 --metrics long.jsonl.m long.bin
stderr_has "the long dialogue is cut" "long.bin: 1 dialogues longer than 32 tokens are cut"
is "its row counted as empty, loss 0" "$(grep -c '"loss":0.000000,"targets":0,"rows":1,"empty_rows":1' long.jsonl.m)" 1
is "no NaN anywhere" "$(grep -ci nan long.jsonl.m)" 0

# Micro-batches that do not divide the batch: the same losses up to rounding.
ok "batch 10 in micro-batches of 4" lm-sft --threads 1 --init init.safetensors -o mb4.safetensors -b 10 --micro-batch 4 \
	--epochs 1 --lr 5e-3 --metrics mb4.m train.bin
ok "batch 10 in one pass" lm-sft --threads 1 --init init.safetensors -o mb10.safetensors -b 10 --micro-batch 10 \
	--epochs 1 --lr 5e-3 --metrics mb10.m train.bin
loss_of() { sed -n 's/.*"step":\([0-9]*\),"epoch":[0-9]*,"loss":\([0-9.]*\).*/\1 \2/p' "$1"; }
is "losses agree at every step" "$(loss_of mb4.m >l4; loss_of mb10.m >l10; paste l4 l10 |
	awk '{ d = $2 - $4; if (d < 0) d = -d; if (d > 1e-4 * $4 || $1 != $3) bad++ } END { print (NR > 5), bad + 0 }')" "1 0"

# Bad input: clear errors, non-zero exit, no output left behind.
printf 'plain text\n' | lm-tokenize -m "$TOK" -o plain.bin
fails "a shard without a loss mask" lm-sft --init init.safetensors -o out.safetensors plain.bin
stderr_has "names the missing mask" "plain.bin: no loss mask"
fails "a missing shard" lm-sft --init init.safetensors -o out.safetensors nosuch.bin
stderr_has "names the file" "nosuch.bin: No such file"
fails "a missing checkpoint" lm-sft --init nosuch.safetensors -o out.safetensors train.bin
stderr_has "names the checkpoint" "nosuch.safetensors"
echo '{"dim": 64, "n_layers": 1, "n_heads": 4, "vocab_size": 256, "max_seq_len": 64}' >small.json
lm-convert --init small.json small.safetensors
fails "a shard with a larger vocabulary than the model" lm-sft --init small.safetensors -o out.safetensors train.bin
stderr_has "says which" "train.bin: shard vocabulary of 512 is larger than the model's 256"
fails "a diverging run" lm-sft --threads 1 --init init.safetensors -o out.safetensors --lr 1e30 --clip 0 -b 4 train.bin
stderr_has "stops at a non-finite loss" "step [0-9]+: (loss|gradient norm) is not finite"
is "no checkpoint from failed runs" "$(ls out.safetensors* 2>/dev/null)" ""
lm-sft -b 0 --init init.safetensors -o out.safetensors train.bin 2>/dev/null
is "-b 0 is an error" $? 1
lm-sft --init init.safetensors train.bin 2>/dev/null
is "no -o is a usage error" $? 2
fails "-o - (no place for the training state)" lm-sft --init init.safetensors -o - train.bin
done_testing
