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

# ---- SentencePiece .model: protobuf by hand. Pieces <unk> <s> </s> a b, then a
# trainer_spec holding model_type BPE and whatever else a case sets.
spm() {
	perl -e '
		sub vi { my $v = shift; my $o = ""; do { my $b = $v & 0x7f; $v >>= 7; $o .= chr($b | ($v ? 0x80 : 0)) } while ($v); $o }
		sub fb { my ($n, $s) = @_; vi($n << 3 | 2) . vi(length $s) . $s }
		sub fv { my ($n, $v) = @_; vi($n << 3) . vi($v) }
		my ($f, $trainer, @p) = @ARGV;
		my $m = "";
		while (@p) {   # piece, score as u32 bits, type
			my ($s, $bits, $type) = splice @p, 0, 3;
			$s =~ s/\\x([0-9a-f]{2})/chr hex $1/ge;
			$m .= fb(1, fb(1, $s) . vi(2 << 3 | 5) . pack("V", hex $bits) . fv(3, $type));
		}
		my $t = fv(3, 2);
		for (split /,/, $trainer) { my ($n, $v) = split /=/; $t .= fv($n, $v) }
		open my $o, ">:raw", $f or die "$f: $!";
		print $o $m, fb(2, $t);' "$@"
}
base='<unk> 0 2 <s> 0 3 </s> 0 3 a 0 1'
spm "$out/spm-bos-id-past-vocab.model" 41=5 $base b 0 1
spm "$out/spm-eos-id-past-vocab.model" 42=5 $base b 0 1
spm "$out/spm-duplicate-piece.model" '' $base a bf800000 1
spm "$out/spm-nan-score.model" '' $base b 7fc00000 1
spm "$out/spm-invalid-utf8-piece.model" '' $base '\xc3\x28' 0 1
spm "$out/spm-two-unknown-pieces.model" '' $base '<unk2>' 0 2

# ---- llama2.c tokenizer.bin: <unk>, BOS, EOS, the 256 byte pieces, then the case's pieces
tokbin() {
	perl -e 'my ($f, @p) = @ARGV;
		my @t = ("<unk>", "\n<s>\n", "\n</s>\n", map(sprintf("<0x%02X>", $_), 0 .. 255));
		my @s = (0) x @t;
		while (@p) { my ($s, $bits) = splice @p, 0, 2; $s =~ s/\\x([0-9a-f]{2})/chr hex $1/ge;
			push @t, $s; push @s, hex $bits }
		open my $o, ">:raw", $f or die "$f: $!";
		print $o pack("V", 16);
		print $o pack("V V", $s[$_], length $t[$_]), $t[$_] for 0 .. $#t;' "$@"
}
tokbin "$out/tokbin-duplicate-piece.bin" ab 0 ab bf800000
tokbin "$out/tokbin-nan-score.bin" ab 7fc00000
tokbin "$out/tokbin-invalid-utf8-piece.bin" ab 0 '\xff' 0

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
