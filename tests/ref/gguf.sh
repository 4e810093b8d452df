#!/bin/sh
# lm-convert -t gguf checked by llama.cpp's own code, for stories260K, for a
# small GQA, untied model trained here and for the demo's model (after make demo): the gguf package (llama.cpp's Python
# reader, PyPI) finds every tensor equal to lmkit's, F32 and F16; llama.cpp
# (llama-cpp-python from PyPI, which compiles it from source) decodes the same
# 100 greedy tokens as lm-sample from the F32 files. Both come from PyPI into a
# virtual environment under build/ (not system-wide); the first run builds
# llama.cpp, minutes on 2 cores.
set -eu
cd "$(dirname "$0")/../.."
assets=${LMKIT_ASSETS:-../shared/assets}
for f in stories260K.bin tok512.model; do
	[ -r "$assets/$f" ] || { echo "gguf: SKIPPED: no $assets/$f"; exit 0; }
done
venv=build/gguf-venv
py=$venv/bin/python
if ! $py -c 'import gguf, numpy' 2>/dev/null; then
	/usr/bin/python3 -m venv $venv
	$venv/bin/pip install -q "gguf==0.19.0" numpy ||
		{ echo "gguf: SKIPPED: pip could not install the gguf package (is PyPI reachable?)"; exit 0; }
fi
llama=yes
if ! $py -c 'import llama_cpp' 2>/dev/null; then
	echo "gguf: building llama-cpp-python (llama.cpp from source), log in build/gguf-llama.log"
	if ! CMAKE_BUILD_PARALLEL_LEVEL=2 $venv/bin/pip install "llama-cpp-python==0.3.36" >build/gguf-llama.log 2>&1; then
		tail -5 build/gguf-llama.log
		echo "gguf: llama.cpp runs SKIPPED: pip could not build llama-cpp-python (build/gguf-llama.log)"
		llama=
	fi
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-gguf.XXXXXX")
trap 'rm -rf "$W"' EXIT

# check NAME MODEL PROMPT [TOKENIZER]: write NAME.gguf (F32) and NAME.f16.gguf,
# check both against MODEL's checkpoint, and the F32 one's greedy tokens
# against lm-sample's
check() {
	tok=${4:-$assets/tok512.model}
	bin/lm-convert "$2" "$W/$1.st"
	bin/lm-convert -t gguf --tokenizer "$tok" "$2" "$W/$1.gguf"
	bin/lm-convert -t gguf --dtype f16 --tokenizer "$tok" "$2" "$W/$1.f16.gguf"
	$py tests/ref/gguf_ref.py tensors "$W/$1.gguf" "$W/$1.st"
	$py tests/ref/gguf_ref.py tensors "$W/$1.f16.gguf" "$W/$1.st"
	[ -n "$llama" ] || return 0
	printf '%s' "$3" | bin/lm-tokenize -m "$tok" >"$W/$1.prompt"
	bin/lm-sample -t 0 -n 100 --tokenizer "$tok" -p "$3" -j "$2" |
		$py -c 'import json, sys; r = json.load(sys.stdin); assert r["finish"] == "length", r; print(*r["ids"])' \
		>"$W/$1.want"
	$py tests/ref/gguf_ref.py generate "$W/$1.gguf" "$3" "$W/$1.prompt" "$W/$1.want"
}

check stories260K "$assets/stories260K.bin" "Once upon a time"

# a model of lmkit's own: 200 steps on the tiny corpus, GQA and an untied head
bin/lm-tokenize -m "$tok" --jsonl -o "$W/corpus.bin" samples/corpus-tiny.jsonl.gz
bin/lm-pretrain --set dim=64 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=512 \
	--set max_seq_len=256 --set tied=false -b 8 -t 128 --steps 200 --warmup 10 --lr 3e-3 --seed 1 \
	-o "$W/pretrained.st" "$W/corpus.bin" 2>/dev/null
check trained "$W/pretrained.st" "On the first day of the month, Dakil"

# the demo's pretrained model, when make demo has made it (DEMO=dir to point elsewhere)
demo=${DEMO:-work/demo}
if [ -r "$demo/pretrain.safetensors" ] && [ -r "$demo/tok.model" ]; then
	check demo "$demo/pretrain.safetensors" "The town of Devol lies on the river" "$demo/tok.model"
else
	echo "gguf: demo model SKIPPED: no $demo/pretrain.safetensors (run make demo first)"
fi
