#!/usr/bin/perl
# A GGUF (version 3) reader written from ggml's docs/gguf.md alone, to check
# what lm-convert writes without lmkit's code. Prints the version, every key
# (an array as one line "KEY<TAB>TYPE[]<TAB>N", then "KEY[i]<TAB>VALUE" each),
# and "tensor NAME TYPE DIMS OFFSET" for each tensor (DIMS innermost first).
# With --data OUT, writes all tensors' values in file order to OUT as
# little-endian F32 (F16 widened). Dies on anything the spec forbids: bad
# magic or version, a duplicate key or tensor, an unknown type, a misaligned
# offset, overlapping tensors, data past the end of the file.
use strict;
use warnings;

my $out;
if (@ARGV && $ARGV[0] eq '--data') { shift; $out = shift; }
my $path = shift or die "usage: gguf_read.pl [--data OUT] FILE\n";
open my $fh, '<:raw', $path or die "$path: $!\n";
my $buf = do { local $/; <$fh> };
my $pos = 0;

sub take {
	my ($n) = @_;
	die "$path: truncated at $pos\n" if $pos + $n > length $buf;
	my $s = substr $buf, $pos, $n;
	$pos += $n;
	return $s;
}
sub u32 { unpack 'V', take(4) }
sub u64 { unpack 'Q<', take(8) }
sub str { my $n = u64(); die "$path: string of $n bytes\n" if $n > 1 << 20; take($n) }

my @TYPES = qw(u8 i8 u16 i16 u32 i32 f32 bool str array u64 i64 f64);
my %SCALAR = (
	u8 => [1, 'C'], i8 => [1, 'c'], u16 => [2, 'v'], i16 => [2, 's<'], u32 => [4, 'V'], i32 => [4, 'l<'],
	f32 => [4, 'f<'], bool => [1, 'C'], u64 => [8, 'Q<'], i64 => [8, 'q<'], f64 => [8, 'd<'],
);
sub type_name {
	my ($t) = @_;
	die "$path: unknown value type $t\n" unless defined $TYPES[$t];
	return $TYPES[$t];
}
sub value {
	my ($t) = @_;
	return str() if $t eq 'str';
	my ($n, $fmt) = @{$SCALAR{$t}};
	my $v = unpack $fmt, take($n);
	die "$path: bool $v\n" if $t eq 'bool' && $v > 1;
	return $t eq 'f32' || $t eq 'f64' ? sprintf('%.9g', $v) : $v;
}

die "$path: not GGUF\n" unless take(4) eq 'GGUF';
my $version = u32();
die "$path: version $version, not 3\n" unless $version == 3;
print "version $version\n";
my $n_tensors = u64();
my $n_kv = u64();
my (%seen, $alignment);
$alignment = 32;
for (1 .. $n_kv) {
	my $key = str();
	die "$path: key $key twice\n" if $seen{$key}++;
	my $t = type_name(u32());
	if ($t eq 'array') {
		my $et = type_name(u32());
		die "$path: nested array\n" if $et eq 'array';
		my $n = u64();
		print "$key\t${et}[]\t$n\n";
		print "$key\[$_]\t", value($et), "\n" for 0 .. $n - 1;
	} else {
		my $v = value($t);
		print "$key\t$t\t$v\n";
		if ($key eq 'general.alignment') {
			die "$path: general.alignment is $t, not u32\n" unless $t eq 'u32';
			die "$path: alignment $v\n" unless $v && $v % 8 == 0;
			$alignment = $v;
		}
	}
}

my @tensors;
my %GGML = (0 => ['F32', 4], 1 => ['F16', 2]);
for (1 .. $n_tensors) {
	my $name = str();
	die "$path: tensor name of more than 64 bytes\n" if length $name > 64;
	die "$path: tensor $name twice\n" if $seen{"tensor $name"}++;
	my $nd = u32();
	die "$path: $name: $nd dimensions\n" unless $nd >= 1 && $nd <= 4;
	my @dims = map { u64() } 1 .. $nd;
	my $type = u32();
	die "$path: $name: ggml type $type (only F32 and F16 expected)\n" unless $GGML{$type};
	my $off = u64();
	die "$path: $name: offset $off not a multiple of $alignment\n" if $off % $alignment;
	my $count = 1;
	$count *= $_ for @dims;
	push @tensors, {name => $name, type => $GGML{$type}[0], dims => \@dims, off => $off,
		bytes => $count * $GGML{$type}[1], count => $count};
	printf "tensor %s %s %s %d\n", $name, $GGML{$type}[0], join(',', @dims), $off;
}
my $start = $pos + ($alignment - $pos % $alignment) % $alignment;
die "$path: padding before the data is not zeros\n" if substr($buf, $pos, $start - $pos) =~ /[^\0]/;
print "data_start $start\n";

my $end = 0;
for my $t (sort { $a->{off} <=> $b->{off} } @tensors) {
	die "$path: $t->{name} overlaps the tensor before it\n" if $t->{off} < $end;
	$end = $t->{off} + $t->{bytes};
	die "$path: $t->{name} ends past the end of the file\n" if $start + $end > length $buf;
}

sub half {
	my ($h) = @_;
	my ($s, $e, $f) = ($h >> 15, ($h >> 10) & 31, $h & 1023);
	my $v = $e == 0 ? $f * 2**-24 : $e == 31 ? ($f ? 'nan' : 'inf') : (1 + $f / 1024) * 2**($e - 15);
	return $s ? -$v : $v;
}
if (defined $out) {
	open my $o, '>:raw', $out or die "$out: $!\n";
	for my $t (@tensors) {
		my $raw = substr $buf, $start + $t->{off}, $t->{bytes};
		print $o $t->{type} eq 'F32' ? $raw : pack('f<*', map { half($_) } unpack('v*', $raw));
	}
	close $o or die "$out: $!\n";
}
