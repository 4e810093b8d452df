#!/bin/sh
# pipelines/: the whole recipe at the tiny preset under make -j2, its report,
# incremental rebuilds, a swapped step, and a failed step leaving no output.
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || skip_all "no make"
perl -MJSON::PP -e 1 2>/dev/null || skip_all "no perl JSON::PP"
recipe() { make --no-print-directory -C "$ROOT" -f pipelines/recipe.mk PRESET=tiny BIN="$BIN" "$@"; }
W=$T/w

ok "the tiny recipe runs end to end (-j2)" recipe -j2 WORK="$W" report
cp "$T/.out" report.out
for f in mix.bin val.bin tok.model pretrain.safetensors sft.safetensors chat.jsonl sft-score.jsonl \
	rm-helpful.safetensors rm-safety.safetensors rm-helpful-eval.jsonl rm-safety-eval.jsonl bow-eval.json \
	pretrain-score.jsonl pretrain-loss.jsonl sft-loss.jsonl report.txt; do
	ok "made $f" test -s "$W/$f"
done
if command -v gnuplot >/dev/null; then ok "loss curves plotted" test -s "$W/loss.png"; fi
is "the report is printed" "$(grep -c '^== ' report.out)" 7
r=$W/report.txt
is "every stage reported" "$(sed -n 's/^== \([a-z]*\):.*/\1/p' "$r" | tr '\n' ' ')" "data tokenizer pretrain sft eval rm chat "
is "the reward-model table: five models" "$(sed -n '/^== rm:/,/^== chat:/p' "$r" | grep -c '^   [a-z -]* ([a-z]*) *[0-9]')" 5
is "the reward models were trained on the train split only" "$(grep -c '"split": *"eval"' "$W/prefs-helpful.jsonl" "$W/prefs-safety.jsonl" | cut -d: -f2 | tr '\n' ' ')" "0 0 "
n=$(sed -n 's/.*exact copies found \([0-9]*\)\/20$/\1/p' "$r")
ok "dedup finds the planted exact copies (${n:-none}/20)" test "${n:-0}" -ge 18
ok "nothing removed outside planted clusters" grep -q 'removed outside planted clusters 0$' "$r"
is "tokenizer size" "$(sed -n 's/^   \([0-9]*\) pieces;.*/\1/p' "$r")" 512
ok "bytes per token above 1" perl -ne 'exit !($1 > 1) if /pieces; ([0-9.]+) bytes/' "$r"

num() { sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }
m=$W/pretrain.metrics.jsonl
first=$(sed -n '2s/.*"loss":\([0-9.]*\).*/\1/p' "$m")
last=$(tail -1 "$m" | sed 's/.*"loss":\([0-9.]*\).*/\1/')
ok "pretraining loss falls ($first -> $last)" perl -e "exit !($last < $first - 1)"
vl=$(num "$W/pretrain-loss.jsonl" loss) ue=$(num "$W/pretrain-loss.jsonl" unigram_entropy)
ok "val loss $vl below the unigram entropy $ue" perl -e "exit !($vl > 0 && $vl < $ue)"
before=$(num "$W/pretrain-sft-loss.jsonl" loss) after=$(num "$W/sft-loss.jsonl" loss)
ok "SFT lowers the held-out answers' loss ($before -> $after)" perl -e "exit !($after > 0 && $after < $before)"
kinds() { awk '(NR - 1) % 6 == 0' "$ROOT/samples/eval.jsonl" | grep -c "\"kind\": \"$1\""; }
is "eval scored every 6th item: facts" "$(num "$W/sft-score.jsonl" facts)" "$(kinds fact)"
is "  unsafe" "$(num "$W/sft-score.jsonl" unsafe)" "$(kinds unsafe)"
is "  benign" "$(num "$W/sft-score.jsonl" benign)" "$(kinds benign)"
is "the sample chat has six replies" "$(grep -c '"role": "assistant"' "$W/chat.jsonl")" 6

ok "up to date afterwards" recipe -q WORK="$W" "$W/report.txt"
touch "$W/eval.jsonl"
recipe -n WORK="$W" "$W/report.txt" >rerun.txt
ok "touched evaluation items: the replies are redone" grep -q '/lm-chat .*-i .*/eval-prompts.jsonl' rerun.txt
ok "  and scored" grep -q '/lm-eval score ' rerun.txt
ok "  but nothing is trained" sh -c '! grep -q -e /lm-pretrain -e /lm-sft -e /lm-bpe rerun.txt'
ok "a changed step command reruns its stage" sh -c "make -n -C '$ROOT' -f pipelines/recipe.mk PRESET=tiny BIN='$BIN' \
	WORK='$W' DEDUP=cat '$W/mix.jsonl' | grep -q '^cat <'"

# the deduplication swapped for cat: every cleaned document goes on
ok "DEDUP=cat runs up to the tokens" recipe -j2 WORK="$T/cat" DEDUP=cat tokens
ok "  and keeps every cleaned document" cmp "$T/cat/clean.jsonl" "$T/cat/dedup.jsonl"
ok "  into the shards" test -s "$T/cat/mix.bin"

# Ctrl-C during training: make deletes no checkpoint the trainer saved, and
# the next make resumes it. A terminal's Ctrl-C goes to the whole process
# group; a background job of this shell ignores SIGINT, so the group is made
# with the default action restored.
if command -v setsid >/dev/null; then
	args='-b 8 -t 128 --steps 400 --warmup 10 --lr 3e-3 --checkpoint-every 5'
	setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die' make --no-print-directory -C "$ROOT" -f pipelines/recipe.mk PRESET=tiny BIN="$BIN" WORK="$W" \
		PRETRAIN_ARGS="$args" pretrain >int.out 2>&1 &
	pid=$!
	i=0
	while [ ! -f "$W/pretrain.part.state" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	kill -INT -$pid
	wait $pid
	ok "Ctrl-C: make fails" test $? -ne 0
	ok "  the trainer's checkpoint is kept" test -s "$W/pretrain.part" -a -s "$W/pretrain.part.state"
	ok "  make deleted nothing" sh -c "! grep -q Deleting int.out"
	ok "the next make resumes it" recipe WORK="$W" PRETRAIN_ARGS="$args" pretrain
	cp "$T/.out" resume.out
	ok "  with --resume" grep -q '/lm-pretrain --resume ' resume.out
	ok "  to the end" test -s "$W/pretrain.safetensors" -a ! -e "$W/pretrain.part"
	is "  every step in the metrics once" "$(sed -n 's/.*"step":\([0-9]*\),"loss".*/\1/p' "$W/pretrain.metrics.jsonl" | sort -un | wc -l | tr -d ' ')" 400
else
	skip=7; while [ $skip -gt 0 ]; do _n=$((_n + 1)); echo "ok $_n # skip no setsid"; skip=$((skip - 1)); done
fi

fails "a failing step fails the recipe" recipe WORK="$T/bad" DEDUP=false data
ok "  and leaves no output behind" test ! -e "$T/bad/dedup.jsonl"
fails "an unknown preset" make -C "$ROOT" -f pipelines/recipe.mk PRESET=huge WORK="$T/huge" data
stderr_has "  is named" 'PRESET=huge: no such preset'

done_testing
