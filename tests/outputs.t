#!/bin/sh
# Outputs never replace inputs nor each other: every tool refuses an output that
# is one of its inputs (by name, symlink, hard link or standard input) and two
# outputs on one file, before writing anything; temporaries of killed runs are
# swept; training metrics follow the checkpoint through a SIGKILL.
. "$(dirname "$0")/lib.sh"
D=$ROOT/tests/data
export OMP_NUM_THREADS=1

cp "$D/clean_docs.jsonl" docs.jsonl
ln -s docs.jsonl sym.jsonl
ln docs.jsonl hard.jsonl
cp "$D/tok_bpe_lmbpe.model" tok.model
cp "$D/chat_dialogues.jsonl" dialogues.jsonl
printf '{"dim":16,"n_layers":1,"n_heads":2,"vocab_size":4000,"hidden_dim":32,"max_seq_len":256}' >cfg.json
ok "fixture: a random model" lm-convert --init cfg.json r.st
ok "fixture: a shard" lm-tokenize -m tok.model -o t.bin docs.jsonl
ok "fixture: a validation shard" lm-tokenize -m tok.model -o v.bin docs.jsonl
ok "fixture: a chat shard" lm-tokenize --chat --skip-bad -m tok.model -o c.bin dialogues.jsonl
ok "fixture: a chat validation shard" lm-tokenize --chat --skip-bad -m tok.model -o cv.bin dialogues.jsonl
ok "fixture: a sig file" lm-dedup sig -o dd.sig docs.jsonl
ok "fixture: a clusters file" lm-dedup clusters -o dd.clu dd.sig
printf '{"prompt": "Once"}\n' >prompts.jsonl
printf '{"messages": [{"role": "user", "content": "Hi"}]}\n' >chat.jsonl
printf '{"id": "u1", "kind": "unsafe", "prompt": "How?"}\n' >items.jsonl
printf '{"id": "u1", "messages": [{"role": "user", "content": "How?"}, {"role": "assistant", "content": "No."}]}\n' >replies.jsonl
MODEL="--set dim=16 --set n_layers=1 --set n_heads=2 --set hidden_dim=32 --set max_seq_len=32"

# refused OUT IN CMD...: CMD fails, says "OUT: is also an input (IN)", and
# leaves IN as it was
refused() {
	out=$1 in=$2
	shift 2
	cat "$in" >.before 2>/dev/null || cat <"$in" >.before
	fails "$* refused" "$@"
	cp "$T/.err" .why
	ok "  says $out: is also an input ($in)" grep -qxF "$1: $out: is also an input ($in)" .why
	ok "  $in untouched" cmp -s .before "$in"
}
# refused_in OUT CMD... < FILE: as refused, the input on standard input
refused_stdin() {
	out=$1 file=$2
	shift 2
	cp "$file" .before
	fails "$* <$file refused" sh -c '"$@" <"$0"' "$file" "$@"
	cp "$T/.err" .why
	ok "  says $out: is also an input (standard input)" \
		grep -qxF "$1: $out: is also an input (standard input)" .why
	ok "  $file untouched" cmp -s .before "$file"
}
# two_outputs OUT OTHER CMD...: CMD fails and says OUT names the same file as
# OTHER
two_outputs() {
	out=$1 other=$2
	shift 2
	fails "$* refused" "$@"
	cp "$T/.err" .why
	ok "  says $out names the same file as $other" \
		grep -qxF "$1: $out: names the same file as another output ($other)" .why
}

# --- an output that is an input
refused docs.jsonl docs.jsonl lm-clean -o docs.jsonl docs.jsonl
refused sym.jsonl docs.jsonl lm-clean -o sym.jsonl docs.jsonl
ok "  the symlink is still one" test -L sym.jsonl
refused hard.jsonl docs.jsonl lm-clean -o hard.jsonl docs.jsonl
refused docs.jsonl sym.jsonl lm-clean -o docs.jsonl sym.jsonl
refused docs.jsonl docs.jsonl lm-clean -r docs.jsonl -o out.jsonl docs.jsonl
refused_stdin docs.jsonl docs.jsonl lm-clean -o docs.jsonl
refused_stdin hard.jsonl docs.jsonl lm-clean -o hard.jsonl

