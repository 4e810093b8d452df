#!/usr/bin/python3
"""PyTorch peer of lm-sample for bench/sample.sh: the same checkpoint, decoded
one token at a time with a KV cache at batch 1, temperature sampling, on one
thread: at batch 1 a second thread made both Debian's PyTorch 1.13 and PyPI's
2.15 slower on the 2 shared cores here (bench/README.md). torch.compile of the
step (through a fixed-shape step, one graph for all positions) did not help
PyTorch 2.15 either, so it runs eagerly under both.

Reads lmkit's safetensors checkpoint directly (json header + raw F32) with
Hugging Face Llama names and the half-split RoPE layout Hugging Face uses, so
its greedy tokens agreeing with lm-sample's also checks checkpoint.c's wq/wk
permutation. Prints "greedy ID ID ...", "tok_per_s N" and "tok_per_cpu_s N" lines.

usage: torch_sample.py CHECKPOINT TOKENS GREEDY_TOKENS
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    cfg = json.loads(header["__metadata__"]["lmkit_config"])
    w = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        w[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).reshape(t["shape"]).copy())
    if "lm_head.weight" not in w:
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return cfg, w


class Model:
    def __init__(self, cfg, w, max_len):
        self.c, self.w = cfg, w
        d, h = cfg["dim"], cfg["n_heads"]
        self.hd = d // h
        kv = cfg["n_kv_heads"] * self.hd
        L = cfg["n_layers"]
        self.k = torch.zeros(L, max_len, kv)
        self.v = torch.zeros(L, max_len, kv)
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(max_len).float(), inv)
        self.cos = torch.cat([ang.cos(), ang.cos()], -1)
        self.sin = torch.cat([ang.sin(), ang.sin()], -1)

    def rms(self, x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["norm_eps"]) * g

    def rope(self, x, pos):  # x (heads, hd), Hugging Face's rotate_half
        half = self.hd // 2
        rot = torch.cat([-x[:, half:], x[:, :half]], -1)
        return x * self.cos[pos] + rot * self.sin[pos]

    def step(self, tok, pos):
        c, w, hd = self.c, self.w, self.hd
        H, KH = c["n_heads"], c["n_kv_heads"]
        x = w["model.embed_tokens.weight"][tok]
        for l in range(c["n_layers"]):
            p = f"model.layers.{l}."
            xb = self.rms(x, w[p + "input_layernorm.weight"])
            q = self.rope((w[p + "self_attn.q_proj.weight"] @ xb).view(H, hd), pos)
            k = self.rope((w[p + "self_attn.k_proj.weight"] @ xb).view(KH, hd), pos)
            self.k[l, pos] = k.reshape(-1)
            self.v[l, pos] = w[p + "self_attn.v_proj.weight"] @ xb
            K = self.k[l, : pos + 1].view(pos + 1, KH, hd).repeat_interleave(H // KH, 1)
            V = self.v[l, : pos + 1].view(pos + 1, KH, hd).repeat_interleave(H // KH, 1)
            att = torch.einsum("hd,thd->ht", q, K) / math.sqrt(hd)
            o = torch.einsum("ht,thd->hd", att.softmax(-1), V).reshape(-1)
            x = x + w[p + "self_attn.o_proj.weight"] @ o
            xb = self.rms(x, w[p + "post_attention_layernorm.weight"])
            h = torch.nn.functional.silu(w[p + "mlp.gate_proj.weight"] @ xb) * (w[p + "mlp.up_proj.weight"] @ xb)
            x = x + w[p + "mlp.down_proj.weight"] @ h
        return w["lm_head.weight"] @ self.rms(x, w["model.norm.weight"])


def generate(m, n, temperature, gen):
    tok, out = 1, []
    for pos in range(n):
        logits = m.step(tok, pos)
        if temperature == 0:
            tok = int(logits.argmax())
        else:
            tok = int(torch.multinomial((logits / temperature).softmax(-1), 1, generator=gen))
        out.append(tok)
    return out


def main():
    path, n, n_greedy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cfg, w = load(path)
    m = Model(cfg, w, max(n, n_greedy, 8) + 1)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1)
    with torch.inference_mode():
        print("greedy", *generate(m, n_greedy, 0, gen))
        generate(m, 8, 1.0, gen)  # warm up
        t0, c0 = time.perf_counter(), time.process_time()
        generate(m, n, 1.0, gen)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"tok_per_s {n / dt:.1f}")
    print(f"tok_per_cpu_s {n / cpu:.1f}")
    print("peer torch-%s, %d thread" % (torch.__version__.split("+")[0], torch.get_num_threads()))


if __name__ == "__main__":
    main()
