#!/bin/sh
# --device cuda: refused cleanly where it cannot run; on a GPU, a run repeats
# byte for byte, resumes exactly after SIGTERM, and continues across devices
# (CPU -> GPU -> CPU) with the CPU's files; lm-sft and lm-rm train there too,
# and lm-rm scores and evaluates there as on the CPU; lm-sample and lm-chat
# decode there as on the CPU.
. "$(dirname "$0")/lib.sh"

recurrence_shard 20000 64 1 >train.bin
MODEL="--set dim=64 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32"
RUN="-b 4 --warmup 5 --lr 3e-3 --steps 40"
loss_at() { grep "^{\"step\":$2," "$1" | tail -1 | sed 's/.*"loss":\([0-9.]*\).*/\1/'; }

# refused CMD... / PATTERN: fails cleanly saying PATTERN
refused() { fails_cleanly "$@"; grep -q -- "$reason" "$T/.err" || why="$why; stderr lacks '$reason'"; }
reason="--device tpu: cpu or cuda"
refused lm-pretrain $MODEL $RUN --device tpu -o x.st train.bin
verdict "--device: an unknown device is refused"
reason="--precision bf16: only with --device cuda"
refused lm-pretrain $MODEL $RUN --precision bf16 -o x.st train.bin
verdict "--precision without --device cuda is refused"
reason="--precision fp16: bf16, tf32 or fp32"
refused lm-pretrain $MODEL $RUN --device cuda --precision fp16 -o x.st train.bin
verdict "--precision: an unknown one is refused"
reason="--device tpu: cpu or cuda"
refused lm-sample --device tpu --ids x.st
verdict "lm-sample --device: an unknown device is refused"
reason="--device tpu: cpu or cuda"
refused lm-rm score --device tpu -t x.model x.st
verdict "lm-rm score --device: an unknown device is refused"

# a score model and preference pairs (tests/rm.t's): a question answered with
# a word of the first five (chosen) or of the last five (rejected)
TOK=$ASSETS/tok512.model
if [ -r "$TOK" ]; then
	echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 160}' >rcfg.json
	lm-convert --init rcfg.json rlm.st && lm-rm init --seed 3 -o rm0.st rlm.st
	awk 'BEGIN { split("apple river stone cloud bread lamp field horse music tower", w, " ");
		split("significantly better|better|slightly better|negligibly better", r, "|");
		for (i = 0; i < 96; i++) { a = w[i % 5 + 1]; b = w[(i * 3) % 5 + 6];
			printf "{\"id\": \"p%d\", \"kind\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Say %s\"}], \"chosen\": \"%s\", \"rejected\": \"%s\", \"rating\": \"%s\"}\n",
				i, i % 4 ? "helpful" : "safe", a, a, b, r[i % 4 + 1] } }' >pairs.jsonl
	head -64 pairs.jsonl >rtrain.jsonl
	tail -32 pairs.jsonl >rval.jsonl
	sed 's/"messages": \[\(.*\)\], "chosen": "\([a-z]*\)", "rejected".*/"messages": [\1, {"role": "assistant", "content": "\2"}]}/' rval.jsonl >rchat.jsonl
fi

if lm-pretrain --version | grep -q 'GPU: no '; then
	fails_cleanly lm-pretrain $MODEL $RUN --device cuda -o x.st train.bin
	verdict "--device cuda without a GPU: refused, nothing written"
	is "the reason names what is missing" "$(grep -c 'lm-pretrain: --device cuda: no ' "$T/.err")" 1
	printf '{"dim":32,"n_layers":2,"n_heads":4,"vocab_size":64,"hidden_dim":48,"max_seq_len":64}' >cfg.json
	lm-convert --init cfg.json --seed 5 r.st
	fails_cleanly lm-sample --device cuda --ids r.st
	verdict "lm-sample --device cuda without a GPU: refused"
	is "  saying why" "$(grep -c 'lm-sample: --device cuda: no ' "$T/.err")" 1
	if [ -r "$TOK" ]; then
		fails_cleanly lm-rm train --device cuda --init rm0.st --tokenizer "$TOK" -o x.st rtrain.jsonl
		verdict "lm-rm train --device cuda without a GPU: refused"
		is "  saying why" "$(grep -c 'lm-rm: --device cuda: no ' "$T/.err")" 1
		fails_cleanly lm-rm score --device cuda -t "$TOK" -o x.jsonl rm0.st rchat.jsonl
		verdict "lm-rm score --device cuda without a GPU: refused"
		is "  saying why, writing nothing" "$(grep -c 'lm-rm: --device cuda: no ' "$T/.err")$(ls x.jsonl* 2>/dev/null)" 1
	fi
	_n=$((_n + 1))
	echo "ok $_n # SKIP the GPU runs: $(lm-pretrain --version | sed 's/.*GPU: //')"
	done_testing
	exit