refused docs.jsonl docs.jsonl lm-dedup -o docs.jsonl docs.jsonl
refused hard.jsonl docs.jsonl lm-dedup -o out.jsonl --removed hard.jsonl docs.jsonl
refused sym.jsonl docs.jsonl lm-dedup sig -o sym.jsonl docs.jsonl
refused dd.sig dd.sig lm-dedup clusters -o dd.sig dd.sig
refused dd.clu dd.clu lm-dedup filter -c dd.clu -s 0 -o dd.clu docs.jsonl
refused docs.jsonl docs.jsonl lm-dedup filter -c dd.clu -s 0 -o out.jsonl --removed docs.jsonl docs.jsonl

refused docs.jsonl docs.jsonl lm-tokenize -m tok.model -o docs.jsonl docs.jsonl
refused tok.model tok.model lm-tokenize -m tok.model -o tok.model docs.jsonl
refused t.bin t.bin lm-tokenize -d -m tok.model -o t.bin t.bin
refused dialogues.jsonl dialogues.jsonl lm-tokenize --chat -m tok.model -o dialogues.jsonl dialogues.jsonl

refused docs.jsonl docs.jsonl lm-bpe -n 300 -o docs.jsonl docs.jsonl
refused sym.jsonl docs.jsonl lm-bpe -n 300 -o b.model --vocab sym.jsonl docs.jsonl

refused t.bin t.bin lm-pretrain $MODEL --metrics t.bin -o x.st t.bin
refused t.bin t.bin lm-pretrain $MODEL -o t.bin t.bin
refused r.st r.st lm-pretrain --init r.st --metrics r.st -o x.st t.bin
refused r.st r.st lm-pretrain --init r.st -o r.st t.bin
refused v.bin v.bin lm-pretrain $MODEL --val v.bin --metrics v.bin -o x.st t.bin
ln t.bin t2.bin
refused t2.bin t.bin lm-pretrain $MODEL --metrics t2.bin -o x.st t.bin

refused c.bin c.bin lm-sft --init r.st --metrics c.bin -o x.st c.bin
refused r.st r.st lm-sft --init r.st -o r.st c.bin
refused cv.bin cv.bin lm-sft --init r.st --val cv.bin --metrics cv.bin -o x.st c.bin

refused r.st r.st lm-sample --ids -n 2 -o r.st r.st
refused tok.model tok.model lm-sample --tokenizer tok.model -n 2 -o tok.model r.st
refused prompts.jsonl prompts.jsonl lm-sample --tokenizer tok.model -n 2 -i prompts.jsonl -o prompts.jsonl r.st

refused chat.jsonl chat.jsonl lm-chat -m r.st -t tok.model --max-new 2 -i chat.jsonl -o chat.jsonl
refused r.st r.st lm-chat -m r.st -t tok.model --max-new 2 -i chat.jsonl -o r.st

refused items.jsonl items.jsonl lm-eval prompts -o items.jsonl items.jsonl
refused replies.jsonl replies.jsonl lm-eval score -o replies.jsonl items.jsonl replies.jsonl
refused items.jsonl items.jsonl lm-eval score -d items.jsonl items.jsonl replies.jsonl
refused t.bin t.bin lm-eval loss -o t.bin r.st t.bin
refused r.st r.st lm-eval loss -o r.st r.st t.bin

refused r.st r.st lm-convert r.st r.st
refused r.st r.st lm-convert -t llama2c r.st r.st
refused cfg.json cfg.json lm-convert --init cfg.json cfg.json
refused r.st r.st lm-convert --hf-config r.st r.st x.st
ok "  and wrote no checkpoint" test ! -e x.st

