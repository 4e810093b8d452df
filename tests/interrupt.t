#!/bin/sh
# Interruptions: each trainer killed with SIGKILL at random moments (a
# checkpoint every step, so many kills land inside a save), resumed after each
# kill until it finishes, ends with the checkpoint and the step records of a
# run that was never interrupted, for several seeds of the kill times.
. "$(dirname "$0")/lib.sh"
need_assets tok512.model
TOK=$ASSETS/tok512.model
export OMP_NUM_THREADS=1

echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 64}' >cfg.json
lm-convert --init cfg.json lm.st
lm-rm init -o rm0.st lm.st
zcat "$ROOT/tests/data/tok_small.txt.gz" | head -c 40000 | perl -ne 'chomp; print "{\"text\": \"$_\"}\n" if /^[\w ,.;]+$/' >docs.jsonl
lm-tokenize --jsonl -m "$TOK" -o docs.bin docs.jsonl
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	printf '{"messages": [{"role": "user", "content": "Say %d"}, {"role": "assistant", "content": "It is %d."}]}\n' $i $i
done >chat.jsonl
lm-tokenize --chat -m "$TOK" -o chat.bin chat.jsonl
for w in apple river stone cloud bread lamp field horse; do
	printf '{"messages": [{"role": "user", "content": "Name a %s"}], "chosen": "A %s.", "rejected": "No.", "rating": "better"}\n' $w $w
done >pairs.jsonl

# steps FILE: the step records, without the times
steps() { grep -v '"start"' "$1" | sed 's/,"tokens_per_s".*//'; }

# straight CMD...: the uninterrupted run, timed: the kills land within half
# its time (at least 0.2 s), so a slow build (ASan) or a loaded machine still
# gets past a step between kills
straight() {
	t0=$(date +%s.%N)
	"$@"
	window=$(perl -e 'my $d = ($ARGV[1] - $ARGV[0]) / 2; printf "%.3f", $d > 0.2 ? $d : 0.2' "$t0" "$(date +%s.%N)")
}

# killed NAME SEED FRESH-ARGS -- RESUME-ARGS: kill and resume until done, then
# compare with straight.st and straight.jsonl
killed() {
	name=$1 seed=$2 fresh=$3 again=$4 cycle=0 kills=0
	rm -f k.st k.st.* k.jsonl k.jsonl.*
	while [ $cycle -lt 200 ]; do
		cycle=$((cycle + 1))
		if [ -e k.st ]; then args=$again; else args=$fresh; fi
		$args --checkpoint-every 1 --metrics k.jsonl -o k.st >/dev/null 2>k.err &
		pid=$!
		sleep "$(perl -e "srand($seed * 1000 + $cycle); printf '%.3f', 0.01 + rand($window)")"
		kill -9 $pid 2>/dev/null && kills=$((kills + 1))
		wait $pid 2>/dev/null && break
		grep -q 'already trained' k.err && break
	done
	ok "$name, seed $seed: $kills kills (within $window s), resumed to the end" cmp straight.st k.st
	is "  every step recorded once, as in the straight run" "$(steps k.jsonl | cksum)" "$(steps straight.jsonl | cksum)"
}

for seed in 1 2 3; do
	P="lm-pretrain -b 4 -t 32 --steps 30 --warmup 5 --lr 3e-3"
	[ $seed = 1 ] && straight $P --init lm.st --metrics straight.jsonl -o straight.st docs.bin
	killed lm-pretrain $seed "$P --init lm.st docs.bin" "$P --resume docs.bin"
done
for seed in 1 2 3; do
	S="lm-sft -b 2 -t 32 --epochs 3 --warmup 2 --lr 3e-3"
	[ $seed = 1 ] && straight $S --init lm.st --metrics straight.jsonl -o straight.st chat.bin
	killed lm-sft $seed "$S --init lm.st chat.bin" "$S --resume chat.bin"
done
for seed in 1 2 3; do
	R="lm-rm train --tokenizer $TOK -b 2 --epochs 4 --lr 3e-3"
	[ $seed = 1 ] && straight $R --init rm0.st --metrics straight.jsonl -o straight.st pairs.jsonl
	killed "lm-rm train" $seed "$R --init rm0.st pairs.jsonl" "$R --resume pairs.jsonl"
done

done_testing
