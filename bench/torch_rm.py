"""The PyTorch peer of bench/rm.sh: lm-rm train's reward model, loss and
optimizer in plain PyTorch, written for speed as bench/torch_train.py is (its
Llama trunk, float32, one matmul per weight over the batch, its AdamW,
set_num_threads, and under PyTorch 2.x its attention kernel and
torch.compile; run with OMP_WAIT_POLICY=PASSIVE and tcmalloc preloaded).

The rows are laid out as lm-rm lays the bench's pairs: every sequence (a
dialogue with one reply) has L tokens, a pair's chosen and rejected sequences
sit side by side, T / L sequences a row, no padding. Layouts:
  packed  rows of T with a block-diagonal causal mask (attention inside each
          sequence only) and RoPE positions restarting at each sequence, as
          lm-rm computes them;
  rows    the same sequences one per row of L with the plain causal mask,
          what a PyTorch user with equal-length sequences would write.
The score is Linear(dim, 1) of the final-normed hidden state at each
sequence's last token; the loss the mean over pairs of
softplus(-(r_c - r_r - margin)) with lm-rm's "small" margins; AdamW betas
.9/.95, eps 1e-5, weight decay 0.1 on matrices, clipping at 1.0. Token values
are random (speed does not depend on them).

usage: torch_rm.py train|score LAYOUT THREADS ROWS T L STEPS WARMUP dim n_layers n_heads n_kv_heads vocab
  train: ROWS rows of T a step; prints tokens/s (medians of the timed steps)
  score: forward only, no gradients, ROWS rows of T a forward, STEPS forwards
         timed after WARMUP; prints pairs/s over the timed forwards
each followed by the peer's name (torch_train.py's peer())
"""
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import COMPILE, Llama, adamw, peer  # noqa: E402

MARGIN = [1.0, 2.0 / 3, 1.0 / 3, 0.0]  # lm-rm's "small" table, by rating


class ScoreLlama(Llama):
    """Llama's trunk under a scalar head, on rows whose sequences start every L positions."""

    def __init__(self, dim, n_layers, n_heads, n_kv, vocab, T, L):
        super().__init__(dim, n_layers, n_heads, n_kv, vocab, T)
        self.out = torch.nn.Linear(dim, 1, bias=False)
        torch.nn.init.normal_(self.out.weight, std=0.02)
        pos = torch.arange(T) % L
        freqs = 1.0 / (10000.0 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(pos.float(), freqs)
        self.cos = ang.cos()[None, :, None, :]
        self.sin = ang.sin()[None, :, None, :]
        seq = torch.arange(T) // L
        keep = (seq[:, None] == seq[None, :]) & (pos[:, None] >= pos[None, :])
        self.mask = torch.zeros(T, T).masked_fill(~keep, float("-inf"))

    def scores(self, tok, at):
        """Scores at flat positions at (row·T + t) of tok (B, T)."""
        x = self.trunk(tok)
        h = x.reshape(-1, x.size(-1))[at]   # only the scored positions need the final norm
        return self.out(self.rms(h, self.norm)).squeeze(-1)


def main():
    what, layout = sys.argv[1], sys.argv[2]
    threads, rows, T, L, steps, warmup = map(int, sys.argv[3:9])
    dim, n_layers, n_heads, n_kv, vocab = map(int, sys.argv[9:14])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    seqs = rows * (T // L)   # sequences a step, chosen and rejected alternating
    if layout == "rows":
        rows, T = seqs, L
    model = ScoreLlama(dim, n_layers, n_heads, n_kv, vocab, T, L)
    at = torch.arange(seqs) * L + (L - 1)
    margin = torch.tensor([MARGIN[k % 4] for k in range(seqs // 2)])
    rng = np.random.default_rng(1)
    batch = lambda: torch.from_numpy(rng.integers(0, vocab, size=(rows, T)))
    scores = torch.compile(model.scores) if COMPILE else model.scores
    times = []
    if what == "score":
        with torch.inference_mode():
            for step in range(warmup + steps):
                t0 = time.perf_counter()
                scores(batch(), at)
                if step >= warmup:
                    times.append(time.perf_counter() - t0)
        print("%.1f %s" % (seqs / 2 * steps / sum(times), peer()))
        return
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = adamw(decay, other, 1e-5)
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        r = scores(batch(), at)
        loss = F.softplus(-(r[0::2] - r[1::2] - margin)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    print("%.1f %s" % (rows * T / statistics.median(times), peer()))


if __name__ == "__main__":
    main()
