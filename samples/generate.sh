#!/bin/sh
# Regenerate lmkit's sample data from gen.c and src/:
#   sh samples/generate.sh [-s SEED] [OUTDIR]      (OUTDIR defaults to samples/)
# The generator is compiled here with cc; its output depends on the seed only,
# so the committed files are what this prints with the default seed (tests/samples.t).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seed=20230718
usage() { echo "usage: sh samples/generate.sh [-s SEED] [OUTDIR]" >&2; exit 2; }
while getopts s: o; do
	case $o in
	s) seed=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
case $seed in '' | *[!0-9]*) echo "generate.sh: seed must be a decimal number: $seed" >&2; exit 2 ;; esac
out=${1:-$here}
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-samples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -o "$tmp/gen" "$here/gen.c"
gzip -dc "$here/src/kjv.txt.gz" >"$tmp/kjv.txt"
gzip -dc "$here/src/devil.txt.gz" >"$tmp/devil.txt"
mkdir "$tmp/out"
"$tmp/gen" -s "$seed" "$tmp/out" "$tmp/kjv.txt" "$tmp/devil.txt"
gzip -9n "$tmp/out/corpus.jsonl" "$tmp/out/corpus-tiny.jsonl"
# every file whole before any replaces the old one
for f in "$tmp/out"/*; do cp "$f" "$out/.$(basename "$f").tmp"; done
for f in "$tmp/out"/*; do b=$(basename "$f"); mv "$out/.$b.tmp" "$out/$b"; done
