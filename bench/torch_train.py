"""The PyTorch peer of bench/pretrain.sh: the same Llama 2 model, optimizer and
batch as lm-pretrain, trained for a few steps on the same token shard, timed
per step. Written for speed on CPU: float32, one matmul per weight over the
whole batch, the thread count fixed by set_num_threads (run with
OMP_WAIT_POLICY=PASSIVE and tcmalloc preloaded when available). Under the
PyTorch 1.13 of Debian 12: attention as two matmuls and a softmax, GQA by
expanding K/V views, foreach AdamW. Under PyTorch 2.x, what it adds for
speed: scaled_dot_product_attention (causal, GQA without copies), the fused
AdamW kernel, and torch.compile of the model (TORCH_COMPILE=0 leaves it out:
bench/pretrain.sh does for config (b), where it did not help).

usage: torch_train.py SHARD THREADS B T STEPS WARMUP dim n_layers n_heads n_kv_heads vocab
prints: tokens_per_s gflops peer (medians of the timed steps; peer names the
PyTorch and what of the above it used, as torch-2.15.0+sdpa+fused+compile)
"""
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

VERSION = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
V2 = VERSION >= (2, 0)
GQA = VERSION >= (2, 5)  # scaled_dot_product_attention's enable_gqa
FUSED = VERSION >= (2, 4)  # AdamW's fused kernel on the CPU
COMPILE = V2 and os.environ.get("TORCH_COMPILE", "1") != "0"


def hidden_dim(dim, multiple_of=256):
    h = int(2 * (4 * dim) / 3)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


class Llama(torch.nn.Module):
    def __init__(self, dim, n_layers, n_heads, n_kv, vocab, T):
        super().__init__()
        self.nh, self.nkv, self.hd = n_heads, n_kv, dim // n_heads
        H = hidden_dim(dim)
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.emb = torch.nn.Embedding(vocab, dim)
        self.layers = torch.nn.ModuleList()
        for _ in range(n_layers):
            m = torch.nn.Module()
            m.wq, m.wk, m.wv, m.wo = lin(dim, dim), lin(dim, n_kv * self.hd), lin(dim, n_kv * self.hd), lin(dim, dim)
            m.w1, m.w2, m.w3 = lin(dim, H), lin(H, dim), lin(dim, H)
            m.n1, m.n2 = torch.nn.Parameter(torch.ones(dim)), torch.nn.Parameter(torch.ones(dim))
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(dim))
        self.out = lin(dim, vocab)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        freqs = 1.0 / (10000.0 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(T).float(), freqs)
        self.register_buffer("cos", ang.cos()[None, :, None, :])
        self.register_buffer("sin", ang.sin()[None, :, None, :])
        # SDPA's is_causal needs no mask; subclasses set their own
        self.mask = None if V2 else torch.full((T, T), float("-inf")).triu(1)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def rope(self, x):  # interleaved pairs
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * self.cos - b * self.sin, a * self.sin + b * self.cos), -1).flatten(3)

    def trunk(self, tok):
        """The final hidden states before the norm, (B, T, dim)."""
        B, T = tok.shape
        x = self.emb(tok)
        rep = self.nh // self.nkv
        for m in self.layers:
            h = self.rms(x, m.n1)
            q = self.rope(m.wq(h).view(B, T, self.nh, self.hd)).transpose(1, 2)
            k = self.rope(m.wk(h).view(B, T, self.nkv, self.hd)).transpose(1, 2)
            v = m.wv(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
            if rep > 1 and not GQA:
                k = k[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
                v = v[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
            if V2:
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, is_causal=self.mask is None,
                                                   **({"enable_gqa": True} if GQA else {}))
            else:
                s = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.hd)) + self.mask
                o = torch.matmul(F.softmax(s, dim=-1), v)
            o = o.transpose(1, 2).reshape(B, T, -1)
            x = x + m.wo(o)
            h = self.rms(x, m.n2)
            x = x + m.w2(F.silu(m.w1(h)) * m.w3(h))
        return x

    def forward(self, tok, tgt):
        logits = self.out(self.rms(self.trunk(tok), self.norm))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), tgt.reshape(-1))


def adamw(decay, other, lr):
    """AdamW as lm-pretrain's: the fused kernel where PyTorch has one for the CPU (2.4 on)."""
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}]
    kind = {"fused": True} if FUSED else {"foreach": True}
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-5, **kind)


def peer():
    """torch-VERSION and what it ran with, for the bench's table."""
    extra = ("+sdpa" if V2 else "") + ("+fused" if FUSED else "") + ("+compile" if COMPILE else "")
    return "torch-" + torch.__version__.split("+")[0] + extra


def main():
    shard, threads, B, T, steps, warmup = sys.argv[1], *map(int, sys.argv[2:7])
    dim, n_layers, n_heads, n_kv, vocab = map(int, sys.argv[7:12])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    head = np.fromfile(shard, dtype=np.uint8, count=64)
    n = int(head[32:40].view(np.uint64)[0])
    tokens = np.memmap(shard, dtype=np.uint16, mode="r", offset=64, shape=(n,))
    model = Llama(dim, n_layers, n_heads, n_kv, vocab, T)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = adamw(decay, other, 3e-4)
    step_of = torch.compile(model) if COMPILE else model
    N = sum(p.numel() for p in decay) - model.emb.weight.numel()
    flops_tok = 6 * N + 12 * n_layers * dim * T
    rng = np.random.default_rng(1)
    times = []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        starts = rng.integers(0, n - T - 1, size=B)
        w = torch.from_numpy(np.stack([tokens[s:s + T + 1].astype(np.int64) for s in starts]))
        loss = step_of(w[:, :-1], w[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    tps = B * T / statistics.median(times)
    print("%.1f %.2f %s" % (tps, tps * flops_tok / 1e9, peer()))


if __name__ == "__main__":
    main()
