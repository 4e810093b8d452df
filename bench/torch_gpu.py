"""The PyTorch peer of bench/gpu.sh on one GPU: training and generation of a
Llama as lmkit's (bench/torch_train.py's model), written as a PyTorch 2.x
user would write it for a GPU.

Training: fp32 master weights under bf16 autocast, scaled_dot_product_attention
(causal, GQA through enable_gqa), fused AdamW (lr 3e-4, betas .9/.95, eps 1e-5,
weight decay 0.1 on matrices), gradient clipping at 1.0, random tokens; eager
and torch.compile. Step times come from CUDA events, so that no
synchronization between steps keeps the CPU from running ahead.

Generation: bf16 weights, a static KV cache, one decode step (embedding to
the next token: greedy, or Gumbel-max sampling at a temperature) captured in a
CUDA graph and replayed once per token; eager and torch.compile'd steps. The
graph holds the position and the tokens on the GPU, so the loop launches
nothing else. --checkpoint decodes an lmkit safetensors checkpoint instead of
random weights (for agreeing with lm-sample's greedy tokens; --gen-dtype fp32).

Prints JSON lines: one "setup" line (the card, the dense bf16 peak that MFU
is taken against, the parameter counts), one per training mode and one per
generation mode and batch. FLOPs per token as lmkit counts them
(lib/train/train.c): 6N + 12·L·dim·T, N the matmul parameters with the head.

--device cpu runs the same code on the CPU (no events, no graphs) for trying
it on tiny shapes: torch_gpu.py --device cpu --dim 64 --layers 2 --heads 4
--kv-heads 2 --vocab 512 --seq 64 -b 2
"""
import argparse
import contextlib
import gc
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from torch_train import Llama, adamw, hidden_dim

# Dense bf16 peaks in TFLOP/s (NVIDIA's datasheets, without sparsity), by a
# piece of torch.cuda.get_device_name(); the first match counts.
PEAKS = [("H100 PCIe", 756), ("H100 NVL", 835), ("H100", 989), ("H200", 989), ("GH200", 989),
         ("H800", 989), ("A100", 312), ("L40S", 362), ("A10G", 70)]


def peak_of(name):
    return next((p for k, p in PEAKS if k in name), None)


def matmul_params(dim, L, nh, nkv, vocab):
    """lib/model/params.c's params_matmul for an untied or tied LM head."""
    hd = dim // nh
    return L * (2 * dim * dim + 2 * dim * nkv * hd + 3 * dim * hidden_dim(dim)) + vocab * dim


class Clock:
    """Marks between steps: CUDA events on the GPU, wall time on the CPU."""

    def __init__(self, dev):
        self.cuda = dev.type == "cuda"
        self.marks = []

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def ms(self):
        """The intervals between marks, in ms (synchronizes)."""
        sync(self.cuda)
        m = self.marks
        if self.cuda:
            return [a.elapsed_time(b) for a, b in zip(m, m[1:])]
        return [1e3 * (b - a) for a, b in zip(m, m[1:])]


def sync(cuda):
    if cuda:
        torch.cuda.synchronize()


def mem_reset(dev):
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def mem_peak_gb(dev):
    return round(torch.cuda.max_memory_allocated() / 2**30, 3) if dev.type == "cuda" else None