fi

ok "trains on the GPU" lm-pretrain $MODEL $RUN --device cuda --metrics g.jsonl -o g.st train.bin
is "the metrics name the device" "$(head -1 g.jsonl | grep -c '"device":"cuda","gpu":"[^"]*","precision":"bf16"')" 1
ok "again: the same bytes" lm-pretrain $MODEL $RUN --device cuda -o g2.st train.bin
ok "deterministic" cmp g.st g2.st
ok "fp32 products" lm-pretrain $MODEL $RUN --device cuda --precision fp32 --metrics f.jsonl -o f.st train.bin
ok "the CPU, the same run" lm-pretrain $MODEL $RUN --metrics c.jsonl -o c.st train.bin
ok "fp32 losses follow the CPU's (step 40: $(loss_at f.jsonl 40) and $(loss_at c.jsonl 40))" \
	perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 1e-4 * $ARGV[1])' "$(loss_at f.jsonl 40)" "$(loss_at c.jsonl 40)"
ok "bf16 losses within 1% of the CPU's (step 40: $(loss_at g.jsonl 40))" \
	perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 0.01 * $ARGV[1])' "$(loss_at g.jsonl 40)" "$(loss_at c.jsonl 40)"

# SIGTERM mid-run, resumed on the GPU: the uninterrupted run's bytes
lm-pretrain $MODEL $RUN --steps 3000 --device cuda --checkpoint-every 50 -o t.st train.bin 2>err.txt &
pid=$!
# once its first checkpoint is there (a fixed sleep let a fast card finish all 3000 steps first)
i=0
while [ ! -e t.st ] && [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid
ok "stopped by SIGTERM, saved ($(grep -o 'at step [0-9]*' err.txt))" grep -q 'terminated at step' err.txt
ok "resumed on the GPU" lm-pretrain $RUN --steps 3000 --device cuda --resume -o t.st train.bin
ok "the uninterrupted run" lm-pretrain $MODEL $RUN --steps 3000 --device cuda -o u.st train.bin
ok "byte-identical after SIGTERM and resume" cmp t.st u.st

# CPU to step 20, GPU to 30, CPU to 40, against the CPU alone (a constant
# learning rate, so the schedule does not depend on --steps): the curve continues
FLAT="-b 4 --warmup 0 --lr 1e-3 --min-lr 1e-3"
ok "CPU alone, 40 steps" lm-pretrain $MODEL $FLAT --steps 40 --metrics x.jsonl -o x.st train.bin
ok "CPU to step 20" lm-pretrain $MODEL $FLAT --steps 20 --metrics h.jsonl -o h.st train.bin
ok "GPU from 20 to 30 (fp32)" lm-pretrain $FLAT --steps 30 --device cuda --precision fp32 --resume --metrics h.jsonl -o h.st train.bin
ok "CPU from 30 to 40" lm-pretrain $FLAT --steps 40 --resume --metrics h.jsonl -o h.st train.bin
is "the records of every step" "$(grep -c '"loss"' h.jsonl)" 40
ok "the curve continues: step 40 $(loss_at h.jsonl 40), CPU alone $(loss_at x.jsonl 40)" \
	perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 1e-4 * $ARGV[1])' "$(loss_at h.jsonl 40)" "$(loss_at x.jsonl 40)"

