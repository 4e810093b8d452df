"""What llama.cpp's own code makes of lm-convert's GGUF files (tests/ref/gguf.sh; not
named gguf.py, which would shadow the gguf package).

  gguf_ref.py tensors FILE.gguf CKPT.safetensors
      The gguf package (llama.cpp's Python reader) reads FILE: the llama keys
      agree with the checkpoint's config, and every tensor equals the
      checkpoint's (F16 ones equal its F32 weights rounded to F16), after
      undoing the Hugging Face RoPE permutation of q/k that safetensors holds.
  gguf_ref.py generate FILE.gguf TEXT PROMPT_IDS WANT_IDS
      llama.cpp (llama-cpp-python) encodes TEXT as lm-tokenize did
      (PROMPT_IDS, BOS first), then decodes greedily from it as many tokens
      as WANT_IDS (lm-sample's completion) holds; they must be the same ids.
"""
import json
import struct
import sys

import numpy as np


def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    meta = head.pop("__metadata__")
    cfg = json.loads(meta["lmkit_config"])
    out = {}
    for name, t in head.items():
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])
    return cfg, out


def hf_to_meta(w, heads):
    # Hugging Face rotates halves of each head, Meta (and llama.cpp) pairs
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_name(name):
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if name in top:
        return top[name]
    layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
             "mlp.down_proj": "ffn_down", "mlp.up_proj": "ffn_up"}
    _, _, n, rest = name.split(".", 3)
    return "blk.%s.%s.weight" % (n, layer[rest[: -len(".weight")]])


def tensors(path, ckpt):
    import gguf

    cfg, want = safetensors(ckpt)
    r = gguf.GGUFReader(path)
    fields = {k: f.contents() for k, f in r.fields.items()}
    hd = cfg["dim"] // cfg["n_heads"]
    expect = {
        "general.architecture": "llama", "llama.embedding_length": cfg["dim"],
        "llama.block_count": cfg["n_layers"], "llama.attention.head_count": cfg["n_heads"],
        "llama.attention.head_count_kv": cfg["n_kv_heads"], "llama.context_length": cfg["max_seq_len"],
        "llama.feed_forward_length": cfg["hidden_dim"], "llama.rope.dimension_count": hd,
        "tokenizer.ggml.model": "llama",
    }
    for k, v in expect.items():
        assert fields[k] == v, (k, fields[k], v)
    assert np.float32(fields["llama.rope.freq_base"]) == np.float32(cfg["rope_theta"])
    assert np.float32(fields["llama.attention.layer_norm_rms_epsilon"]) == np.float32(cfg["norm_eps"])
    assert len(fields["tokenizer.ggml.tokens"]) == cfg["vocab_size"]
    assert fields["tokenizer.ggml.tokens"][fields["tokenizer.ggml.bos_token_id"]] == "<s>"
    got = {t.name: t for t in r.tensors}
    assert len(got) == len(want), (sorted(got), sorted(want))
    kinds = set()
    for name, w in want.items():
        t = got[gguf_name(name)]
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            w = hf_to_meta(w, cfg["n_heads"] if "q_proj" in name else cfg["n_kv_heads"])
        assert list(t.shape) == list(reversed(w.shape)), (name, t.shape, w.shape)
        data = np.asarray(t.data).reshape(w.shape)
        if t.tensor_type == gguf.GGMLQuantizationType.F16:
            assert w.ndim == 2, name
            w = w.astype(np.float16)
        else:
            assert t.tensor_type == gguf.GGMLQuantizationType.F32, (name, t.tensor_type)
        assert data.dtype == w.dtype and np.array_equal(data, w), name
        kinds.add(t.tensor_type.name)
    print("gguf: %s: %d tensors (%s) equal to %s" % (path, len(want), "+".join(sorted(kinds)), ckpt))


def generate(path, text, prompt_path, want_path):
    from llama_cpp import Llama

    prompt = [int(x) for x in open(prompt_path).read().split()]
    want = [int(x) for x in open(want_path).read().split()]
    llm = Llama(model_path=path, n_ctx=len(prompt) + len(want) + 1, n_threads=2, verbose=False)
    ours = llm.tokenize(text.encode(), add_bos=True)
    assert ours == prompt, ("llama.cpp encodes the prompt as", ours, "lm-tokenize as", prompt)
    got = []
    for tok in llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        got.append(tok)
        if len(got) == len(want):
            break
    if got != want:
        n = next(i for i, (a, b) in enumerate(zip(got + [None] * len(want), want)) if a != b)
        sys.exit("gguf: %s: llama.cpp's greedy token %d is %s, lm-sample's %d\n  llama.cpp: %s\n  lm-sample: %s"
                 % (path, n, got[n] if n < len(got) else "missing", want[n], got, want))
    print("gguf: %s: llama.cpp's %d greedy tokens after %r equal lm-sample's" % (path, len(got), text))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "tensors":
        tensors(sys.argv[2], sys.argv[3])
    elif cmd == "generate":
        generate(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit(__doc__)
