#!/usr/bin/perl
# hf_write.pl: an lmkit checkpoint's tensors written as Hugging Face's
# save_pretrained writes them (safetensors without lmkit's metadata, tensors
# sorted by name; one file or shards with model.safetensors.index.json), for
# tests/hf.t without Python. BF16 is the top 16 bits of each F32, F16 the F32
# cut to 10 mantissa bits (subnormals below 2^-14).
#   hf_write.pl [-t bf16|f16] [-shards N] [-nan TENSOR] [-extra TENSOR] IN.st DIR
#   hf_write.pl -round bf16|f16 IN.st OUT.st   the lmkit checkpoint with its weights cut so
use strict;
use warnings;
use JSON::PP;

my ($to, $shards, $nan, $round, @extra) = ('', 0, '', '');
while (@ARGV && $ARGV[0] =~ /^-/) {
	my $o = shift;
	if ($o eq '-t') { $to = shift }
	elsif ($o eq '-round') { $round = shift }
	elsif ($o eq '-shards') { $shards = shift }
	elsif ($o eq '-nan') { $nan = shift }
	elsif ($o eq '-extra') { push @extra, shift }
	else { die "hf_write.pl: unknown option $o\n" }
}
@ARGV == 2 or die "usage: hf_write.pl [-t bf16|f16] [-shards N] [-nan T] [-extra T] IN.st DIR | -round bf16|f16 IN.st OUT.st\n";
my ($in, $out) = @ARGV;

open my $fh, '<:raw', $in or die "$in: $!\n";
my $all = do { local $/; <$fh> };
close $fh;
my $hl = unpack 'Q<', substr($all, 0, 8);
my $data = substr($all, 8 + $hl);

# F32 bits to F16 bits, and F16 bits to the F32 value they hold (exact)
sub f16 {
	my $b = shift;
	my ($s, $e, $m) = ($b >> 16 & 0x8000, $b >> 23 & 0xff, $b & 0x7fffff);
	return $s | ($e - 112) << 10 | $m >> 13 if $e >= 113;
	return $e < 100 ? $s : $s | ($m | 0x800000) >> (126 - $e);
}
sub f16_f32 {
	my $h = shift;
	my $s = ($h & 0x8000) << 16;
	return $s | ((($h >> 10) & 31) + 112) << 23 | ($h & 0x3ff) << 13 if $h & 0x7c00;
	return unpack 'V', pack 'f<', ($s ? -1 : 1) * ($h & 0x3ff) * 2**-24;
}
sub cut {
	my ($how, @v) = @_;
	return map { $_ & 0xffff0000 } @v if $how eq 'bf16';
	return map { f16_f32(f16($_)) } @v;
}

if ($round) {
	open my $o, '>:raw', $out or die "$out: $!\n";
	print $o substr($all, 0, 8 + $hl), pack 'V*', cut($round, unpack 'V*', $data);
	close $o;
	exit 0;
}

my $h = decode_json(substr($all, 8, $hl));
delete $h->{__metadata__};
my %bytes;
for my $name (keys %$h) {
	my ($b, $e) = @{$h->{$name}{data_offsets}};
	my $d = substr($data, $b, $e - $b);
	if ($to eq 'bf16') { $d = pack 'v*', map { $_ >> 16 } unpack 'V*', $d }
	if ($to eq 'f16') { $d = pack 'v*', map { f16($_) } unpack 'V*', $d }
	$h->{$name}{dtype} = uc $to if $to;
	if ($name eq $nan) { substr($d, 0, $to ? 2 : 4) = $to ? pack("v", $to eq "bf16" ? 0x7fc0 : 0x7e00) : pack('V', 0x7fc00000) }
	$bytes{$name} = $d;
}
for my $name (@extra) {
	$h->{$name} = {dtype => 'F32', shape => [2]};
	$bytes{$name} = pack 'f<2', 1, 2;
}

sub write_st {
	my ($path, @names) = @_;
	my %hdr = (__metadata__ => {format => 'pt'});
	my ($off, $blob) = (0, '');
	for my $n (@names) {
		my $d = $bytes{$n};
		$hdr{$n} = {dtype => $h->{$n}{dtype}, shape => $h->{$n}{shape}, data_offsets => [$off, $off + length $d]};
		$off += length $d;
		$blob .= $d;
	}
	my $j = JSON::PP->new->canonical->encode(\%hdr);
	$j .= ' ' while (8 + length $j) % 8;
	open my $o, '>:raw', $path or die "$path: $!\n";
	print $o pack('Q<', length $j), $j, $blob;
	close $o;
}

mkdir $out;
my @names = sort keys %$h;
if (!$shards) {
	write_st("$out/model.safetensors", @names);
	exit 0;
}
my (%map, $total);
my $per = int((@names + $shards - 1) / $shards);
for my $s (1 .. $shards) {
	my @part = splice @names, 0, $per;
	my $file = sprintf 'model-%05d-of-%05d.safetensors', $s, $shards;
	$map{$_} = $file for @part;
	$total += length $bytes{$_} for @part;
	write_st("$out/$file", @part);
}
open my $o, '>', "$out/model.safetensors.index.json" or die "$out: $!\n";
print $o JSON::PP->new->canonical->pretty->encode({metadata => {total_size => $total}, weight_map => \%map});
close $o;