if [ -r "$ASSETS/tok512.model" ]; then
	awk -v mode=train -f "$ROOT/tests/data/chat_say.awk" >chat.jsonl
	echo '{"dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": 512, "max_seq_len": 128}' >cfg.json
	lm-tokenize --chat -m "$ASSETS/tok512.model" -o sft.bin chat.jsonl && lm-convert --init cfg.json init.st
	SFT="--init init.st --lr 5e-3 -b 8 --epochs 2 --warmup 5 sft.bin"
	ok "lm-sft on the GPU (fp32)" lm-sft $SFT --device cuda --precision fp32 --metrics s.jsonl -o s.st
	ok "lm-sft on the CPU" lm-sft $SFT --metrics sc.jsonl -o sc.st
	n=$(tail -1 sc.jsonl | grep -o '"step":[0-9]*' | cut -d: -f2)
	ok "the same losses (step $n: $(loss_at s.jsonl $n), CPU $(loss_at sc.jsonl $n))" \
		perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 1e-4 * $ARGV[1])' "$(loss_at s.jsonl $n)" "$(loss_at sc.jsonl $n)"
fi

if [ -r "$TOK" ]; then
	# reward models: training follows the CPU's and repeats byte for byte; scores are the CPU's
	val_at() { grep "^{\"step\":$2," "$1" | tail -1 | sed 's/.*"val_loss":\([0-9.]*\).*/\1/'; }
	RM="--init rm0.st --tokenizer $TOK -b 16 --epochs 2 --lr 3e-4 --val rval.jsonl rtrain.jsonl"
	ok "lm-rm train on the GPU (fp32)" lm-rm train $RM --device cuda --precision fp32 --metrics rg.jsonl -o rg.st
	ok "again: the same bytes" lm-rm train $RM --device cuda --precision fp32 -o rg2.st
	ok "deterministic" cmp rg.st rg2.st
	ok "lm-rm train on the CPU" lm-rm train $RM --metrics rc.jsonl -o rc.st
	ok "the same losses (step 8: $(loss_at rg.jsonl 8), CPU $(loss_at rc.jsonl 8))" \
		perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 1e-3 * $ARGV[1])' "$(loss_at rg.jsonl 8)" "$(loss_at rc.jsonl 8)"
	ok "the same validation losses ($(val_at rg.jsonl 8), CPU $(val_at rc.jsonl 8))" \
		perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 1e-3 * $ARGV[1])' "$(val_at rg.jsonl 8)" "$(val_at rc.jsonl 8)"
	ok "lm-rm train on the GPU (bf16)" lm-rm train $RM --device cuda --metrics rb.jsonl -o rb.st
	ok "bf16 losses within 5% of the CPU's (step 8: $(loss_at rb.jsonl 8))" \
		perl -e 'exit !(abs($ARGV[0] - $ARGV[1]) <= 0.05 * $ARGV[1])' "$(loss_at rb.jsonl 8)" "$(loss_at rc.jsonl 8)"
	# scores: the CPU's within 1e-4 (relative, absolute below 1)
	rewards() { sed 's/.*"rewards":{"rc":\([-0-9.e]*\)}.*/\1/' "$1"; }
	close() { paste -d' ' "$1" "$2" | awk -v tol="$3" '{ d = $1 - $2; d = d < 0 ? -d : d; a = $2 < 0 ? -$2 : $2;
		if (d > tol * (a > 1 ? a : 1)) bad++; n++ } END { print n == 32 && !bad ? "yes" : "no: " bad + 0 " of " n }'; }
	lm-rm score -t "$TOK" -o sc.jsonl rc.st rchat.jsonl && rewards sc.jsonl >sc.txt
	ok "lm-rm score --device cuda" lm-rm score --device cuda -t "$TOK" -o sg.jsonl rc.st rchat.jsonl
	rewards sg.jsonl >sg.txt
	is "  the CPU's scores within 1e-4" "$(close sg.txt sc.txt 1e-4)" yes
	ok "lm-rm score --device cuda -b 1" lm-rm score --device cuda -t "$TOK" -b 1 -o sg1.jsonl rc.st rchat.jsonl
	rewards sg1.jsonl >sg1.txt
	is "  the CPU's scores within 1e-4" "$(close sg1.txt sc.txt 1e-4)" yes
	is "  the same records in order" "$(sed 's/"rewards":{[^}]*}//' sg1.jsonl)" "$(sed 's/"rewards":{[^}]*}//' sc.jsonl)"
	# bf16 weights and products: close to fp32, as the CPU's bf16 weights are (tests/rm.t)
	ok "lm-rm score --device cuda --weights bf16" lm-rm score --device cuda --weights bf16 -t "$TOK" -o sgb.jsonl rc.st rchat.jsonl
	rewards sgb.jsonl >sgb.txt
	is "  within 5% of the scores' spread of fp32" "$(paste -d' ' sgb.txt sc.txt | awk '{ d = $1 - $2; d = d < 0 ? -d : d;
		if (d > m) m = d; lo = NR == 1 || $2 < lo ? $2 : lo; hi = NR == 1 || $2 > hi ? $2 : hi; n++ }
		END { print (n == 32 && m < 0.05 * (hi - lo)) ? "yes" : "no: largest difference " m " of a spread " hi - lo }')" yes
	lm-rm eval -t "$TOK" -o ec.jsonl rc.st rval.jsonl
	ok "lm-rm eval --device cuda: the CPU's results" sh -c "lm-rm eval --device cuda -t '$TOK' rc.st rval.jsonl | cmp - ec.jsonl"
