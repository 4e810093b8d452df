#!/bin/sh
# lm-pretrain: trains, resumes exactly after SIGKILL and SIGTERM, refuses bad input.
. "$(dirname "$0")/lib.sh"
recurrence_shard 20000 64 1 >train.bin
recurrence_shard 4000 64 2 >val.bin
MODEL="--set dim=32 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32 --set hidden_dim=64"
RUN="-b 4 --warmup 5 --lr 3e-3 --steps 60"
state_step() { grep -ao '"step":[0-9]*' "$1" | cut -d: -f2; }
# wait_for FILE: until it exists (at most ~20 s)
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done; }

ok "trains from --set" lm-pretrain $MODEL $RUN --val val.bin --val-every 30 --metrics m.jsonl -o a.safetensors train.bin
is "first metrics record names the BLAS kernel" "$(head -1 m.jsonl | grep -c '"start":true.*"blas":"OpenBLAS')" 1
is "one record per step" "$(grep -c '"loss"' m.jsonl)" 60
is "val_loss at steps 30 and 60" "$(grep -c '"val_loss"' m.jsonl)" 2
first=$(sed -n 2p m.jsonl | sed 's/.*"loss":\([0-9.]*\).*/\1/')
last=$(tail -1 m.jsonl | sed 's/.*"loss":\([0-9.]*\).*/\1/')
ok "loss falls ($first -> $last)" perl -e "exit !($last < $first - 0.5)"
ok "state file beside the checkpoint" test -s a.safetensors.state
ok "same seed, same bytes" lm-pretrain $MODEL $RUN -o a2.safetensors train.bin
ok "deterministic" cmp a.safetensors a2.safetensors

ok "shard from a pipe" sh -c "cat train.bin | lm-pretrain $MODEL $RUN -o p.safetensors -"
ok "trains the same as from the file" cmp a.safetensors p.safetensors

# killed with SIGKILL after a checkpoint, resumed: the same final checkpoint
lm-pretrain $MODEL $RUN --checkpoint-every 3 -o b.safetensors train.bin 2>/dev/null &
pid=$!
wait_for b.safetensors.state
kill -9 $pid; wait $pid 2>/dev/null
s=$(state_step b.safetensors.state)
ok "killed mid-run (checkpoint at step $s)" test "$s" -lt 60
ok "resumes after SIGKILL" lm-pretrain $RUN --resume -o b.safetensors train.bin
ok "byte-identical to the uninterrupted run" cmp a.safetensors b.safetensors

# SIGTERM: finishes the step, saves, exits 0
lm-pretrain $MODEL $RUN --checkpoint-every 2 -o c.safetensors train.bin 2>err.txt &
pid=$!
wait_for c.safetensors.state
kill -TERM $pid; wait $pid; rc=$?
is "SIGTERM exits 0" "$rc" 0
ok "says how to continue" grep -q 'terminated at step [0-9]*: saved c.safetensors; continue with --resume' err.txt
ok "resumes after SIGTERM" lm-pretrain $RUN --resume -o c.safetensors train.bin
ok "byte-identical after SIGTERM and resume" cmp a.safetensors c.safetensors

# gradient accumulation: 2 micro-batches of 2 rows draw the same windows as one
# of 4 rows, so they train the same (up to float summation order)
loss_at() { sed -n "$(($2 + 1))p" "$1" | sed 's/.*"loss":\([0-9.]*\).*/\1/'; }
ok "--batch-tokens accumulates" lm-pretrain $MODEL -b 2 --batch-tokens 128 --steps 5 --metrics acc.jsonl -o acc.safetensors train.bin
ok "one micro-batch of 4 rows" lm-pretrain $MODEL -b 4 --steps 5 --metrics one.jsonl -o one.safetensors train.bin
is "same first loss" "$(loss_at acc.jsonl 1)" "$(loss_at one.jsonl 1)"
ok "same fifth loss within 1e-4" perl -e "exit !(abs($(loss_at acc.jsonl 5) - $(loss_at one.jsonl 5)) < 1e-4)"
ok "--init from a checkpoint" lm-pretrain --init a.safetensors --steps 2 -b 2 -o init.safetensors train.bin

