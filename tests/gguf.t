#!/bin/sh
# lm-convert -t gguf: the file read back by an independent reader
# (tests/gguf_read.pl, written from the GGUF spec): header, keys, vocabulary,
# tensor names, shapes, offsets and data; and bad input refused with no output.
# llama.cpp itself reads these files in tests/ref/gguf.sh (make ref).
. "$(dirname "$0")/lib.sh"
read_gguf() { perl "$ROOT/tests/gguf_read.pl" "$@"; }
none() { ! ls "$1"* >/dev/null 2>&1; }

corpus=$ROOT/samples/corpus-tiny.jsonl.gz
[ -r "$corpus" ] || skip_all "no $corpus"
lm-bpe -n 400 -o tok.model --vocab tok.vocab "$corpus" || skip_all "lm-bpe failed"
printf '{"dim":16,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":400,"hidden_dim":24,"max_seq_len":32,"tied":true}' >tied.json
printf '{"dim":16,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":400,"hidden_dim":24,"max_seq_len":32,"tied":false}' >untied.json
lm-convert --init tied.json --seed 3 t.st
lm-convert --init untied.json --seed 3 u.st

ok "writes GGUF from a checkpoint" lm-convert -t gguf --tokenizer tok.model t.st t.gguf
ok "the reader accepts it" read_gguf --data t.data t.gguf
read_gguf t.gguf >t.txt
ok "the same model gives the same bytes" lm-convert -t gguf --tokenizer tok.model t.st t2.gguf
ok "  (compare)" cmp t.gguf t2.gguf
is "version 3" "$(head -1 t.txt)" "version 3"
key() { awk -F'\t' -v k="$1" '$1 == k { print $2 " " $3 }' "$2"; }
is "architecture" "$(key general.architecture t.txt)" "str llama"
is "alignment" "$(key general.alignment t.txt)" "u32 32"
is "file type all F32" "$(key general.file_type t.txt)" "u32 0"
is "context length" "$(key llama.context_length t.txt)" "u32 32"
is "embedding length" "$(key llama.embedding_length t.txt)" "u32 16"
is "block count" "$(key llama.block_count t.txt)" "u32 2"
is "feed-forward length" "$(key llama.feed_forward_length t.txt)" "u32 24"
is "heads" "$(key llama.attention.head_count t.txt)" "u32 4"
is "kv heads" "$(key llama.attention.head_count_kv t.txt)" "u32 2"
is "rope dimensions: the head size" "$(key llama.rope.dimension_count t.txt)" "u32 4"
is "rope base" "$(key llama.rope.freq_base t.txt)" "f32 10000"
is "rms eps (1e-5 as f32)" "$(key llama.attention.layer_norm_rms_epsilon t.txt)" "f32 9.99999975e-06"
is "tokenizer model" "$(key tokenizer.ggml.model t.txt)" "str llama"
is "bos" "$(key tokenizer.ggml.bos_token_id t.txt)" "u32 1"
is "eos" "$(key tokenizer.ggml.eos_token_id t.txt)" "u32 2"
is "unk" "$(key tokenizer.ggml.unknown_token_id t.txt)" "u32 0"
is "BOS added" "$(key tokenizer.ggml.add_bos_token t.txt)" "bool 1"
is "400 tokens" "$(key tokenizer.ggml.tokens t.txt)" "str[] 400"
elems() { awk -F'\t' -v k="$1" 'index($1, k "[") == 1 { print $2 }' "$2"; }
elems tokenizer.ggml.tokens t.txt >tokens
cut -f1 tok.vocab >pieces
ok "tokens are the .model's pieces, in order" cmp tokens pieces
elems tokenizer.ggml.scores t.txt >scores
ok "scores are its scores" sh -c 'cut -f2 tok.vocab | paste - scores | awk "\$1 != \$2 { exit 1 }"'
elems tokenizer.ggml.token_type t.txt | sort -n | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ' >types
is "token types: 1 unknown, 2 control, 256 byte, the rest normal" "$(cat types)" "1:141 2:1 3:2 6:256 "
is "types of the first pieces" "$(elems tokenizer.ggml.token_type t.txt | head -4 | tr '\n' ' ')" "2 3 3 6 "

is "tensors: a tied model has no output.weight" "$(grep -c '^tensor ' t.txt)" 20
is "llama.cpp's names, dims innermost first" \
	"$(grep -E '^tensor (token_embd|blk\.1\.attn_k|blk\.0\.ffn_down|output_norm)\.' t.txt | cut -d' ' -f2-4 | tr '\n' ' ')" \
	"token_embd.weight F32 16,400 blk.1.attn_k.weight F32 16,8 blk.0.ffn_down.weight F32 24,16 output_norm.weight F32 16 "
