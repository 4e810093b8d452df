"""transformers' LlamaTokenizer (legacy=False, split_special_tokens=True: text
that spells "<s>" is text) against lm-tokenize's ids, one line of text a line of
ids; lines that are not valid UTF-8 are left out (transformers takes str).
usage: hf_tok.py TOKENIZER.model CORPUS.txt IDS; exits 1 unless every line matches."""
import sys

from transformers import LlamaTokenizer, LlamaTokenizerFast

model, corpus, ids = sys.argv[1:4]
texts = open(corpus, "rb").read().split(b"\n")
if texts and texts[-1] == b"":
    texts.pop()
want = [[int(x) for x in line.split()] for line in open(ids)]
assert len(texts) == len(want), (len(texts), len(want))
pairs = []
for t, w in zip(texts, want):
    try:
        pairs.append((t.removesuffix(b"\r").decode("utf-8"), w))
    except UnicodeDecodeError:
        pass
slow = LlamaTokenizer(vocab_file=model, legacy=False, split_special_tokens=True)
fast = LlamaTokenizerFast(vocab_file=model, from_slow=True, legacy=False, add_prefix_space=True)
for name, tk in (("LlamaTokenizer", slow), ("LlamaTokenizerFast", fast)):
    bad = [i for i, (t, w) in enumerate(pairs) if tk(t)["input_ids"] != w]
    print(f"hf_tok: {name}: {len(pairs) - len(bad)} of {len(pairs)} lines give lm-tokenize's ids")
    if name == "LlamaTokenizer" and bad:
        t, w = pairs[bad[0]]
        print(f"hf_tok: first difference: {t[:60]!r}: {tk(t)['input_ids'][:12]} vs {w[:12]}")
        sys.exit(1)
