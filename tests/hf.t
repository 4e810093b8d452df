# lm-convert reading Hugging Face checkpoints (config.json and safetensors, one
# file or shards with an index; F32, BF16, F16), written by tests/hf_write.pl
# from an lmkit checkpoint, so the result must be that checkpoint again
# (exactly in F32, its weights cut to BF16/F16 otherwise); bad input refused
# naming the file, with no output.
. "$(dirname "$0")/lib.sh"
W="perl $ROOT/tests/hf_write.pl"

printf '{"dim":16,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":37,"hidden_dim":24,"max_seq_len":32,"tied":false}' >untied.json
printf '{"dim":16,"n_layers":2,"n_heads":4,"vocab_size":37,"hidden_dim":24,"max_seq_len":32,"tied":true}' >tied.json
lm-convert --init untied.json --seed 3 u.st
lm-convert --init tied.json --seed 4 t.st
# hf DIR LMKIT [hf_write.pl options]: DIR as save_pretrained writes LMKIT
hf() { d=$1 st=$2; shift 2; mkdir "$d" && lm-convert --hf-config "$d/config.json" "$st" "$d/x.st" && rm "$d/x.st" && $W "$@" "$st" "$d"; }
none() { ! ls "$1"* >/dev/null 2>&1; }

hf f32 u.st
ok "F32, one file: a directory" lm-convert f32 out.st
ok "  the same checkpoint, byte for byte" cmp u.st out.st
rm out.st
ok "  read through its config.json too" lm-convert f32/config.json out.st
ok "  (compare)" cmp u.st out.st
rm out.st

hf tied t.st
ok "tied embeddings (no lm_head.weight)" lm-convert tied out.st
ok "  the same checkpoint" cmp t.st out.st
rm out.st

hf sh u.st -shards 3
ok "F32, three shards and an index" lm-convert sh out.st
ok "  the same checkpoint" cmp u.st out.st
rm out.st
ok "  read through the index's path" lm-convert sh/model.safetensors.index.json out.st
ok "  (compare)" cmp u.st out.st
rm out.st

$W -round bf16 u.st u_bf16.st
hf bf u.st -t bf16
ok "BF16, one file" lm-convert bf out.st
ok "  the checkpoint with its weights cut to BF16" cmp u_bf16.st out.st
rm out.st
hf bfsh u.st -t bf16 -shards 2
ok "BF16, two shards" lm-convert bfsh out.st
ok "  the same" cmp u_bf16.st out.st
rm out.st

$W -round f16 u.st u_f16.st
hf f16 u.st -t f16
ok "F16 (subnormals among the weights)" lm-convert f16 out.st
ok "  the checkpoint with its weights cut to F16" cmp u_f16.st out.st
rm out.st

ok "  -t llama2c from a Hugging Face directory" lm-convert -t llama2c f32 out.bin
ok "  as from the lmkit checkpoint" sh -c 'lm-convert -t llama2c u.st ref.bin && cmp ref.bin out.bin'

hf inv u.st -extra model.layers.0.self_attn.rotary_emb.inv_freq
ok "rotary inv_freq buffers are skipped" lm-convert inv out.st
ok "  (compare)" cmp u.st out.st
rm out.st

lm-rm init --seed 5 -o rm.st u.st
hf rm rm.st
ok "a score model (LlamaForSequenceClassification, one label)" lm-convert rm out.st
ok "  the same checkpoint" cmp rm.st out.st
rm out.st

# bad input
cp -r rm labels && sed -i 's/"num_labels": 1/"num_labels": 2/' labels/config.json
fails "a classifier with two labels" lm-convert labels out.st
stderr_has "  says lmkit reads one" '^lm-convert: labels/config.json: LlamaForSequenceClassification with 2 labels'

cp -r f32 arch && sed -i 's/LlamaForCausalLM/MistralForCausalLM/' arch/config.json
fails "unsupported architecture" lm-convert arch out.st
stderr_has "  named, in config.json" '^lm-convert: arch/config.json: architecture MistralForCausalLM: lmkit reads'
ok "  no output" none out.st

cp -r f32 rs && sed -i 's/"rope_theta"/"rope_scaling": {"rope_type": "llama3", "factor": 8.0},\n  "rope_theta"/' rs/config.json
fails "rope_scaling" lm-convert rs out.st
stderr_has "  named" '^lm-convert: rs/config.json: rope_scaling llama3: unsupported'
ok "  no output" none out.st

cp -r sh gone && rm gone/model-00002-of-00003.safetensors
fails "an index naming a missing file" lm-convert gone out.st
stderr_has "  names the index and the file" '^lm-convert: gone/model.safetensors.index.json: weight_map names model-00002-of-00003.safetensors, which is missing'
ok "  no output" none out.st

cp -r f32 shape && sed -i 's/"intermediate_size": 24/"intermediate_size": 32/' shape/config.json
fails "a tensor whose shape disagrees with config.json" lm-convert shape out.st
stderr_has "  names file, tensor and shapes" '^lm-convert: shape/model.safetensors: tensor model.layers.0.mlp.gate_proj.weight: shape \[24,16\], config.json says \[32, 16\]'
ok "  no output" none out.st

hf nan u.st -t bf16 -shards 2 -nan model.layers.1.self_attn.k_proj.weight
fails "a NaN in BF16 data" lm-convert nan out.st
stderr_has "  names the shard and the tensor" '^lm-convert: nan/model-0000[12]-of-00002.safetensors: tensor model.layers.1.self_attn.k_proj.weight: NaN in its BF16 data'
ok "  no output" none out.st

hf extra u.st -extra model.layers.0.self_attn.q_proj.bias
fails "an extra tensor" lm-convert extra out.st
stderr_has "  named" '^lm-convert: extra/model.safetensors: unexpected tensor model.layers.0.self_attn.q_proj.bias'

cp -r f32 tiedcfg && sed -i 's/"tie_word_embeddings": false/"tie_word_embeddings": true/' tiedcfg/config.json
fails "lm_head.weight in a tied model" lm-convert tiedcfg out.st
stderr_has "  refused as extra" 'tiedcfg/model.safetensors: unexpected tensor lm_head.weight'

hf miss t.st
perl -0777 -pi -e 's/model.norm.weight/model.xorm.weight/' miss/model.safetensors
fails "a missing tensor" lm-convert miss out.st
stderr_has "  named" 'miss/model.safetensors: unexpected tensor model.xorm.weight|miss/model.safetensors: tensor model.norm.weight missing'

hf i8 u.st
perl -0777 -pi -e 's/"dtype":"F32"/"dtype":"F64"/' i8/model.safetensors
fails "an unreadable dtype" lm-convert i8 out.st
stderr_has "  named" 'i8/model.safetensors: tensor .*: dtype F64, lmkit reads F32, BF16 or F16'

mkdir empty
fails "a directory with no weights" lm-convert empty out.st
stderr_has "  says so" '^lm-convert: empty: neither model.safetensors nor model.safetensors.index.json'
ok "  no output" none out.st

done_testing
