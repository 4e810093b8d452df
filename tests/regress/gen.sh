#!/bin/sh
# gen.sh DIR: write the hand-made regression inputs of tests/regress/ into DIR.
# The committed files are its output (tests/regress.t checks that they still
# are); inputs found by fuzzing are committed as they were found, not made here.
# The sig and clusters files are made by the lm-dedup on PATH, then damaged.
set -eu
out=$(cd "${1:?usage: gen.sh DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-regress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# patch FILE OFFSET PERL-PACK-ARGS: overwrite bytes of FILE at OFFSET
patch() {
	perl -e 'open my $f, "+<:raw", $ARGV[0] or die "$ARGV[0]: $!"; seek $f, $ARGV[1], 0;
		print $f pack($ARGV[2], @ARGV[3 .. $#ARGV]);' "$@"
}

# ---- lm-dedup sig and clusters files: two copies of one document, ids "a" and "b"
printf '{"id":"a","text":"one text twice"}\n{"id":"b","text":"one text twice"}\n' > docs.jsonl
lm-dedup sig -o dd.sig docs.jsonl
lm-dedup clusters -o dd.clu dd.sig
# record 0 starts at 32: u64 key, tie, exact, id offset (56), u32 id length (64), flags (68)
cp dd.sig "$out/dedup-sig-idlen-2p31.sig"; patch "$out/dedup-sig-idlen-2p31.sig" 64 V 2147483648
cp dd.sig "$out/dedup-sig-idoff-past-ids.sig"; patch "$out/dedup-sig-idoff-past-ids.sig" 56 Q'<' 2
cp dd.sig "$out/dedup-sig-record-flags.sig"; patch "$out/dedup-sig-record-flags.sig" 68 V 7
cp dd.sig "$out/dedup-sig-reserved.sig"; patch "$out/dedup-sig-reserved.sig" 28 V 1
# the one dropped document's u64 index comes first: 2 is past the shard's 2 documents
cp dd.clu "$out/dedup-clu-drop-past-end.clu"; patch "$out/dedup-clu-drop-past-end.clu" 0 Q'<' 2

# ---- gzip: a stored block of "1 2\n" (readable as plain text and as id lines)
gz() {
	perl -MCompress::Zlib -e 'my ($f, $how) = @ARGV; my $d = "1 2\n";
		my $z = "\x1f\x8b\x08\0\0\0\0\0\0\x03" . pack("C v v", 1, length $d, ~length($d) & 0xffff) . $d
			. pack("V V", crc32($d), length $d);
		substr($z, 2, 1) = "\x07" if $how eq "method";
		substr($z, -8, 1) ^= "\x01" if $how eq "crc";
		$z = substr($z, 0, length($z) - 8) if $how eq "cut";
		open my $o, ">:raw", $f or die "$f: $!"; print $o $z;' "$@"
}
gz "$out/gz-unknown-method.txt.gz" method
gz "$out/gz-bad-crc.txt.gz" crc
gz "$out/gz-truncated.txt.gz" cut

# ---- JSONL documents and models: one case each, so that their commands are run
printf '{"text":1}\n' > "$out/jsonl-text-not-a-string.jsonl"
# safetensors: a 10-byte header that is JSON but holds no lmkit_config
printf '\012\0\0\0\0\0\0\0{"a":1}   ' > "$out/ckpt-no-config.st"
# llama2.c version 1: magic, version, then the file ends inside the 256-byte header
printf '24ka\001\0\0\0\100\0\0\0' > "$out/llama2c-v1-cut-header.bin"
