"""Decisions of datatrove's filters on a JSONL corpus, one filter at a time.

usage: python3 datatrove_clean.py CORPUS.jsonl OUTDIR
Writes OUTDIR/FILTER.tsv for FILTER in gopher-repetition, gopher-quality, c4,
fineweb: one line per document, "LINE<TAB>kept" or "LINE<TAB>dropped<TAB>reason",
and for c4 OUTDIR/c4.texts.jsonl with the rewritten text of kept documents.
Needs the PATH python3 with datatrove and spacy (pip install datatrove spacy).
"""
import json
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)

corpus, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
filters = {
    "gopher-repetition": GopherRepetitionFilter(),
    "gopher-quality": GopherQualityFilter(),
    "c4": C4QualityFilter(),
    "fineweb": FineWebQualityFilter(),
}
outs = {k: open(os.path.join(outdir, k + ".tsv"), "w") for k in filters}
c4texts = open(os.path.join(outdir, "c4.texts.jsonl"), "w")
with open(corpus, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        text = json.loads(line)["text"]
        for name, flt in filters.items():
            doc = Document(text=text, id=str(lineno))
            try:
                res = flt.filter(doc)
            except ZeroDivisionError:
                res = (False, "ZeroDivisionError")
            if res is True:
                outs[name].write(f"{lineno}\tkept\n")
                if name == "c4":
                    c4texts.write(json.dumps({"line": lineno, "text": doc.text}) + "\n")
            else:
                outs[name].write(f"{lineno}\tdropped\t{res[1]}\n")
