"""A reward model exported by lmkit, loaded by Hugging Face transformers as it
is (LlamaForSequenceClassification from the directory lm-convert wrote), scores
the same dialogues as `lm-rm score`. The dialogues are rendered in Llama 2's
chat template by tests/ref/chat_template.py (SentencePiece itself), not by lmkit.

usage: hf_rm.py MODEL_DIR TOKENIZER.model SCORED.jsonl NAME
SCORED.jsonl is lm-rm score's output; exits 1 when a score differs by more
than 1e-4 (relative to max(1, |score|)).
"""
import json
import sys

import sentencepiece as spm
import torch
from transformers import LlamaForSequenceClassification

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from chat_template import render  # noqa: E402

model_dir, tok_path, scored, name = sys.argv[1:5]
sp = spm.SentencePieceProcessor(model_file=tok_path)
model = LlamaForSequenceClassification.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
worst, n = 0.0, 0
with open(scored) as f:
    for line in f:
        rec = json.loads(line)
        ids = render(sp, rec["messages"])[0]
        with torch.no_grad():
            hf = model(torch.tensor([ids])).logits[0, 0].item()
        lm = rec["rewards"][name]
        err = abs(hf - lm) / max(1.0, abs(hf))
        worst = max(worst, err)
        n += 1
        print(f"{rec.get('id', n)}\ttransformers {hf:.7f}\tlm-rm {lm:.7f}\t{err:.2e}")
print(f"hf_rm: {n} dialogues, largest difference {worst:.2e} (tolerance 1e-4)")
sys.exit(0 if n >= 20 and worst <= 1e-4 else 1)