# bad input: clear error, non-zero exit, no output
fails "missing shard" lm-pretrain $MODEL $RUN -o x.safetensors nosuch.bin
stderr_has "names the missing file" '^lm-pretrain: nosuch.bin: No such file or directory$'
recurrence_shard 1000 100 3 >big.bin
fails "shard vocabulary larger than the model's" lm-pretrain $MODEL $RUN -o x.safetensors big.bin
stderr_has "says so" '^lm-pretrain: big.bin: vocabulary of 100 tokens is larger than the model.s 64$'
head -c 3000 train.bin >cut.bin
fails "truncated shard" lm-pretrain $MODEL $RUN -o x.safetensors cut.bin
stderr_has "reports corruption" '^lm-pretrain: cut.bin: truncated or corrupt shard'
cp a.safetensors good.safetensors; cp a.safetensors.state good.safetensors.state
cp a.safetensors keep.safetensors
fails "huge learning rate" lm-pretrain $RUN --steps 200 --lr 1e9 --warmup 0 --resume -o good.safetensors train.bin
stderr_has "loss is not finite" '^lm-pretrain: step [0-9]+: (loss|gradient norm) is not finite$'
ok "last good checkpoint untouched" cmp good.safetensors keep.safetensors
fails "--resume without a state file" lm-pretrain $RUN --resume -o x.safetensors train.bin
cp a.safetensors d.safetensors; cp a.safetensors.state d.safetensors.state
printf 'X' | dd of=d.safetensors.state bs=1 seek=100 conv=notrunc 2>/dev/null
fails "corrupt state file" lm-pretrain $RUN --steps 200 --resume -o d.safetensors train.bin
stderr_has "checksum" 'd.safetensors.state: corrupt training state'
cp b.safetensors.state d.safetensors.state
cp acc.safetensors d.safetensors 2>/dev/null
fails "state of another checkpoint" lm-pretrain -b 4 --steps 200 --resume -o d.safetensors train.bin
stderr_has "refused" 'does not belong to d.safetensors'
# killed after the checkpoint was replaced but before its state was: the
# state in waiting (.state.new) is found
cp one.safetensors e.safetensors; cp one.safetensors.state e.safetensors.state.new
cp a.safetensors.state e.safetensors.state
ok "resumes with the state in waiting" lm-pretrain -b 4 --steps 6 -o e.safetensors train.bin --resume
fails "-b 0" lm-pretrain $MODEL -b 0 -o x.safetensors train.bin
fails "--batch-tokens not a multiple" lm-pretrain $MODEL -b 4 --batch-tokens 100 -o x.safetensors train.bin
stderr_has "explains" 'not a multiple of the 4 x 32 tokens'
fails "-o -" lm-pretrain $MODEL -o - train.bin
stderr_has "explains" '^lm-pretrain: -o: a checkpoint goes to a file'
fails "unknown --set key" lm-pretrain $MODEL --set nonsense=1 -o x.safetensors train.bin
fails "unusable config" lm-pretrain $MODEL --set n_heads=5 -o x.safetensors train.bin
lm-pretrain $MODEL train.bin >/dev/null 2>&1
is "no -o: usage, exit 2" "$?" 2
lm-pretrain --bogus >/dev/null 2>&1
is "unknown option: exit 2" "$?" 2
is "no partial output anywhere" "$(ls | grep -c -e '^x\.' -e '\.tmp\.')" 0
# quiet on success without a terminal; a progress line on one (tmux's pane)
lm-pretrain $MODEL -b 4 --steps 3 -o q.safetensors train.bin 2>quiet.err
is "nothing on stderr without a terminal" "$(wc -c <quiet.err | tr -d ' ')" 0
if command -v tmux >/dev/null; then
	sock=lmkit-pretrain-$$
	tmux -L $sock new-session -d -x 200 -y 10 \
		"lm-pretrain $MODEL -b 4 --steps 30 --warmup 5 -o tty.safetensors train.bin; echo EXIT=\$?; sleep 30"
	i=0; while ! tmux -L $sock capture-pane -p | grep -q EXIT= && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	tmux -L $sock capture-pane -p >pane.txt
	tmux -L $sock kill-server
	ok "progress line on a terminal" grep -Eq '^step 30/30  loss [0-9.]+  lr [0-9.e+-]+  [0-9]+ tok/s  [0-9.]+ GFLOP/s$' pane.txt
	ok "and exit 0" grep -q '^EXIT=0$' pane.txt
fi
# Validation is measured one way (pack.h): the last step's val_loss over all
# of val.bin is what lm-eval loss says of the checkpoint, same rows and length.
ok "validation over the whole shard" lm-pretrain $MODEL -b 4 --steps 3 --val val.bin --val-batches 1000 \
	--metrics vm.jsonl -o v.safetensors train.bin
ok "lm-eval loss of the same checkpoint" lm-eval loss -q -b 4 -t 32 -o vl.jsonl v.safetensors val.bin
is "lm-pretrain's val_loss equals lm-eval loss" "$(tail -1 vm.jsonl | sed 's/.*"val_loss":\([0-9.]*\).*/\1/')" \
	"$(sed 's/.*"loss": *\([0-9.]*\).*/\1/' vl.jsonl | awk '{ printf "%.6f", $1 }')"
ok "--help" lm-pretrain --help
ok "--version names the BLAS kernel" sh -c 'lm-pretrain --version | grep -q "BLAS: OpenBLAS"'
done_testing
