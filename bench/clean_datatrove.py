"""datatrove's equivalent of lm-clean's quality rules, timed: GopherRepetitionFilter,
GopherQualityFilter, C4QualityFilter (then FineWebQualityFilter with --fineweb) on
each document of a JSONL file, in that order, one process. Reading and JSON parsing
are included; writing is not. Prints "docs kept MB seconds MB/s".

usage: python3 clean_datatrove.py [--fineweb] CORPUS.jsonl
"""
import json
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)

args = sys.argv[1:]
filters = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter()]
if args[0] == "--fineweb":
    filters.append(FineWebQualityFilter())
    args = args[1:]
# warm up spaCy outside the timing
Document(text="warm up.", id="0")
filters[1].filter(Document(text="warm up the tokenizer.", id="0"))
t0 = time.time()
docs = kept = nbytes = 0
with open(args[0], "rb") as f:
    for line in f:
        nbytes += len(line)
        doc = Document(text=json.loads(line)["text"], id=str(docs))
        docs += 1
        for flt in filters:
            r = flt.filter(doc)
            if r is not True:
                break
        else:
            kept += 1
dt = time.time() - t0
print(f"{docs} {kept} {nbytes / 1e6:.1f} {dt:.2f} {nbytes / 1e6 / dt:.2f}")
