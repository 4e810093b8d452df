#!/bin/sh
# Regenerates tests/data/chat_template_expected.jsonl: Llama 2 chat renderings of
# tests/data/chat_dialogues.jsonl by SentencePiece itself (Debian's python3).
set -eu
cd "$(dirname "$0")/../.."
assets=${LMKIT_ASSETS:-../shared/assets}
[ -r "$assets/tokenizer.model" ] || { echo "chat_template: no $assets/tokenizer.model, skipped"; exit 0; }
/usr/bin/python3 tests/ref/chat_template.py "$assets/tokenizer.model" tests/data/chat_dialogues.jsonl \
	tests/data/chat_template_expected.jsonl
echo "chat_template: wrote tests/data/chat_template_expected.jsonl"
