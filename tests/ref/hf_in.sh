#!/bin/sh
# Hugging Face checkpoints in: transformers saves a random LlamaForCausalLM
# (GQA, untied) as F32 and BF16, in one file and in shards; lm-convert reads
# each; lmkit's logits on 3 sequences (tests/ref/logits.c) match transformers'
# within 1e-4 (tests/ref/hf_in.py says how BF16 is compared). transformers comes
# from PyPI into build/ref-venv, as for tests/ref/hf_rm.sh.
set -eu
cd "$(dirname "$0")/../.."
. tests/ref/venv.rc hf_in
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-hfin.XXXXXX")
trap 'rm -rf "$W"' EXIT
make -s build/ref/logits
$venv/bin/python tests/ref/hf_in.py save "$W"
for v in f32 f32sh bf16 bf16sh; do
	echo "hf_in: $v: $(ls "$W/$v" | grep -c safetensors\$) safetensors file(s)"
	bin/lm-convert "$W/$v" "$W/$v.st"
	build/ref/logits "$W/$v.st" <"$W/ids.txt" >"$W/$v.logits"
done
$venv/bin/python tests/ref/hf_in.py check "$W"
