"""Hugging Face tokenizers on the same SentencePiece BPE model, for bench/tokenize.sh.

usage: hf_tokenize.py MODEL INPUT THREADS  (set RAYON_NUM_THREADS=THREADS too)
Prints "SECONDS MATCHING_LINES TOTAL_LINES": the time of encode_batch over the
lines of INPUT, and how many lines give the ids of lm-tokenize's output in
INPUT.lmkit (when present). The model is converted the way transformers'
LlamaConverter does it: vocabulary and merges from the .model's pieces."""
import struct, sys, time
from tokenizers import Tokenizer, models, normalizers, decoders

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i

def pieces(path):
    # ModelProto field 1 (pieces): piece (1, string), score (2, float), type (3, enum)
    b = open(path, "rb").read()
    i, out = 0, []
    while i < len(b):
        tag, i = varint(b, i)
        if tag & 7 == 2:
            n, i = varint(b, i)
            if tag >> 3 == 1:
                sub, j, p, sc, ty = b[i:i + n], 0, "", 0.0, 1
                while j < len(sub):
                    t, j = varint(sub, j)
                    if t == 0x0A:
                        m, j = varint(sub, j); p = sub[j:j + m].decode(); j += m
                    elif t == 0x15:
                        sc = struct.unpack("<f", sub[j:j + 4])[0]; j += 4
                    elif t == 0x18:
                        ty, j = varint(sub, j)
                out.append((p, sc, ty))
            i += n
        elif tag & 7 == 0:
            _, i = varint(b, i)
        elif tag & 7 == 5:
            i += 4
        else:
            i += 8
    return out

model, inp, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
ps = pieces(model)
vocab = {p: i for i, (p, _, _) in enumerate(ps)}
merges = []
for p, sc, ty in ps:
    if ty != 1:
        continue
    local = [(p[:k], p[k:], sc) for k in range(1, len(p)) if p[:k] in vocab and p[k:] in vocab]
    merges += sorted(local, key=lambda x: (vocab[x[0]], vocab[x[1]]))
merges.sort(key=lambda x: -x[2])
tok = Tokenizer(models.BPE(vocab, [(a, b) for a, b, _ in merges], unk_token="<unk>", fuse_unk=True, byte_fallback=True))
tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
lines = open(inp, encoding="utf-8", errors="replace").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
t0 = time.time()
enc = tok.encode_batch(lines, add_special_tokens=False)
dt = time.time() - t0
match = 0
try:
    ref = open(inp + ".lmkit").read().split("\n")
    match = sum(1 for e, r in zip(enc, ref) if " ".join(map(str, e.ids)) == r)
except OSError:
    pass
print(f"{dt:.3f} {match} {len(lines)}")
