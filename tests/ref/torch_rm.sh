#!/bin/sh
# Regenerate tests/data/ref_rm_gqa.bin, the PyTorch oracle for tests/unit/rm_grad.c:
# a GQA score model on five rated pairs (one a two-turn dialogue), all three margin tables.
set -eu
cd "$(dirname "$0")/../.."
/usr/bin/python3 tests/ref/torch_rm.py tests/data/ref_rm_gqa.bin
ls -l tests/data/ref_rm_*.bin
