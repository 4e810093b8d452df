"""A plain PyTorch reward (score) model as the oracle for lmkit's score head,
pairwise margin loss, packing of pairs and trainer (tests/unit/rm_grad.c).

The trunk is torch_llama.py's Llama (written from Meta's model.py); the head is
score.weight (1, dim), as transformers' LlamaForSequenceClassification with one
label, read at each sequence's last token. Every sequence runs on its own,
positions from 0 and nothing packed: lmkit packs the pairs into rows as
segments, so agreeing with this checks its packing as well.

Writes a reference file of named float arrays (torch_llama.py's format):
  config   dim n_layers n_heads n_kv_heads vocab T hidden B micro table
           (T: the row length the C side packs into; B rows a micro-batch,
           micro micro-batches a step; table: the margin table of grads/losses)
  seqlen   the length of each sequence: pair k's chosen is 2k, its rejected 2k+1
  seqs     their tokens, end to end
  ratings  per pair, 0 significantly better .. 3 negligibly better
  params   lmkit's block order: the trunk as in torch_llama.py, then score.weight
  scores   per sequence, the score at its last token
  loss     the mean pair loss under the margin tables none, small, large
  grads    of the mean loss under `table`, block order
  losses   the loss before each of 10 AdamW steps on the same pairs
  train    peak warmup total min_lr weight_decay clip beta1 beta2 eps
Computed in float64.

usage: torch_rm.py OUT
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Config, Llama, adamw_losses, write_ref  # noqa: E402  (sets float64 as the default dtype)

BOS, EOS = 1, 2
# the paper's tables, rows none/small/large, columns significantly .. negligibly better
MARGINS = [[0, 0, 0, 0], [1, 2 / 3, 1 / 3, 0], [3, 2, 1, 0]]


class ScoreModel(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        c.tied = 1  # the trunk's block order without a vocabulary head
        self.trunk = Llama(c)
        self.trunk.output = None
        self.score = torch.nn.Linear(c.dim, 1, bias=False)

    def forward(self, tokens):  # one sequence (T,) -> its score at the last token
        m = self.trunk
        T = tokens.shape[0]
        h = m.tok_embeddings(tokens[None])
        for layer in m.layers:
            h = layer(h, m.fc[:T])
        return self.score(m.norm(h))[0, -1, 0]

    def block_order(self):
        return self.trunk.block_order() + [self.score.weight]


def pairs_data(vocab):
    """Five pairs; chosen and rejected share their prompt. Pair 2 is a two-turn
    dialogue: its sequences have an EOS after the first reply, long before their
    last token. Lengths are chosen so that lmkit's packing (rows of 32, two rows
    a micro-batch, two micro-batches) puts pairs 0 and 1 in micro-batch 0 and
    pairs 2 to 4 in micro-batch 1, every row padded."""
    g = torch.Generator().manual_seed(99)

    def words(n):
        return torch.randint(3, vocab, (n,), generator=g).tolist()

    def turn(user, reply):
        return [BOS] + words(user) + words(reply) + [EOS]

    specs = [  # (prompt, chosen reply, rejected reply, rating)
        ([BOS] + words(5), words(4) + [EOS], words(6) + [EOS], 0),
        ([BOS] + words(3), words(2) + [EOS], words(3) + [EOS], 1),
        (turn(3, 3) + [BOS] + words(3), words(3) + [EOS], words(2) + [EOS], 2),
        ([BOS] + words(2), words(1) + [EOS], words(4) + [EOS], 3),
        ([BOS] + words(3), words(3) + [EOS], words(1) + [EOS], 1),
    ]
    seqs, ratings = [], []
    for prompt, chosen, rejected, rating in specs:
        seqs += [prompt + chosen, prompt + rejected]
        ratings.append(rating)
    assert EOS in seqs[4][:-1] and EOS in seqs[5][:-1]
    return seqs, ratings


def main():
    out = sys.argv[1]
    dim, n_layers, n_heads, n_kv, vocab, T, B, micro = 64, 2, 4, 2, 97, 32, 2, 2
    table = 2  # large: the gradients and the 10 steps with nonzero margins
    c = Config(dim, n_layers, n_heads, n_kv, vocab, T, 0)
    torch.manual_seed(4321)
    model = ScoreModel(c)
    with torch.no_grad():
        for p in model.block_order():
            if p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
        model.score.weight.mul_(4)  # scores of order 1, so the margins matter
        for p in model.block_order():  # the values the C side sees are float32
            p.copy_(p.float().double())
    seqs, ratings = pairs_data(vocab)
    tokens = [torch.tensor(s) for s in seqs]

    def scores_of():
        return torch.stack([model(t) for t in tokens])

    def loss_of(s, tab):
        rc, rr = s[0::2], s[1::2]
        m = torch.tensor([MARGINS[tab][r] for r in ratings])
        return -torch.nn.functional.logsigmoid(rc - rr - m).mean()

    scores = scores_of()
    tables = [loss_of(scores, tab) for tab in range(3)]
    tables[table].backward()
    params = [p.detach().flatten().clone() for p in model.block_order()]
    grads = [p.grad.detach().flatten().clone() for p in model.block_order()]

    # 10 AdamW steps on the same pairs, as torch_llama.py: decay on matrices and the embedding
    # (score.weight too). The learning rate keeps the loss falling over the ten steps rather
    # than at once; the weight decay, ten times pretraining's, makes decaying score.weight or
    # not change the last losses by about 8e-4, past the C test's tolerance.
    peak, warmup, total, wd, clip = 1e-4, 3, 10, 1.0, 1.0
    losses = adamw_losses(model, lambda: loss_of(scores_of(), table), peak, warmup, total, wd, clip)

    arrays = [
        ("config", [dim, n_layers, n_heads, n_kv, vocab, T, c.hidden, B, micro, table]),
        ("seqlen", [len(s) for s in seqs]),
        ("seqs", [t for s in seqs for t in s]),
        ("ratings", ratings),
        ("params", torch.cat(params).tolist()),
        ("scores", scores.detach().tolist()),
        ("loss", [l.item() for l in tables]),
        ("grads", torch.cat(grads).tolist()),
        ("losses", losses),
        ("train", [peak, warmup, total, 0.1 * peak, wd, clip, 0.9, 0.95, 1e-5]),
    ]
    write_ref(out, arrays)


if __name__ == "__main__":
    main()
