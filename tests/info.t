# lm-info: each kind of file recognised by content and described; others refused.
. "$(dirname "$0")/lib.sh"

printf '{"dim":16,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":37,"hidden_dim":24,"max_seq_len":32}' >cfg.json
lm-convert --init cfg.json m.st
lm-convert -t llama2c m.st m.bin

ok "checkpoint" sh -c 'lm-info m.st >st.txt'
ok "  type" grep -qx 'type: checkpoint (safetensors)' st.txt
ok "  config" grep -qx 'n_kv_heads: 2' st.txt
ok "  param count" grep -qx 'params: 5104' st.txt
is "  one line a tensor" "$(grep -c '^tensor: ' st.txt)" 21
ok "  tensor shapes" grep -qx 'tensor: model.layers.1.self_attn.k_proj.weight F32 \[8, 16\]' st.txt
ok "  untied: lm_head" grep -qx 'tensor: lm_head.weight F32 \[37, 16\]' st.txt

ok "llama2.c model.bin" sh -c 'lm-info m.bin >bin.txt'
ok "  type" grep -qx 'type: llama2.c model.bin (version 0)' bin.txt
is "  same description otherwise" "$(sed 1,2d bin.txt)" "$(sed 1,2d st.txt)"

ok "several files" sh -c 'lm-info m.st m.bin >two.txt'
is "  separated by a blank line" "$(grep -c '^$' two.txt)" 1

# a token shard, written by hand: 3 tokens of width 2, one document
{ printf 'LMKSHARD\001\0\0\0\100\0\0\0\045\0\0\0\002\0\0\0\0\0\0\0\0\0\0\0'
  printf '\003\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0'
  printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
  printf '\001\0\005\0\007\0'
  printf '\0\0\0\0\0\0\0\0'; } >s.bin
ok "token shard" sh -c 'lm-info s.bin >s.txt'
ok "  type" grep -qx 'type: token shard' s.txt
ok "  tokens" grep -qx 'tokens: 3' s.txt
ok "  docs" grep -qx 'docs: 1' s.txt
ok "  mask" grep -qx 'mask: no' s.txt

fails "missing file" lm-info nosuch
stderr_has "  names it" '^lm-info: nosuch: No such file'
printf 'hello world, not a model\n' >text.txt
fails "a text file" lm-info text.txt
stderr_has "  unrecognized" '^lm-info: text.txt: unrecognized file'
head -c 100 m.st >cut.st
fails "truncated checkpoint" lm-info cut.st
stderr_has "  says truncated" '^lm-info: cut.st: truncated'
ok "  nothing on stdout" test ! -s .out
lm-info >/dev/null 2>&1
is "no operand is a usage error (exit 2)" $? 2

if [ -r "$ASSETS/tok512.bin" ] && [ -r "$ASSETS/tokenizer.model" ] && [ -r "$ASSETS/stories260K_v1.bin" ]; then
	ok "tokenizer.bin" sh -c "lm-info $ASSETS/tok512.bin >t.txt"
	ok "  type" grep -qx 'type: tokenizer (llama2.c tokenizer.bin)' t.txt
	ok "  vocab" grep -qx 'vocab_size: 512' t.txt
	ok "SentencePiece model" sh -c "lm-info $ASSETS/tokenizer.model >m.txt"
	ok "  type" grep -qx 'type: tokenizer (SentencePiece model)' m.txt
	ok "  vocab and specials" sh -c 'grep -qx "vocab_size: 32000" m.txt && grep -qx "bos: 1" m.txt && grep -qx "eos: 2" m.txt'
	ok "llama2.c v1" sh -c "lm-info $ASSETS/stories260K_v1.bin >v1.txt"
	ok "  type" grep -qx 'type: llama2.c model.bin (version 1)' v1.txt
	ok "  260K params" grep -qx 'params: 260032' v1.txt
	ok "  hidden_dim from the header" grep -qx 'hidden_dim: 172' v1.txt
else
	echo "# no tokenizer or stories260K assets: skipped"
fi

done_testing