# --- two outputs on one file
two_outputs X X lm-clean -o X -r X docs.jsonl
touch Y
ln -s Y Ylink
two_outputs Ylink Y lm-clean -o Y -r Ylink docs.jsonl
ok "  Y as it was" test ! -s Y
rm Y Ylink
two_outputs X X lm-dedup -o X --removed X docs.jsonl
two_outputs X X lm-dedup filter -c dd.clu -s 0 -o X --removed X docs.jsonl
two_outputs X X lm-eval score -o X -d X items.jsonl replies.jsonl
two_outputs X X lm-bpe -n 300 -o X --vocab X docs.jsonl
two_outputs X X lm-convert --hf-config X r.st X
two_outputs X X lm-pretrain $MODEL --metrics X -o X t.bin
two_outputs X.state X.state lm-pretrain $MODEL --metrics X.state -o X t.bin
two_outputs X X lm-sft --init r.st --metrics X -o X c.bin
is "none written" "$(ls X* 2>/dev/null)" ""
ok "two outputs of a tool on two files still work" lm-clean -o X -r Z docs.jsonl
rm -f X Z

rm .why .before
is "no temporaries left behind" "$(ls | grep -c '\.tmp\.')" 0

# --- temporaries of killed runs
dead=$(sh -c 'echo $$')
for f in out.jsonl.tmp.$dead out.jsonl.tmp.$dead.3 out.jsonl.tmp.$$ out.jsonl.tmp.$dead.x \
	out.jsonl.tmp.$dead.3.4 xout.jsonl.tmp.$dead other.jsonl.tmp.$dead; do
	echo stale >$f
done
ln -s docs.jsonl out.jsonl.tmp.$dead.5
ok "an output beside temporaries" lm-clean -o out.jsonl docs.jsonl
is "those of dead processes, of this output, are swept" \
	"$(ls out.jsonl.tmp.$dead out.jsonl.tmp.$dead.3 2>/dev/null)" ""
is "the others stay" \
	"$(ls out.jsonl.tmp.$$ out.jsonl.tmp.$dead.x out.jsonl.tmp.$dead.3.4 xout.jsonl.tmp.$dead \
		other.jsonl.tmp.$dead out.jsonl.tmp.$dead.5 2>/dev/null | wc -l | tr -d ' ')" 6
rm -f ./*.tmp.*
ok "a checkpoint" lm-pretrain $MODEL -b 4 --steps 2 -o s.st t.bin
echo stale >s.st.state.new.tmp.$dead
ok "its next save" lm-pretrain $MODEL -b 4 --steps 2 -o s.st t.bin
is "sweeps the state's temporary a killed save left" "$(ls | grep -c '\.tmp\.')" 0

# --- the metrics on disk are those of the checkpoint on disk
state_step() { grep -ao '"step":[0-9]*' "$1" | cut -d: -f2; }
last_step() { grep -v '"start"' "$1" | tail -1 | sed 's/^{"step":\([0-9]*\).*/\1/'; }
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done; }
RUN="-b 4 --warmup 5 --lr 3e-3 --steps 400"
ok "a whole run" lm-pretrain $MODEL $RUN --metrics whole.jsonl -o whole.st t.bin
lm-pretrain $MODEL $RUN --checkpoint-every 7 --metrics k.jsonl -o k.st t.bin 2>/dev/null &
pid=$!
wait_for k.st.state
sleep 0.2
kill -9 $pid; wait $pid 2>/dev/null
s=$(state_step k.st.state) n=$(state_step k.st.state.new 2>/dev/null)
m=$(last_step k.jsonl)
ok "killed mid-run (checkpoint at step $s)" test "$s" -lt 400
ok "the metrics end at the checkpoint's step ($m)" test -n "$m" -a \( "$m" = "$s" -o "$m" = "$n" \)
echo stale >k.st.state.new.tmp.$dead
echo stale >k.jsonl.tmp.$dead.1
ok "resumed" lm-pretrain $RUN --resume --checkpoint-every 7 --metrics k.jsonl -o k.st t.bin
is "the killed save's temporaries are swept" "$(ls | grep -c '\.tmp\.')" 0
is "two start records" "$(grep -c '"start"' k.jsonl)" 2
steps() { grep -v '"start"' "$1" | sed 's/^{"step":\([0-9]*\),"loss":\([0-9.]*\).*/\1 \2/'; }
is "400 step records" "$(steps k.jsonl | wc -l | tr -d ' ')" 400
is "every step once, with the loss of the whole run" "$(steps k.jsonl | cksum)" "$(steps whole.jsonl | cksum)"
done_testing
