#!/bin/sh
# The AdamW state sharded over the ranks (ZeRO-1): under a per-process
# address-space limit below the model's weights + gradients + AdamW state
# (16 bytes a parameter), 3 ranks train it, each holding a third of the
# state; one process alone under the same limit fails with "out of memory".
. "$(dirname "$0")/lib.sh"
# Open MPI's progress threads would each reserve a 64 MiB malloc arena
export OMP_NUM_THREADS=1 MALLOC_ARENA_MAX=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ldd "$BIN/lm-pretrain" 2>/dev/null | grep -q libmpi || skip_all "built without MPI"
command -v mpirun >/dev/null || skip_all "no mpirun (apt-get install openmpi-bin)"
ldd "$BIN/lm-pretrain" | grep -q libasan && skip_all "AddressSanitizer's shadow memory takes more address space than the limit"
[ "$(free -m | awk '/^Mem:/ { print $7 }')" -gt 4000 ] 2>/dev/null || skip_all "less than 4 GB of memory available"
perl -e 'srand(7); my ($x, @t) = (1);
	for (1 .. 8000) { $x = ($x * 7 + 3 + int(rand(3))) % 64; push @t, $x }
	print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 64, 2, 0, 0, 8000, 1, ""), pack("v*", @t), pack("Q<", 0)' >train.bin
# 81,269,536 parameters (most in the embedding and output matrices, cheap to
# train on a few tokens): 1,300,312,576 bytes of weights, gradients and
# moments; each of 3 ranks holds the weights, the gradients and a third of
# the moments, 867 MB, and the rest (OpenBLAS's 128 MiB buffer, the
# libraries, MPI's buffers) fits the 32 MiB short of 16 bytes a parameter.
MODEL="--set dim=608 --set n_layers=1 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=65536 --set hidden_dim=256"
RUN="$MODEL --set max_seq_len=16 -b 1 -t 2 --batch-tokens 6 --steps 1 --warmup 1 --metrics m.jsonl"
limit=$((1300312576 / 1024 - 32768))
ok "3 ranks train it under a limit of $limit KiB" mpirun -np 3 sh -c "ulimit -v $limit && exec lm-pretrain $RUN -o p3.st train.bin"
is "of the parameters counted" "$(grep -o '"n_params":[0-9]*' m.jsonl)" '"n_params":81269536'
is "a step trained" "$(grep -c '"loss"' m.jsonl)" 1
is "the training state holds every rank's moments" "$(wc -c <p3.st.state | tr -d ' ')" \
	"$(($(head -c 16 p3.st.state | od -An -tu4 -j12 | tr -d ' ') + 16 + 8 * 81269536 + 8))"
fails "one process alone under the same limit" sh -c "ulimit -v $limit && exec lm-pretrain $RUN -o p1.st train.bin"
stderr_has "says out of memory" "^lm-pretrain: out of memory"
is "and writes nothing" "$(ls p1.st* 2>/dev/null)" ""
done_testing