def train(a, dev, mode, peak):
    mem_reset(dev)
    torch.manual_seed(1)
    model = Llama(a.dim, a.layers, a.heads, a.kv_heads, a.vocab, a.seq).to(dev)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = adamw(decay, other, 3e-4)
    run = torch.compile(model) if mode == "compile" else model
    gen = torch.Generator(dev).manual_seed(1)
    B, T = a.batch, a.seq

    def step():
        w = torch.randint(0, a.vocab, (B, T + 1), device=dev, generator=gen)
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            loss = run(w[:, :-1], w[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    t0 = time.perf_counter()
    for _ in range(a.warmup):
        step()
    sync(dev.type == "cuda")
    warm_s = time.perf_counter() - t0
    clock = Clock(dev)
    t0 = time.perf_counter()
    clock.mark()
    for _ in range(a.steps):
        loss = step()
        clock.mark()
    ms = clock.ms()
    wall = time.perf_counter() - t0
    fpt = 6 * matmul_params(a.dim, a.layers, a.heads, a.kv_heads, a.vocab) + 12 * a.layers * a.dim * T
    tps = B * T * a.steps / wall
    r = {"what": "train", "mode": mode, "batch": B, "seq": T, "steps": a.steps,
         "tokens_per_s": round(tps, 1), "step_ms": round(statistics.median(ms), 3),
         "flops_per_token": fpt, "tflops": round(tps * fpt / 1e12, 2),
         "mfu": round(tps * fpt / (peak * 1e12), 4) if peak else None,
         "peak_mem_gb": mem_peak_gb(dev), "warmup_s": round(warm_s, 1), "loss": round(loss.item(), 4)}
    del model, opt, run
    return r


def load_checkpoint(path, dev, dtype):
    """An lmkit safetensors checkpoint (F32, Hugging Face names and RoPE
    layout, read by bench/torch_sample.py) as a Llama of torch_train.py, whose
    RoPE pairs are interleaved as lmkit's: wq and wk rows go back from the
    half-split order (lib/model/params.c, params_permute_rope)."""
    from torch_sample import load
    c, w = load(path)
    dim, L, nh, nkv = c["dim"], c["n_layers"], c["n_heads"], c["n_kv_heads"]
    if c["hidden_dim"] != hidden_dim(dim) or c["rope_theta"] != 10000 or abs(c["norm_eps"] - 1e-5) > 1e-9:
        sys.exit(f"torch_gpu.py: {path}: hidden_dim, rope_theta or norm_eps not torch_train.py's")
    m = Llama(dim, L, nh, nkv, c["vocab_size"], 1)
    hd = dim // nh

    def unrope(t, heads):
        return t.view(heads, 2, hd // 2, dim).transpose(1, 2).reshape(heads * hd, dim)

    sd = {"emb.weight": w["model.embed_tokens.weight"], "norm": w["model.norm.weight"],
          "out.weight": w["lm_head.weight"]}
    for l in range(L):
        p = f"model.layers.{l}."
        sd[f"layers.{l}.wq.weight"] = unrope(w[p + "self_attn.q_proj.weight"], nh)
        sd[f"layers.{l}.wk.weight"] = unrope(w[p + "self_attn.k_proj.weight"], nkv)
        for ours, theirs in [("wv", "self_attn.v_proj"), ("wo", "self_attn.o_proj"), ("w1", "mlp.gate_proj"),
                             ("w2", "mlp.down_proj"), ("w3", "mlp.up_proj")]:
            sd[f"layers.{l}.{ours}.weight"] = w[p + theirs + ".weight"]
        sd[f"layers.{l}.n1"] = w[p + "input_layernorm.weight"]
        sd[f"layers.{l}.n2"] = w[p + "post_attention_layernorm.weight"]
    m.load_state_dict(sd, strict=False)  # the RoPE tables are buffers the decoder does not use
    return m.to(dev, dtype)


class Decoder:
    """B sequences decoded together from a static KV cache of n positions.
    step() reads the tokens at position pos, writes the next ones and moves
    pos on: all its state lives in tensors, so one capture replays it."""

    def __init__(self, m, B, n, temperature, dev):
        self.m, self.B, self.temp = m, B, temperature
        self.nh, self.nkv, self.hd = m.nh, m.nkv, m.hd
        dt = m.emb.weight.dtype
        # a tensor a layer: where the step updates a view of a larger tensor,
        # torch.compile's code copies all of it in and out (seen in its output code)
        self.k = [torch.zeros(B, m.nkv, n, m.hd, device=dev, dtype=dt) for _ in m.layers]
        self.v = [torch.zeros_like(k) for k in self.k]
        self.tok = torch.ones(B, dtype=torch.long, device=dev)  # the prompt: BOS
        self.pos = torch.zeros(1, dtype=torch.long, device=dev)
        self.out = torch.zeros(B, n, dtype=torch.long, device=dev)
        self.idx = torch.arange(n, device=dev)
        inv = 1.0 / (10000.0 ** (torch.arange(0, m.hd, 2, device=dev).float() / m.hd))
        ang = torch.outer(torch.arange(n, device=dev).float(), inv)
        self.cos, self.sin = ang.cos().to(dt), ang.sin().to(dt)

    def reset(self):
        self.tok.fill_(1)
        self.pos.zero_()

    @staticmethod
    def rope(x, cos, sin):  # x (B, heads, hd), interleaved pairs as lmkit's
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * cos - b * sin, a * sin + b * cos), -1).flatten(-2)

    def step(self):
        m, B, nh, nkv, hd = self.m, self.B, self.nh, self.nkv, self.hd
        cos, sin = self.cos.index_select(0, self.pos), self.sin.index_select(0, self.pos)
        # the cache's later positions are stale or zero: masked out
        bias = torch.where(self.idx <= self.pos, 0.0, float("-inf"))
        x = m.emb(self.tok)
        for l, lay in enumerate(m.layers):
            h = m.rms(x, lay.n1)
            q = self.rope(lay.wq(h).view(B, nh, hd), cos, sin)
            self.k[l].index_copy_(2, self.pos, self.rope(lay.wk(h).view(B, nkv, hd), cos, sin)[:, :, None])
            self.v[l].index_copy_(2, self.pos, lay.wv(h).view(B, nkv, 1, hd))
            # GQA without copies: each KV head's queries as rows of one product
            s = q.view(B, nkv, nh // nkv, hd) @ self.k[l].transpose(2, 3) * hd ** -0.5
            p = (s.float() + bias).softmax(-1).to(s.dtype)
            x = x + lay.wo((p @ self.v[l]).view(B, nh * hd))
            h = m.rms(x, lay.n2)
            x = x + lay.w2(F.silu(lay.w1(h)) * lay.w3(h))
        logits = m.out(m.rms(x, m.norm)).float()
        if self.temp > 0:  # Gumbel-max: a draw from softmax(logits / temp), no host sync
            logits = logits / self.temp - torch.empty_like(logits).exponential_().log()
        nxt = logits.argmax(-1)
        self.out.index_copy_(1, self.pos, nxt[:, None])
        self.tok.copy_(nxt)
        self.pos.add_(1)


def generate(a, dev, m, B, mode):
    mem_reset(dev)
    cuda = dev.type == "cuda"
    d = Decoder(m, B, a.gen_tokens, a.temperature, dev)
    step = torch.compile(d.step) if mode == "compile" else d.step
    t0 = time.perf_counter()
    with torch.inference_mode():
        # warm-up (and compile) on a side stream, as capture wants
        s = torch.cuda.Stream() if cuda else None
        if cuda:
            s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s) if cuda else contextlib.nullcontext():
            for _ in range(3):
                step()
        if cuda:
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                step()
            step = g.replay
        sync(cuda)
        warm_s = time.perf_counter() - t0
        runs = []
        for _ in range(1 + a.gen_runs):  # the first warms the graph
            d.reset()
            sync(cuda)
            t = time.perf_counter()
            for _ in range(a.gen_tokens):
                step()
            sync(cuda)
            runs.append(time.perf_counter() - t)
    dt = statistics.median(runs[1:])
    r = {"what": "gen", "mode": mode + ("+graph" if cuda else ""), "batch": B, "new_tokens": a.gen_tokens,
         "tokens_per_s": round(B * a.gen_tokens / dt, 1), "step_ms": round(1e3 * dt / a.gen_tokens, 4),
         "peak_mem_gb": mem_peak_gb(dev), "warmup_s": round(warm_s, 1), "first": d.out[0, :16].tolist()}
    del d, step
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("-b", "--batch", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=5, help="untimed training steps (compiling happens here)")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--train", default="eager,compile", help="training modes, '' for none")
    ap.add_argument("--gen", default="eager,compile", help="generation modes (steps under a CUDA graph), '' for none")
    ap.add_argument("--gen-batch", default="1,64")
    ap.add_argument("--gen-tokens", type=int, default=200)
    ap.add_argument("--gen-runs", type=int, default=3, help="timed runs per batch (median)")
    ap.add_argument("--gen-dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--temperature", type=float, default=1.0, help="0: greedy")
    ap.add_argument("--checkpoint", help="an lmkit safetensors checkpoint to decode (its shape is trained too)")
    ap.add_argument("--peak", type=float, help="the card's dense bf16 TFLOP/s, when its name is not known")
    a = ap.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    dt = torch.bfloat16 if a.gen_dtype == "bf16" else torch.float32
    m = None
    if a.checkpoint:
        m = load_checkpoint(a.checkpoint, dev, dt)
        a.dim, a.layers, a.heads, a.kv_heads = m.emb.weight.shape[1], len(m.layers), m.nh, m.nkv
        a.vocab = m.emb.weight.shape[0]
    torch.set_float32_matmul_precision("high")
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    peak = a.peak or (peak_of(name) if cuda else None)
    N = matmul_params(a.dim, a.layers, a.heads, a.kv_heads, a.vocab)
    print(json.dumps({"what": "setup", "device": name, "torch": torch.__version__, "peak_tflops": peak,
                      "dim": a.dim, "layers": a.layers, "heads": a.heads, "kv_heads": a.kv_heads,
                      "vocab": a.vocab, "hidden_dim": hidden_dim(a.dim), "matmul_params": N}), flush=True)
    failed = 0
    for mode in filter(None, a.train.split(",")):
        try:
            r = train(a, dev, mode, peak)
        except Exception as e:  # the other modes still run
            r, failed = {"what": "train", "mode": mode, "error": repr(e)[:500]}, 1
        print(json.dumps(r), flush=True)
    modes = list(filter(None, a.gen.split(",")))
    if modes:
        if m is None:
            torch.manual_seed(1)
            m = Llama(a.dim, a.layers, a.heads, a.kv_heads, a.vocab, 1).to(dev, dt)
        m.eval()
        for B in map(int, a.gen_batch.split(",")):
            for mode in modes:
                try:
                    r = generate(a, dev, m, B, mode)
                except Exception as e:
                    r, failed = {"what": "gen", "mode": mode, "batch": B, "error": repr(e)[:500]}, 1
                print(json.dumps(r), flush=True)
    sys.exit(failed)


if __name__ == "__main__":
    main()
