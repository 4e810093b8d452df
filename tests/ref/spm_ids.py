"""Reference ids and decodings from Debian's python3-sentencepiece.

usage: spm_ids.py MODEL CORPUS IDS_OUT DECODED_OUT

CORPUS is read the way lm-tokenize reads plain text (gzip by magic, one
document per line, a final '\r' dropped); IDS_OUT gets one line of
space-separated ids per document (no BOS/EOS), DECODED_OUT the bytes
SentencePiece's DecodeIds gives back for those ids. Both are gzip-compressed."""
import gzip, sys
import sentencepiece as spm

model, corpus, ids_out, dec_out = sys.argv[1:5]
sp = spm.SentencePieceProcessor(model_file=model)
raw = open(corpus, "rb").read()
if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
lines = raw.split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
with gzip.GzipFile(ids_out, "wb", mtime=0) as fi, gzip.GzipFile(dec_out, "wb", mtime=0) as fd:
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        ids = sp.encode(line)
        fi.write(" ".join(map(str, ids)).encode() + b"\n")
        fd.write(sp.decode(ids).encode("utf-8", "surrogateescape") + b"\n")
