#!/bin/sh
# A reward model exported by lmkit (lm-convert --hf-config) loads in Hugging
# Face transformers' LlamaForSequenceClassification and scores 20 dialogues as
# `lm-rm score` does, within 1e-4. transformers comes from PyPI into a virtual
# environment under build/ over Debian's python3-torch (not system-wide).
set -eu
cd "$(dirname "$0")/../.."
assets=${LMKIT_ASSETS:-../shared/assets}
[ -r "$assets/tok512.model" ] || { echo "hf_rm: no $assets/tok512.model, skipped"; exit 0; }
. tests/ref/venv.rc hf_rm
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-hfrm.XXXXXX")
trap 'rm -rf "$W"' EXIT
# a GQA model, untied; the score model is trained a little so its head is not the initial draw
echo '{"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 512}' >"$W/cfg.json"
bin/lm-convert --init "$W/cfg.json" --seed 5 "$W/lm.st"
bin/lm-rm init --seed 5 -o "$W/rm0.st" "$W/lm.st"
head -64 samples/prefs.jsonl >"$W/pairs.jsonl"
bin/lm-rm train --init "$W/rm0.st" --tokenizer "$assets/tok512.model" -b 16 --lr 1e-3 -o "$W/rm.st" "$W/pairs.jsonl"
mkdir "$W/hf"
bin/lm-convert --hf-config "$W/hf/config.json" "$W/rm.st" "$W/hf/model.safetensors"
# 20 dialogues ending with a reply, one of them two turns long
$venv/bin/python -c '
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i == 20: break
    p = json.loads(line)
    m = p["messages"] + [{"role": "assistant", "content": p["chosen"]}]
    if i == 0: m = m + [{"role": "user", "content": "And again?"}, {"role": "assistant", "content": p["rejected"]}]
    print(json.dumps({"id": p["id"], "messages": m}))' "$W/pairs.jsonl" >"$W/chat.jsonl"
bin/lm-rm score -t "$assets/tok512.model" -n helpful -o "$W/scored.jsonl" "$W/rm.st" "$W/chat.jsonl"
$venv/bin/python tests/ref/hf_rm.py "$W/hf" "$assets/tok512.model" "$W/scored.jsonl" helpful
