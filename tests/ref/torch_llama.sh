#!/bin/sh
# Regenerate tests/data/ref_llama_*.bin, the PyTorch oracle for tests/unit/grad.c:
# a GQA model, the same with tied embeddings, and one with n_kv_heads = n_heads.
set -eu
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
#                                             dim L heads kv vocab seq tied
$py tests/ref/torch_llama.py tests/data/ref_llama_gqa.bin    64 2 4 2 97 16 0
$py tests/ref/torch_llama.py tests/data/ref_llama_tied.bin   64 2 4 2 97 16 1
$py tests/ref/torch_llama.py tests/data/ref_llama_mha.bin    64 2 4 4 97 16 0
ls -l tests/data/ref_llama_*.bin
