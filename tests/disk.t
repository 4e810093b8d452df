#!/bin/sh
# Full disks: every tool that writes a file, given a tmpfs with no space left,
# exits non-zero with "lm-x: FILE: No space left on device", leaves nothing on
# the disk, and a trainer keeps the checkpoint it saved before. Needs root (to
# mount the tmpfs); skips otherwise.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1
TOK=$ROOT/tests/data/tok_bpe_lmbpe.model

[ "$(id -u)" = 0 ] || skip_all "not root: no tmpfs to fill"
mkdir disk
mount -t tmpfs -o size=4m lmkit-disk "$T/disk" 2>/dev/null || skip_all "mount -t tmpfs failed"
trap 'umount "$T/disk" 2>/dev/null; rm -rf "$T"' EXIT

# inputs, all off the small disk
# documents that lm-clean keeps, each twice (lm-dedup removes one of each)
cat "$ROOT/tests/data/clean_docs.expected.jsonl" "$ROOT/tests/data/clean_docs.expected.jsonl" >docs.jsonl
(cat docs.jsonl; echo '{"id": "short", "text": "Too short."}') >mixed.jsonl
echo '{"dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "vocab_size": 4000, "max_seq_len": 64}' >cfg.json
lm-convert --init cfg.json lm.st
lm-rm init -o rm0.st lm.st
lm-tokenize -m "$TOK" -o docs.bin docs.jsonl
printf '{"messages": [{"role": "user", "content": "Where is the town?"}, {"role": "assistant", "content": "By the river."}]}\n' >chat.jsonl
lm-tokenize --chat -m "$TOK" -o chat.bin chat.jsonl
printf '{"messages": [{"role": "user", "content": "Where is %s?"}], "chosen": "By the river.", "rejected": "I do not know.", "rating": "better"}\n' \
	town mill road bridge >pairs.jsonl
printf '{"id": "f1", "kind": "fact", "prompt": "Where is the town?", "answer": "river"}\n' >items.jsonl
printf '{"messages": [{"role": "user", "content": "Where is the town?"}]}\n' >prompts.jsonl
lm-dedup sig -o docs.sig docs.jsonl
lm-dedup clusters -o docs.clu docs.sig