fi

# decoding: sampled tokens at batch 7 on the GPU are the CPU's at batch 1
printf '{"dim":32,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":64,"hidden_dim":48,"max_seq_len":64}' >cfg.json
lm-convert --init cfg.json --seed 5 r.st
lm-sample --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b 1 r.st >b1.txt
ok "lm-sample --device cuda: batch 7 samples as the CPU's batch 1" \
	sh -c 'lm-sample --device cuda --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b 7 r.st | cmp - b1.txt'
# steps of at most 4 rows take the matrix-vector path, fp32 and bf16 (vector loads: rows of 32 and 48)
ok "lm-sample --device cuda: batch 1 and 3 (matrix-vector steps) sample as the CPU's batch 1" \
	sh -c 'for b in 1 3; do lm-sample --device cuda --ids -t 1 -k 20 -P 0.95 -n 12 -c 24 -s 7 -b $b r.st | cmp - b1.txt || exit 1; done'
lm-sample --weights bf16 --ids -t 1 -n 12 -c 24 -s 7 -b 1 r.st >h1.txt
ok "lm-sample --device cuda --weights bf16: batch 1 and 3 sample as the CPU's bf16" \
	sh -c 'for b in 1 3; do lm-sample --device cuda --weights bf16 --ids -t 1 -n 12 -c 24 -s 7 -b $b r.st | cmp - h1.txt || exit 1; done'
if [ -r "$ASSETS/stories260K.bin" ] && [ -r "$ASSETS/tok512.model" ]; then
	S=$ASSETS/stories260K.bin
	ok "lm-sample --device cuda: stories260K's greedy 200 ids, run.c's" \
		sh -c "lm-sample --device cuda -t 0 -n 200 --ids $S | cmp - $ASSETS/stories260K_greedy200_token_ids.txt"
	# bf16 rows of 172 (its hidden size, not a multiple of 8): the matrix-vector path's element-wise loads
	lm-sample --weights bf16 -t 0 -n 60 --ids $S >g16.txt
	ok "lm-sample --device cuda --weights bf16: stories260K's greedy 60 ids, the CPU's bf16" \
		sh -c "lm-sample --device cuda --weights bf16 -t 0 -n 60 --ids $S | cmp - g16.txt"
	printf '%s\n' '{"messages":[{"role":"user","content":"Once upon a time"}]}' \
		'{"messages":[{"role":"user","content":"Tom had a dog"}]}' \
		'{"messages":[{"role":"user","content":"The sun was hot and the sky"}]}' >p.jsonl
	lm-chat -m $S -t $ASSETS/tok512.model --seed 3 --max-new 40 -b 2 -i p.jsonl -o cpu.jsonl
	ok "lm-chat --device cuda: the CPU's replies" sh -c \
		"lm-chat --device cuda -m $S -t $ASSETS/tok512.model --seed 3 --max-new 40 -b 2 -i p.jsonl | cmp - cpu.jsonl"
fi
done_testing
