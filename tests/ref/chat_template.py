"""Reference rendering of Llama 2's chat template, independent of lmkit's C code.

Renders every dialogue of tests/data/chat_dialogues.jsonl the way Meta's
chat_completion (meta-llama/llama, llama/generation.py) builds its prompt tokens,
with SentencePiece's own encoder, and writes one JSON object per dialogue:
  ids        the token ids
  mask       1 on each answer's tokens and its EOS (from SentencePiece's
             character offsets: a token is an answer token when it begins at or after the
             end of the turn's "[INST] ... [/INST]" text), 0 elsewhere
  mask_last  the same with every answer but the last one masked out
Usage: chat_template.py TOKENIZER.model DIALOGUES.jsonl OUT.jsonl
"""
import json
import sys

import sentencepiece as spm

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


def render(sp, msgs):
    if msgs[0]["role"] == "system":
        msgs = [{"role": msgs[1]["role"],
                 "content": B_SYS + msgs[0]["content"] + E_SYS + msgs[1]["content"]}] + msgs[2:]
    assert all(m["role"] == "user" for m in msgs[::2])
    assert all(m["role"] == "assistant" for m in msgs[1::2])
    ids, mask, last_turn = [], [], 0
    for q, a in zip(msgs[::2], msgs[1::2]):
        prompt = f"{B_INST} {q['content'].strip()} {E_INST}"
        text = f"{prompt} {a['content'].strip()} "
        pieces = sp.encode(text, out_type="immutable_proto").pieces
        last_turn = len(ids)
        ids += [sp.bos_id()] + [p.id for p in pieces] + [sp.eos_id()]
        # the Python module's offsets count characters of the text
        cut = len(prompt)
        mask += [0] + [int(p.begin >= cut) for p in pieces] + [1]
    if len(msgs) % 2:
        ids += [sp.bos_id()] + sp.encode(f"{B_INST} {msgs[-1]['content'].strip()} {E_INST}")
        mask += [0] * (len(ids) - len(mask))
    mask_last = [m if i >= last_turn else 0 for i, m in enumerate(mask)]
    return ids, mask, mask_last


def main():
    sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f, open(sys.argv[3], "w") as out:
        for line in f:
            ids, mask, mask_last = render(sp, json.loads(line)["messages"])
            out.write(json.dumps({"ids": ids, "mask": mask, "mask_last": mask_last}) + "\n")


if __name__ == "__main__":
    main()
