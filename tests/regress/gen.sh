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

# ---- token shards: header (docs/FORMATS.md), tokens (u16 up to vocab 65536), mask, u64 document starts
# shard FILE VOCAB FLAGS RESERVED28 LAST-RESERVED-BYTE NTOKENS NDOCS TOKENS... -- MASK... -- STARTS...
shard() {
	perl -e 'my ($f, $v, $fl, $r28, $r63, $nt, $nd, @rest) = @ARGV;
		my ($t, $m, $d) = map { [split " ", $_] } split /\s*--\s*/, join(" ", @rest), -1;
		open my $o, ">:raw", $f or die "$f: $!";
		my $w = $v <= 65536 ? 2 : 4;
		print $o "LMKSHARD", pack("V6 Q<2", 1, 64, $v, $w, $fl, $r28, $nt, $nd), "\0" x 15, chr($r63),
			pack($w == 2 ? "v*" : "V*", @$t), pack("C*", @$m), pack("Q<*", @$d);' "$@"
}
shard "$out/shard-vocab0.bin"           0 0 0 0 1 1 60000 -- -- 0
shard "$out/shard-vocab-2p31.bin"       2147483648 0 0 0 1 1 2147483647 -- -- 0
shard "$out/shard-token-past-vocab.bin" 16 0 0 0 1 1 16 -- -- 0
shard "$out/shard-reserved28.bin"       16 0 1 0 1 1 1 -- -- 0
shard "$out/shard-reserved63.bin"       16 0 0 1 1 1 1 -- -- 0
shard "$out/shard-docstart-past-end.bin" 16 0 0 0 0 1 -- -- 7
shard "$out/shard-mask-2.bin"           16 1 0 0 1 1 1 -- 2 -- 0

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
