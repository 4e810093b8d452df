"""Where a chat model's knowledge of the preference pairs' facts is, run by hand
(not by make ref): how often the model itself ranks the chosen reply above the
rejected one by its log-likelihood, on the pairs whose replies have the same
words but one or two (what the model knows); and how well a linear probe on
its frozen hidden states (the last token, or the mean over the reply, at each
layer), fitted on training pairs, ranks the held-out ones (what a score head
on the unchanged trunk could read). Dialogues are rendered by
tests/ref/chat_template.py (SentencePiece), not by lmkit.

usage: rm_knowledge.py MODEL_DIR TOKENIZER.model TRAIN_PAIRS.jsonl EVAL_PAIRS.jsonl
MODEL_DIR: the chat model for transformers, e.g.
  mkdir m && lm-convert --hf-config m/config.json work/demo/sft.safetensors m/model.safetensors
The pairs: docs/FORMATS.md "Preference pairs" (helpful ones are used).
"""
import collections
import json
import sys

import numpy as np
import sentencepiece as spm
import torch
from transformers import LlamaForCausalLM

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from chat_template import render  # noqa: E402

model_dir, tok, train_path, eval_path = sys.argv[1:5]
torch.set_num_threads(1)
model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
sp = spm.SentencePieceProcessor(model_file=tok)


def reply_features(msgs, reply):
    """The reply's log-likelihood and, per layer, the last token's and the reply's mean hidden state."""
    ids, mask = render(sp, msgs + [{"role": "assistant", "content": reply}])[:2]
    last = max(i for i in range(len(ids)) if ids[i] == sp.bos_id())
    span = [i for i in range(last + 1, len(ids)) if mask[i]]
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True)
    logp = torch.log_softmax(out.logits[0], -1)
    llk = sum(logp[i - 1, ids[i]].item() for i in span)
    feats = {}
    for layer, h in enumerate(out.hidden_states):
        feats[f"last token, layer {layer}"] = h[0, -1].numpy()
        feats[f"reply mean, layer {layer}"] = h[0, span].mean(0).numpy()
    return llk, feats


def load(path):
    pairs = []
    for line in open(path):
        p = json.loads(line)
        if p["kind"] != "helpful":
            continue
        a, b = p["chosen"].split(), p["rejected"].split()
        same_form = len(a) == len(b) and sum(x != y for x, y in zip(a, b)) <= 2
        lc, fc = reply_features(p["messages"], p["chosen"])
        lr, fr = reply_features(p["messages"], p["rejected"])
        pairs.append((p["variant"], same_form, lc - lr, fc, fr))
    return pairs


train, held = load(train_path), load(eval_path)
by = collections.defaultdict(list)
for variant, same_form, d, _, _ in held:
    if same_form:
        by["all"].append(d > 0)
        by[variant].append(d > 0)
print("the model's likelihood ranks the held-out pairs that differ in one or two words:")
for k, v in sorted(by.items(), key=lambda kv: -len(kv[1])):
    print(f"  {k:14s} {len(v):4d} pairs  {100 * np.mean(v):5.1f}%")


def probe(key):
    """Pairwise logistic regression on chosen - rejected (both signs), L2 1e-3."""
    d = np.array([fc[key] - fr[key] for _, _, _, fc, fr in train])
    x, y = np.concatenate([d, -d]), np.concatenate([np.ones(len(d)), np.zeros(len(d))])
    w = np.zeros(d.shape[1])
    for _ in range(2000):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (p - y) / len(y) + 1e-3 * w)
    return w


print("a linear probe of the frozen hidden states ranks the held-out pairs:")
for key in held[0][3]:
    if key.endswith("layer 0") and key.startswith("last"):
        continue  # the last token's embedding is EOS's in every reply
    w = probe(key)
    acc = np.mean([(fc[key] - fr[key]) @ w > 0 for _, _, _, fc, fr in held])
    fit = np.mean([(fc[key] - fr[key]) @ w > 0 for _, _, _, fc, fr in train])
    print(f"  {key:22s} held-out {100 * acc:5.1f}%  (training pairs {100 * fit:5.1f}%)")
