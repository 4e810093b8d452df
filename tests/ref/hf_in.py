"""Hugging Face checkpoints in: transformers saves a random LlamaForCausalLM
(GQA, untied) as F32 and BF16, each in one file and in shards; lm-convert reads
each (tests/ref/hf_in.sh) and lmkit's logits on 3 sequences are held to
transformers'.

usage: hf_in.py save DIR         writes DIR/{f32,f32sh,bf16,bf16sh} and DIR/ids.txt
       hf_in.py check DIR        compares DIR/<variant>.logits (tests/ref/logits.c's
                                 output) with transformers' logits

Each variant is compared with transformers running in float32 on the weights
as saved, so BF16 weights are compared on their BF16-rounded values, exactly
what lmkit reads: all four must agree within 1e-4 (|a - b| / max(1, |b|)).
The BF16 variants are also compared with the F32 model before rounding, which
measures what BF16 rounding of the weights itself costs (printed, the
tolerance it implies; not a pass/fail bound of lmkit's reading).
"""
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.utils import logging

logging.disable_progress_bar()

VARIANTS = {"f32": (torch.float32, None), "f32sh": (torch.float32, "200KB"),
            "bf16": (torch.bfloat16, None), "bf16sh": (torch.bfloat16, "100KB")}
TOL = 1e-4


def save(d):
    torch.manual_seed(17)
    cfg = LlamaConfig(hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=512, max_position_embeddings=128, rms_norm_eps=1e-5,
                      rope_theta=50000.0, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        # weights of the size trained ones have, so logits are far from uniform
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0, 0.15)
    for name, (dtype, shard) in VARIANTS.items():
        m = model.to(dtype)
        m.save_pretrained(os.path.join(d, name), safe_serialization=True,
                          **({"max_shard_size": shard} if shard else {}))
        model = model.to(torch.float32)
    g = torch.Generator().manual_seed(5)
    with open(os.path.join(d, "ids.txt"), "w") as f:
        for n in (7, 23, 48):
            f.write(" ".join(str(int(i)) for i in torch.randint(0, 512, (n,), generator=g)) + "\n")


def hf_logits(path, seqs):
    m = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        return [m(torch.tensor([s]), use_cache=False).logits[0] for s in seqs]


def worst(a, b):
    return max(((x - y).abs() / y.abs().clamp(min=1)).max().item() for x, y in zip(a, b))


def check(d):
    seqs = [[int(t) for t in line.split()] for line in open(os.path.join(d, "ids.txt"))]
    f32 = hf_logits(os.path.join(d, "f32"), seqs)
    ok = True
    for name in VARIANTS:
        rows = [[float(v) for v in line.split()] for line in open(os.path.join(d, name + ".logits"))]
        lm, at = [], 0
        for s in seqs:
            lm.append(torch.tensor(rows[at:at + len(s)], dtype=torch.float32))
            at += len(s)
        assert at == len(rows), f"{name}: {len(rows)} rows of logits, {at} positions"
        hf = hf_logits(os.path.join(d, name), seqs)
        err = worst(lm, hf)
        ok = ok and err <= TOL
        line = f"hf_in: {name}: lmkit vs transformers (float32, same weights): largest difference {err:.2e} (tolerance {TOL:g})"
        if name.startswith("bf16"):
            line += f"; vs the F32 model before BF16 rounding {worst(lm, f32):.2e}"
        print(line)
    return ok


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "save":
        save(sys.argv[2])
    else:
        sys.exit(0 if check(sys.argv[2]) else 1)
