#!/bin/sh
# A rank killed with SIGKILL mid-run under mpirun: every rank ends promptly
# (no rank waits forever on the dead one), the last checkpoint is whole, and
# the run resumed on another number of ranks ends where an uninterrupted run
# ends, up to the order of floating-point summation.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ldd "$BIN/lm-pretrain" 2>/dev/null | grep -q libmpi || skip_all "built without MPI"
command -v mpirun >/dev/null || skip_all "no mpirun (apt-get install openmpi-bin)"
perl -e 'srand(7); my ($x, @t) = (1);
	for (1 .. 8000) { $x = ($x * 7 + 3 + int(rand(3))) % 64; push @t, $x }
	print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 64, 2, 0, 0, 8000, 1, ""), pack("v*", @t), pack("Q<", 0)' >train.bin
MODEL="--set dim=64 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32
	--set hidden_dim=128"
RUN="-b 4 -t 32 --batch-tokens 1536 --steps 60 --warmup 3 --lr 3e-3 --checkpoint-every 4"
ok "uninterrupted, alone" lm-pretrain $MODEL $RUN --metrics m1.jsonl -o full.st train.bin

mpirun -np 2 lm-pretrain $MODEL $RUN --metrics m.jsonl -o k.st train.bin 2>mpirun.err &
mp=$!
i=0
while [ ! -e k.st ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
ranks=$(ps -o pid= --ppid $mp)
r1=$(for p in $ranks; do tr '\0' '\n' <"/proc/$p/environ" | grep -qx OMPI_COMM_WORLD_RANK=1 && echo $p; done)
is "2 ranks running at the first checkpoint" "$(echo $ranks | wc -w | tr -d ' ') $(test -n "$r1" && echo rank1)" "2 rank1"
t0=$(date +%s)
kill -KILL $r1
wait $mp
rc=$?
t1=$(date +%s)
is "mpirun exits non-zero" "$(test $rc -ne 0 && echo yes)" yes
is "promptly" "$(test $((t1 - t0)) -le 20 && echo yes || echo "no: $((t1 - t0)) s")" yes
# an exited process may stay a zombie a while, reparented
live() { for p in $ranks; do ps -o stat= -p $p | grep -qv Z && echo $p; done; }
i=0
while [ -n "$(live)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "no rank left running" "$(live)" ""
# the training state's step (its JSON header)
state_step() { head -c 200 "$1" | tr -c '[:print:]' ' ' | sed -n 's/.*"step":\([0-9]*\).*/\1/p'; }
step=$(state_step k.st.state)
is "killed mid-run: the checkpoint is of a step before the last" "$(test "$step" -lt 60 && echo yes || echo "no: $step")" yes
ok "the checkpoint is whole" lm-info k.st
ok "resumed on 3 ranks" mpirun -np 3 lm-pretrain $RUN --resume --metrics m.jsonl -o k.st train.bin
is "resumed: to the last step" "$(state_step k.st.state)" 60
is "resumed: every step's loss within 1e-5 of the uninterrupted run's" \
	"$(grep '"loss"' m1.jsonl >l1; grep '"loss"' m.jsonl >l; paste -d' ' l1 l | sed -n 's/^.*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).* .*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).*/\1 \2 \3 \4/p' |
	awk 'BEGIN { n = 0 } { d = $2 - $4; if (d < 0) d = -d; if ($1 != $3 || d > 1e-5 * $2) n++ } END { print n " of " NR }')" "0 of 60"
is "resumed: parameters within 1e-5 of the uninterrupted run's" \
	"$(perl "$ROOT/tests/mpi_params.pl" full.st k.st | awk '{ print ($1 <= 1e-5) ? "yes" : "no " $1 }')" yes
done_testing
