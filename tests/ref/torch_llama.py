"""A plain PyTorch Llama 2 (written from Meta's llama/model.py, not from lmkit)
as the oracle for lmkit's forward, backward and optimizer.

Writes a reference file of named float arrays (see read_ref in tests/unit/grad.c):
  record = name (NUL-terminated ASCII) + u32 count + count float32 (little-endian)
Arrays: config, tokens, targets, params (lmkit's block order: embedding, all
attention norms, all wq, wk, wv, wo, all ffn norms, all w1, w2, w3, final norm,
output head when untied), logits, loss, grads (same order), losses (the loss
before each of 10 AdamW steps, schedule and clipping on), train (the optimizer
settings). Computed in float64 so the reference is better than what it checks.

usage: torch_llama.py OUT dim n_layers n_heads n_kv_heads vocab seq tied
"""
import math
import struct
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class Config:
    def __init__(self, dim, n_layers, n_heads, n_kv_heads, vocab, seq, tied):
        self.dim, self.n_layers, self.n_heads, self.n_kv_heads = dim, n_layers, n_heads, n_kv_heads
        self.vocab, self.seq, self.tied = vocab, seq, tied
        self.multiple_of, self.norm_eps, self.rope_theta = 256, 1e-5, 10000.0
        h = int(2 * (4 * dim) / 3)
        self.hidden = self.multiple_of * ((h + self.multiple_of - 1) // self.multiple_of)


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_freqs(hd, seq, theta):
    freqs = 1.0 / (theta ** (torch.arange(0, hd, 2)[: hd // 2].double() / hd))
    t = torch.arange(seq).double()
    return torch.polar(torch.ones(seq, hd // 2), torch.outer(t, freqs))  # (seq, hd/2) complex


def rope(x, fc):  # x (B, T, H, hd): rotate interleaved pairs as complex numbers
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * fc[None, :, None, :]).flatten(3)


class Attention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c.n_heads, c.n_kv_heads, c.dim // c.n_heads
        self.wq = torch.nn.Linear(c.dim, self.nh * self.hd, bias=False)
        self.wk = torch.nn.Linear(c.dim, self.nkv * self.hd, bias=False)
        self.wv = torch.nn.Linear(c.dim, self.nkv * self.hd, bias=False)
        self.wo = torch.nn.Linear(self.nh * self.hd, c.dim, bias=False)

    def forward(self, x, fc):
        B, T, _ = x.shape
        q = rope(self.wq(x).view(B, T, self.nh, self.hd), fc)
        k = rope(self.wk(x).view(B, T, self.nkv, self.hd), fc)
        v = self.wv(x).view(B, T, self.nkv, self.hd)
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        s = q @ k.transpose(2, 3) / math.sqrt(self.hd)
        s = s + torch.full((T, T), float("-inf")).triu(1)
        o = F.softmax(s, dim=-1) @ v
        return self.wo(o.transpose(1, 2).reshape(B, T, -1))


class FeedForward(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = torch.nn.Linear(c.dim, c.hidden, bias=False)
        self.w2 = torch.nn.Linear(c.hidden, c.dim, bias=False)
        self.w3 = torch.nn.Linear(c.dim, c.hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention, self.feed_forward = Attention(c), FeedForward(c)
        self.attention_norm, self.ffn_norm = RMSNorm(c.dim, c.norm_eps), RMSNorm(c.dim, c.norm_eps)

    def forward(self, x, fc):
        h = x + self.attention(self.attention_norm(x), fc)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_embeddings = torch.nn.Embedding(c.vocab, c.dim)
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.output = torch.nn.Linear(c.dim, c.vocab, bias=False)
        if c.tied:
            self.output.weight = self.tok_embeddings.weight
        self.fc = rope_freqs(c.dim // c.n_heads, c.seq, c.rope_theta)

    def forward(self, tokens):
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, self.fc)
        return self.output(self.norm(h))

    def block_order(self):
        """Parameters in lmkit's block order (the tied head appears once)."""
        L = self.layers
        order = [self.tok_embeddings.weight]
        order += [l.attention_norm.weight for l in L]
        for name in ("wq", "wk", "wv", "wo"):
            order += [getattr(l.attention, name).weight for l in L]
        order += [l.ffn_norm.weight for l in L]
        for name in ("w1", "w2", "w3"):
            order += [getattr(l.feed_forward, name).weight for l in L]
        order.append(self.norm.weight)
        if not self.c.tied:
            order.append(self.output.weight)
        return order


def lr_at(step, warmup, total, peak, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    if step >= total:
        return floor
    ratio = (step - warmup) / (total - warmup)
    return floor + 0.5 * (1 + math.cos(math.pi * ratio)) * (peak - floor)


def adamw_losses(model, loss_fn, peak, warmup, total, wd, clip):
    """The loss before each of `total` steps of lmkit's optimizer: AdamW (betas .9/.95,
    eps 1e-5), weight decay on matrices and the embedding only, the global gradient norm
    clipped, the learning rate of lr_at."""
    decay = [p for p in model.block_order() if p.dim() == 2]
    no_decay = [p for p in model.block_order() if p.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=peak, betas=(0.9, 0.95), eps=1e-5)
    losses = []
    for step in range(total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, warmup, total, peak, 0.1 * peak)
        opt.zero_grad()
        l = loss_fn()
        losses.append(l.item())
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return losses


def write_ref(out, arrays):
    """The reference file: records of name NUL, u32 count, count float32 (tests/unit/ref.h)."""
    with open(out, "wb") as f:
        for name, vals in arrays:
            f.write(name.encode() + b"\0" + struct.pack("<I", len(vals)) + struct.pack("<%df" % len(vals), *vals))


def main():
    out = sys.argv[1]
    dim, n_layers, n_heads, n_kv, vocab, seq, tied = map(int, sys.argv[2:9])
    c = Config(dim, n_layers, n_heads, n_kv, vocab, seq, tied)
    torch.manual_seed(1234)
    model = Llama(c)
    with torch.no_grad():
        for p in model.block_order():
            if p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
        for p in model.block_order():  # the values the C side sees are float32
            p.copy_(p.float().double())
    B = 2
    data = torch.randint(0, vocab, (B, seq + 1))
    tokens, targets = data[:, :-1], data[:, 1:]

    def loss_of():
        logits = model(tokens)
        return logits, F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))

    logits, loss = loss_of()
    loss.backward()
    params = [p.detach().flatten().clone() for p in model.block_order()]
    grads = [p.grad.detach().flatten().clone() for p in model.block_order()]

    # 10 AdamW steps on the same batch: schedule with a short warmup, clipping on
    peak, warmup, total, wd, clip = 1e-2, 3, 10, 0.1, 1.0
    losses = adamw_losses(model, lambda: loss_of()[1], peak, warmup, total, wd, clip)

    arrays = [
        ("config", [dim, n_layers, n_heads, n_kv, vocab, seq, tied, c.hidden, B]),
        ("tokens", tokens.flatten().tolist()),
        ("targets", targets.flatten().tolist()),
        ("params", torch.cat(params).tolist()),
        ("logits", logits.detach().flatten().tolist()),
        ("loss", [loss.item()]),
        ("grads", torch.cat(grads).tolist()),
        ("losses", losses),
        ("train", [peak, warmup, total, 0.1 * peak, wd, clip, 0.9, 0.95, 1e-5]),
    ]
    write_ref(out, arrays)


if __name__ == "__main__":
    main()
