#!/bin/sh
# lm-bpe's whole model against spm_train's with the same options (Llama 2's):
# every piece, score and type, in id order, on three public-domain texts of
# different kinds, and on texts made of runs of a few characters (the case
# where SentencePiece's way of counting a pair of identical symbols shows).
#   kjv     the King James Bible, a verse a line (samples/src/kjv.txt.gz, from
#           Debian's bible-kjv-text; see samples/README.md)
#   devil   Ambrose Bierce's The Devil's Dictionary, dictionary entries of
#           hard-wrapped prose (samples/src/devil.txt.gz, from Debian's dict-devil)
#   sqlite  C source: sqlite3.h from Debian's libsqlite3-dev, whose authors
#           disclaim copyright ("The author disclaims copyright to this source
#           code"); installed when missing, as root
# Each at 2000 pieces and a larger vocabulary. Fails on any difference. Late in
# training the order of equal-count pieces can differ (lib/text/bpetrain.h says
# why), so the larger sizes stay below that point. Nothing is written to the tree.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$ROOT/${LMKIT_BIN:-bin}:$PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-spm-bpe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ ! -r /usr/include/sqlite3.h ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null 2>&1
	else
		echo "spm_bpe: needs /usr/include/sqlite3.h: apt-get install libsqlite3-dev" >&2
		exit 1
	fi
fi
gzip -dc "$ROOT/samples/src/kjv.txt.gz" >"$tmp/kjv.txt"
gzip -dc "$ROOT/samples/src/devil.txt.gz" >"$tmp/devil.txt"
cp /usr/include/sqlite3.h "$tmp/sqlite.txt"
# runs: lines of words made of runs ("aaa..ccc", "**==="); seeds where counting
# every run greedily, as lm-bpe once did, gave another model
seeds="7 12 15 20 31 39"
/usr/bin/python3 - "$tmp" $seeds <<'PY'
import random, sys
for seed in map(int, sys.argv[2:]):
    alpha = ["aab..c", "ab.1", "xyz*=", "ab"][seed % 4]
    r = random.Random(seed)
    with open("%s/runs%d.txt" % (sys.argv[1], seed), "w") as f:
        for line in range(400):
            out = ""
            for k in range(1 + r.randrange(6)):
                out += " " * (2 + r.randrange(3) if r.randrange(4) == 0 else int(k > 0))
                for i in range(1 + r.randrange(4)):
                    out += r.choice(alpha) * (1 + r.randrange(6))
            f.write(out + "\n")
PY
fail=0
check() {   # check NAME VOCAB
	lm-bpe -p -n "$2" -o "$tmp/lm.model" "$tmp/$1.txt"
	spm_train --input="$tmp/$1.txt" --model_prefix="$tmp/spm" --vocab_size="$2" --model_type=bpe \
		--character_coverage=0.99995 --split_digits=true --byte_fallback=true \
		--allow_whitespace_only_pieces=true --normalization_rule_name=identity \
		--remove_extra_whitespaces=false --max_sentencepiece_length=16 \
		--max_sentence_length=4192 --num_threads=1 >"$tmp/spm.log" 2>&1
	/usr/bin/python3 "$ROOT/tests/ref/spm_bpe.py" "$tmp/spm.model" "$tmp/lm.model" "$1, vocab $2" || fail=1
}
check kjv 2000
check kjv 8000
check devil 2000
check devil 4000
check sqlite 2000
check sqlite 4000
for s in $seeds; do check runs$s 300; done
exit $fail
