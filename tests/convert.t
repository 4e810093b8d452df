# lm-convert: llama2.c model.bin <-> safetensors, exact round trips, and bad
# input refused with a clear message and no output file.
. "$(dirname "$0")/lib.sh"

printf '{"dim":16,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":37,"hidden_dim":24,"max_seq_len":32,"tied":true}' >tied.json
printf '{"dim":16,"n_layers":2,"n_heads":4,"vocab_size":37,"max_seq_len":32,"tied":false}' >untied.json

ok "--init writes a random checkpoint" lm-convert --init tied.json --seed 3 a.st
ok "the same seed gives the same bytes" lm-convert --init tied.json --seed 3 b.st
ok "  (compare)" cmp a.st b.st
lm-convert --init tied.json --seed 4 c.st
fails "another seed, other weights" cmp a.st c.st

ok "safetensors -> llama2.c v0" lm-convert -t llama2c a.st a.bin
ok "llama2.c v0 -> safetensors" lm-convert a.bin a2.st
ok "round trip is byte-identical" cmp a.st a2.st
is "v0 file size: header + weights + freq_cis" "$(wc -c <a.bin | tr -d ' ')" $((28 + 4 * (4512 + 32 * 4)))

ok "untied model (Meta's hidden_dim rule)" lm-convert --init untied.json u.st
ok "untied -> v0" lm-convert -t llama2c u.st u.bin
is "untied v0 header has a negative vocab_size" "$(od -An -td4 -j20 -N4 u.bin | tr -d ' ')" -37
ok "untied v0 -> safetensors" lm-convert u.bin u2.st
ok "untied round trip is byte-identical" cmp u.st u2.st
ok "hidden_dim from the rule is kept" sh -c 'lm-info u2.st | grep -qx "hidden_dim: 256"'

ok "--hf-config writes config.json" lm-convert --hf-config config.json a.st h.st
ok "  with the model's sizes" grep -q '"intermediate_size": 24' config.json
ok "  and tied embeddings" grep -q '"tie_word_embeddings": true' config.json

# no output: neither the file nor its temporary
none() { ! ls "$1"* >/dev/null 2>&1; }

fails "missing input" lm-convert nosuch.bin out.st
stderr_has "  names the file" '^lm-convert: nosuch.bin: No such file'
ok "  no output" none out.st

head -c 3000 a.st >trunc.st
fails "truncated checkpoint" lm-convert trunc.st out.st
stderr_has "  says truncated" '^lm-convert: trunc.st: .*(truncated|holds)'
ok "  no output" none out.st

head -c 1000 a.st >trunc2.st
fails "checkpoint cut inside its header" lm-convert trunc2.st out.st
stderr_has "  says truncated" '^lm-convert: trunc2.st: truncated'

perl -0777 -pe 's/"data_offsets":\[0,2368\]/"data_offsets":[0,2372]/' a.st >lie1.st
fails "header that lies about offsets" lm-convert lie1.st out.st
stderr_has "  names the tensor" 'lie1.st: tensor model.embed_tokens.weight: data_offsets'
ok "  no output" none out.st

perl -0777 -pe 's/"data_offsets":\[2368,2432\]/"data_offsets":[2364,2428]/' a.st >lie2.st
fails "overlapping tensors" lm-convert lie2.st out.st
stderr_has "  says overlap" 'lie2.st: tensor .*overlaps'

perl -0777 -pe 's/"shape":\[37,16\]/"shape":[16,37]/' a.st >lie3.st
fails "header that lies about a shape" lm-convert lie3.st out.st
stderr_has "  names shape" 'lie3.st: tensor model.embed_tokens.weight: shape is not \[37, 16\]'

perl -0777 -pe 's/"dtype":"F32"/"dtype":"F16"/' a.st >lie4.st
fails "wrong dtype" lm-convert lie4.st out.st
stderr_has "  names dtype" 'lie4.st: tensor .*: dtype F16'

perl -0777 -pe 's/model.norm.weight/model.xorm.weight/' a.st >lie5.st
fails "missing tensor" lm-convert lie5.st out.st
stderr_has "  names it" 'lie5.st: tensor model.norm.weight missing'

perl -0777 -pe 's/\\"dim\\":16/\\"dim\\":17/' a.st >lie6.st
fails "config that does not fit the weights" lm-convert lie6.st out.st
stderr_has "  says why" 'lie6.st: lmkit_config: n_heads must divide dim'

perl -0777 -pe 's/^(.{8})\{/$1\[/s' a.st >notjson.st
fails "header that is not a JSON object" lm-convert notjson.st out.st
stderr_has "  says so" 'notjson.st: not a model'

perl -0777 -pe 's/"__metadata__"/"__metadata_x"/' a.st >nometa.st
fails "no lmkit_config" lm-convert nometa.st out.st
stderr_has "  says so" 'nometa.st: no lmkit_config'

cp a.st extra.st && printf 'xxxx' >>extra.st
fails "bytes after the last tensor" lm-convert extra.st out.st
stderr_has "  says so" 'extra.st: the config needs'

head -c 500 a.bin >trunc.bin
fails "truncated model.bin" lm-convert trunc.bin out.st
stderr_has "  says truncated" '^lm-convert: trunc.bin: truncated: 500 bytes'
ok "  no output" none out.st

{ printf '24ka\002\0\0\0'; tail -c +9 a.bin; } >badver.bin
fails "llama2.c magic with an unknown version" lm-convert badver.bin out.st
stderr_has "  says version" 'badver.bin: .*unsupported version'

head -c 2000 /dev/urandom >noise.bin
fails "random bytes" lm-convert noise.bin out.st
stderr_has "  say not a model" 'noise.bin: not a model'
ok "  no output" none out.st

fails "unknown output format" lm-convert -t gguf a.st out.st
fails "unwritable output" lm-convert a.st /nonexistent/dir/out.st
stderr_has "  names the output" 'lm-convert: /nonexistent/dir/out.st: No such file'
lm-convert a.st >/dev/null 2>&1
is "missing operand is a usage error (exit 2)" $? 2

if [ -r "$ASSETS/stories260K.bin" ] && [ -r "$ASSETS/stories260K_v1.bin" ]; then
	ok "stories260K.bin (v0) -> safetensors" lm-convert "$ASSETS/stories260K.bin" s0.st
	ok "stories260K_v1.bin (v1) -> safetensors" lm-convert "$ASSETS/stories260K_v1.bin" s1.st
	ok "v0 and v1 give the same checkpoint" cmp s0.st s1.st
	ok "back to llama2.c v0" lm-convert -t llama2c s0.st back.bin
	ok "header and weights byte-identical to stories260K.bin" cmp -n $((28 + 4 * 260032)) back.bin "$ASSETS/stories260K.bin"
	is "whole file the same size" "$(wc -c <back.bin | tr -d ' ')" "$(wc -c <"$ASSETS/stories260K.bin" | tr -d ' ')"
else
	echo "# no $ASSETS/stories260K.bin: llama2.c asset tests skipped"
fi

done_testing