# full NAME OUT CMD...: with the disk full, CMD (writing disk/OUT) fails with
# the system's reason and leaves the disk as it found it
full() {
	d=$1 out=$2; shift 2
	dd if=/dev/zero of=disk/fill bs=4k 2>/dev/null
	before=$(ls -A disk | tr '\n' ' ')
	fails_cleanly "$@"
	grep -qxE "lm-[a-z]*: disk/$out(\.state(\.new)?)?: No space left on device" "$T/.err" ||
		why="$why; stderr is not 'lm-x: disk/$out: No space left on device'"
	after=$(ls -A disk | tr '\n' ' ')
	[ "$after" = "$before" ] || why="$why; left $after"
	rm -f disk/fill
	verdict "$d"
	for f in disk/*; do case " $before " in *" ${f#disk/} "*) ;; *) rm -f "$f" ;; esac; done
}

full "lm-clean" out.jsonl lm-clean -o disk/out.jsonl docs.jsonl
full "lm-clean -r" rej.jsonl lm-clean -o out.jsonl -r disk/rej.jsonl mixed.jsonl
full "lm-clean -z" out.jsonl.gz lm-clean -z -o disk/out.jsonl.gz docs.jsonl
full "lm-dedup" out.jsonl lm-dedup -o disk/out.jsonl docs.jsonl
full "lm-dedup --removed" rm.jsonl lm-dedup -o out.jsonl --removed disk/rm.jsonl docs.jsonl
full "lm-dedup sig" x.sig lm-dedup sig -o disk/x.sig docs.jsonl
full "lm-dedup clusters" x.clu lm-dedup clusters -o disk/x.clu docs.sig
full "lm-dedup clusters --tmpdir" x.clu lm-dedup clusters --tmpdir disk -o disk/x.clu docs.sig
full "lm-dedup filter" out.jsonl lm-dedup filter -c docs.clu -s 0 -o disk/out.jsonl docs.jsonl
full "lm-bpe" tok.model lm-bpe -n 300 -o disk/tok.model docs.jsonl
full "lm-bpe --vocab" tok.vocab lm-bpe -n 300 -o tok.model --vocab disk/tok.vocab docs.jsonl
full "lm-tokenize" x.bin lm-tokenize -m "$TOK" -o disk/x.bin docs.jsonl
full "lm-tokenize -d" x.txt lm-tokenize -d -m "$TOK" -o disk/x.txt docs.bin
full "lm-tokenize --chat" x.bin lm-tokenize --chat -m "$TOK" -o disk/x.bin chat.jsonl
full "lm-convert" x.st lm-convert lm.st disk/x.st
full "lm-convert --init" x.st lm-convert --init cfg.json disk/x.st
full "lm-convert -t llama2c" x.bin lm-convert -t llama2c lm.st disk/x.bin
full "lm-convert -t gguf" x.gguf lm-convert -t gguf --tokenizer "$TOK" lm.st disk/x.gguf
full "lm-convert --hf-config" config.json lm-convert --hf-config disk/config.json lm.st x.st
full "lm-sample" x.txt lm-sample -n 8 -p "The" --tokenizer "$TOK" -o disk/x.txt lm.st
full "lm-chat" x.jsonl lm-chat -m lm.st -t "$TOK" --max-new 4 -i prompts.jsonl -o disk/x.jsonl
full "lm-eval prompts" p.jsonl lm-eval prompts -o disk/p.jsonl items.jsonl
full "lm-eval score" s.jsonl lm-eval score -q -o disk/s.jsonl items.jsonl chat.jsonl
full "lm-eval score -d" d.jsonl lm-eval score -q -d disk/d.jsonl -o s.jsonl items.jsonl chat.jsonl
full "lm-eval loss" l.jsonl lm-eval loss -q -t 32 -o disk/l.jsonl lm.st docs.bin
full "lm-rm init" x.st lm-rm init -o disk/x.st lm.st
full "lm-rm score" x.jsonl lm-rm score -t "$TOK" -o disk/x.jsonl rm0.st chat.jsonl
full "lm-rm eval" x.jsonl lm-rm eval -t "$TOK" -o disk/x.jsonl rm0.st pairs.jsonl
full "lm-rm train" x.st lm-rm train --init rm0.st --tokenizer "$TOK" -b 2 -o disk/x.st pairs.jsonl
full "lm-rm train --metrics" m.jsonl lm-rm train --init rm0.st --tokenizer "$TOK" -b 2 --metrics disk/m.jsonl -o x.st pairs.jsonl
full "lm-pretrain" x.st lm-pretrain --init lm.st -b 2 -t 16 --steps 2 -o disk/x.st docs.bin
full "lm-pretrain --metrics" m.jsonl lm-pretrain --init lm.st -b 2 -t 16 --steps 2 --metrics disk/m.jsonl -o x.st docs.bin
full "lm-sft" x.st lm-sft --init lm.st -b 1 -t 32 -o disk/x.st chat.bin

# a checkpoint saved before the disk filled stays as it was
ok "a checkpoint on the disk" lm-pretrain --init lm.st -b 2 -t 16 --steps 2 --checkpoint-every 1 \
	--metrics disk/m.jsonl -o disk/ck.st docs.bin
sums=$(cd disk && md5sum ck.st ck.st.state m.jsonl)
full "lm-pretrain --resume" ck.st lm-pretrain --resume -b 2 -t 16 --steps 4 --checkpoint-every 1 \
	--metrics disk/m.jsonl -o disk/ck.st docs.bin
is "  the earlier checkpoint, its state and metrics intact" "$(cd disk && md5sum ck.st ck.st.state m.jsonl)" "$sums"
ok "  and it resumes once there is room" lm-pretrain --resume -b 2 -t 16 --steps 4 --checkpoint-every 1 \
	--metrics disk/m.jsonl -o disk/ck.st docs.bin
ok "a score model's checkpoint on the disk" lm-rm train --init rm0.st --tokenizer "$TOK" -b 2 --checkpoint-every 1 \
	-o disk/rk.st pairs.jsonl
sums=$(cd disk && md5sum rk.st rk.st.state)
full "lm-rm train --resume" rk.st lm-rm train --resume --tokenizer "$TOK" -b 2 --epochs 2 --checkpoint-every 1 \
	-o disk/rk.st pairs.jsonl
is "  the earlier checkpoint intact" "$(cd disk && md5sum rk.st rk.st.state)" "$sums"

done_testing
