#!/usr/bin/perl
# The largest relative difference, over the tensors of two safetensors files
# of F32 tensors with the same names and shapes, of |a - b| / |a| (L2 norms
# of each whole tensor; |a - b| alone where |a| is 0). Prints it as %.3g.
use strict;
use warnings;
use JSON::PP;

sub tensors {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!\n";
	my $buf = do { local $/; <$fh> };
	my $n = unpack 'Q<', substr $buf, 0, 8;
	my $h = decode_json(substr $buf, 8, $n);
	delete $h->{__metadata__};
	my %t;
	for my $k (keys %$h) {
		die "$path: $k: not F32\n" unless $h->{$k}{dtype} eq 'F32';
		my ($a, $z) = @{$h->{$k}{data_offsets}};
		$t{$k} = [unpack 'f<*', substr $buf, 8 + $n + $a, $z - $a];
	}
	return \%t;
}

@ARGV == 2 or die "usage: mpi_params.pl A B\n";
my ($x, $y) = map { tensors($_) } @ARGV;
die "the files hold other tensors\n" unless join(',', sort keys %$x) eq join(',', sort keys %$y);
my $worst = 0;
for my $k (keys %$x) {
	my ($a, $b) = ($x->{$k}, $y->{$k});
	die "$k: other sizes\n" unless @$a == @$b;
	my ($d, $s) = (0, 0);
	for my $i (0 .. $#$a) { $d += ($a->[$i] - $b->[$i])**2; $s += $a->[$i]**2 }
	my $r = $s > 0 ? sqrt($d / $s) : sqrt($d);
	$worst = $r if $r > $worst;
}
printf "%.3g\n", $worst;