is "every layer tensor" "$(grep -oE '^tensor blk\.0\.[a-z_]+' t.txt | cut -d. -f3 | tr '\n' ' ')" \
	"attn_norm attn_q attn_k attn_v attn_output ffn_norm ffn_gate ffn_down ffn_up "
is "data starts aligned" "$(awk '/^data_start/ { print $2 % 32 }' t.txt)" 0
# the weights as llama2.c's v0 file holds them (after its 28-byte header): in
# block order with wq/wk in Meta's RoPE layout, which is what llama.cpp wants
params=$(lm-info t.st | awk '/^params:/ { print $2 }')
lm-convert -t llama2c t.st t.bin
tail -c +29 t.bin | head -c $((4 * params)) >t.want
ok "every weight equal to the model's" cmp t.data t.want

ok "untied model" lm-convert -t gguf --tokenizer tok.model u.st u.gguf
ok "  read" read_gguf --data u.data u.gguf
read_gguf u.gguf >u.txt
is "  has output.weight (vocab, dim)" "$(grep '^tensor output\.' u.txt | cut -d' ' -f2-4)" "output.weight F32 16,400"
uparams=$(lm-info u.st | awk '/^params:/ { print $2 }')
lm-convert -t llama2c u.st u.bin
# v0 puts the head after freq_cis (max_seq_len x head_size/2, twice)
{ tail -c +29 u.bin | head -c $((4 * (uparams - 400 * 16))); tail -c $((4 * 400 * 16)) u.bin; } >u.want
ok "  every weight equal" cmp u.data u.want

ok "--dtype f16" lm-convert -t gguf --dtype f16 --tokenizer tok.model u.st h.gguf
ok "  read" read_gguf --data h.data h.gguf
read_gguf h.gguf >h.txt
is "  file type mostly F16" "$(key general.file_type h.txt)" "u32 1"
is "  matrices F16, norms F32" "$(awk '/^tensor/ { print $3 }' h.txt | sort | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ')" "F16:16 F32:5 "
is "  same tensors, same order" "$(awk '/^tensor/ { print $2, $4 }' h.txt)" "$(awk '/^tensor/ { print $2, $4 }' u.txt)"
# F16 rounding: relative error at most 2^-11 for normal halves, 2^-25 absolute below
ok "  values within F16 rounding" perl -e '
	open A, "<:raw", $ARGV[0]; open B, "<:raw", $ARGV[1]; local $/;
	my @a = unpack "f<*", <A>; my @b = unpack "f<*", <B>;
	die "lengths\n" unless @a == @b;
	for (0 .. $#a) { my $d = abs($a[$_] - $b[$_]); die "$_: $a[$_] vs $b[$_]\n" if $d > 2**-25 && $d > abs($a[$_]) * 2**-11 }' u.data h.data
ok "  and not all equal (they are F16)" sh -c '! cmp -s u.data h.data'

fails "missing --tokenizer" lm-convert -t gguf t.st out.gguf
stderr_has "  says so" '^lm-convert: -t gguf needs --tokenizer'
ok "  no output" none out.gguf
fails "--dtype f16 for safetensors" lm-convert --dtype f16 t.st out.st
ok "  no output" none out.st
fails "unknown --dtype" lm-convert -t gguf --dtype bf16 --tokenizer tok.model t.st out.gguf
stderr_has "  names it" "^lm-convert: --dtype: unknown type 'bf16'"

fails "tokenizer with another vocabulary size" lm-convert -t gguf --tokenizer "$ROOT/tests/data/tok_bpe_ud.model" t.st out.gguf
stderr_has "  names the tokenizer and both sizes" "tok_bpe_ud.model: 800 pieces, but the model's vocab_size is 400"
ok "  no output" none out.gguf

fails "a tokenizer that is not a SentencePiece model" lm-convert -t gguf --tokenizer t.st t.st out.gguf
stderr_has "  names it" '^lm-convert: t.st: .*GGUF needs a SentencePiece .model'
ok "  no output" none out.gguf
if [ -r "$ASSETS/tok512.bin" ]; then
	printf '{"dim":16,"n_layers":1,"n_heads":4,"vocab_size":512,"max_seq_len":32}' >t512.json
	lm-convert --init t512.json t512.st
	fails "a llama2.c tokenizer.bin" lm-convert -t gguf --tokenizer "$ASSETS/tok512.bin" t512.st out.gguf
	stderr_has "  says why" 'tok512.bin: .*a llama2.c tokenizer.bin has no piece types'
	ok "  no output" none out.gguf
fi

lm-rm init --seed 5 -o rm.st t.st
fails "a score model" lm-convert -t gguf --tokenizer tok.model rm.st out.gguf
stderr_has "  names the model and why" '^lm-convert: rm.st: a score \(reward\) model: .*no score head'
ok "  no output" none out.gguf

done_testing
