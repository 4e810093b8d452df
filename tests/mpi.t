#!/bin/sh
# Data-parallel training under mpirun: 20 steps of lm-pretrain on 2 and on 3
# ranks match 1 process with the same global batch (losses within 1e-5
# relative at every step, final parameters within 1e-5 by tensor norm), and
# so do lm-sft and lm-rm train on 2 ranks; a build without MPI refuses
# mpirun with a clear message.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
perl -e 'srand(7); my ($x, @t) = (1);
	for (1 .. 8000) { $x = ($x * 7 + 3 + int(rand(3))) % 64; push @t, $x }
	print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 64, 2, 0, 0, 8000, 1, ""), pack("v*", @t), pack("Q<", 0)' >train.bin
MODEL="--set dim=32 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32 --set hidden_dim=64"
if ! ldd "$BIN/lm-pretrain" 2>/dev/null | grep -q libmpi; then
	# what mpirun sets in each process it starts
	OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 fails "a build without MPI refuses mpirun" \
		lm-pretrain $MODEL --steps 1 -o x.st train.bin
	stderr_has "and says why" "built without MPI"
	is "and writes nothing" "$(ls x.st* 2>/dev/null)" ""
	echo "# built without MPI: the rest skipped"
	done_testing
	exit
fi
command -v mpirun >/dev/null || skip_all "no mpirun (apt-get install openmpi-bin)"

# the step's losses (and validation losses) of metrics A and B, one "loss_a loss_b" a line
losses() { paste -d' ' "$1" "$2" | sed -n 's/^.*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).* .*"step":\([0-9]*\).*"loss":\([-0-9.e]*\).*/\1 \2 \3 \4/p'; }
# how many steps' losses of A and B differ by more than 1e-5 relative (or are of other steps)
far() { losses "$1" "$2" | awk 'BEGIN { n = 0 } { d = $2 - $4; if (d < 0) d = -d; if ($1 != $3 || d > 1e-5 * ($2 < 0 ? -$2 : $2)) n++ } END { print n }'; }
vfar() { grep val_loss "$1" | sed 's/"loss"/"x"/; s/"val_loss"/"loss"/' >va; grep val_loss "$2" | sed 's/"loss"/"x"/; s/"val_loss"/"loss"/' >vb; far va vb; }
# the largest relative difference of their tensors, at most 1e-5
close() { perl "$ROOT/tests/mpi_params.pl" "$1" "$2" | awk '{ print ($1 <= 1e-5) ? "yes" : "no " $1 }'; }

# -b 2 -t 32 with 384 tokens a step: 6 micro-batches, shared by 1, 2 or 3 ranks
PRE="$MODEL -b 2 -t 32 --batch-tokens 384 --steps 20 --warmup 3 --lr 3e-3 --val train.bin --val-every 5"
ok "lm-pretrain alone" lm-pretrain $PRE --metrics m1.jsonl -o p1.st train.bin
ok "lm-pretrain on 2 ranks" mpirun -np 2 lm-pretrain $PRE --metrics m2.jsonl -o p2.st train.bin
ok "lm-pretrain on 3 ranks" mpirun -np 3 lm-pretrain $PRE --metrics m3.jsonl -o p3.st train.bin
is "metrics: rank 0 writes a record per step" "$(grep -c '"loss"' m2.jsonl) $(grep -c '"ranks":2' m2.jsonl)" "20 1"
for n in 2 3; do
	is "$n ranks: every step's loss within 1e-5" "$(far m1.jsonl m$n.jsonl)" 0
	is "$n ranks: every validation loss within 1e-5" "$(vfar m1.jsonl m$n.jsonl)" 0
	is "$n ranks: parameters within 1e-5" "$(close p1.st p$n.st)" yes
	# rank 0 wrote every rank's shard of the AdamW state, for the parameters it wrote
	ok "$n ranks: the training state resumes alone" lm-pretrain --resume --steps 21 -b 2 -t 32 \
		--batch-tokens 384 --warmup 3 --lr 3e-3 -o p$n.st train.bin
done

if [ -r "$ASSETS/tok512.model" ]; then
	awk -v mode=train -f "$ROOT/tests/data/chat_say.awk" | head -64 >chat.jsonl
	lm-tokenize --chat -m "$ASSETS/tok512.model" -o chat.bin chat.jsonl
	echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 64}' >cfg.json
	lm-convert --init cfg.json init.st
	SFT="--init init.st -b 12 --micro-batch 4 --epochs 2 --warmup 2 --lr 3e-3 --val chat.bin --val-every 4"
	ok "lm-sft alone" lm-sft $SFT --metrics s1.jsonl -o s1.st chat.bin
	ok "lm-sft on 2 ranks" mpirun -np 2 lm-sft $SFT --metrics s2.jsonl -o s2.st chat.bin
	is "lm-sft: every step's loss within 1e-5" "$(far s1.jsonl s2.jsonl)" 0
	is "lm-sft: every validation loss within 1e-5" "$(vfar s1.jsonl s2.jsonl)" 0
	is "lm-sft: parameters within 1e-5" "$(close s1.st s2.st)" yes

	awk 'BEGIN { split("apple river stone cloud bread lamp field horse music tower", w, " ");
		for (i = 0; i < 48; i++) { a = w[i % 5 + 1]; b = w[(i * 3) % 5 + 6];
			printf "{\"messages\": [{\"role\": \"user\", \"content\": \"Say %s\"}], \"chosen\": \"%s\", \"rejected\": \"%s\", \"rating\": \"better\"}\n", a, a, b } }' >pairs.jsonl
	lm-rm init --seed 3 -o rm0.st init.st
	# lr 1e-3: at 3e-3 the loss falls from 1.07 to 0.001 in 6 steps, and that fall turns rounding
	# into 1e-5 of step 5's loss (one process alone moves that much between OpenBLAS's kernels)
	RM="--init rm0.st --tokenizer $ASSETS/tok512.model -b 16 --micro-batch 2 -t 64 --epochs 2 --lr 1e-3 --val pairs.jsonl --val-every 3"
	ok "lm-rm train alone" lm-rm train $RM --metrics r1.jsonl -o r1.st pairs.jsonl
	ok "lm-rm train on 2 ranks" mpirun -np 2 lm-rm train $RM --metrics r2.jsonl -o r2.st pairs.jsonl
	is "lm-rm: every step's loss within 1e-5" "$(far r1.jsonl r2.jsonl)" 0
	is "lm-rm: parameters within 1e-5" "$(close r1.st r2.st)" yes
	acc() { grep -o '"[a-z_]*accuracy":[0-9.]*' "$1" | tr '\n' ' '; }
	is "lm-rm: the accuracies count every rank's pairs" "$(acc r2.jsonl)" "$(acc r1.jsonl)"
fi
done_testing
