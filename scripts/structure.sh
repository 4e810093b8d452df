#!/bin/sh
# The structure of lib/, drawn from the objects as built: A uses B when A's
# object calls or reads a symbol B's object defines. Prints the objects in
# layers, each using only the layers above it (layer 0 uses no other object),
# and, when the uses go round in a cycle, the cycle, exiting 1.
#   sh scripts/structure.sh [BUILD]      (default build; run `make` first)
set -eu
build=${1:-build}
ls "$build"/lib/*/*.o >/dev/null 2>&1 || { echo "structure.sh: no objects in $build/lib/*: run make" >&2; exit 2; }
for o in "$build"/lib/*/*.o; do
	m=$(basename "$o" .o)
	nm -g --defined-only "$o" | awk -v m="$m" 'NF == 3 { print "D", m, $3 }'
	nm -u "$o" | awk -v m="$m" '{ print "U", m, $NF }'
	echo "M $m -"
done | perl -e '
	my (%def, @use, %mod, %e);
	while (<>) { my ($k, $m, $s) = split; $mod{$m} = 1; if ($k eq "D") { $def{$s} = $m } elsif ($k eq "U") { push @use, [$m, $s] } }
	for (@use) { my $d = $def{$_->[1]}; $e{$_->[0]}{$d} = 1 if defined $d && $d ne $_->[0] }
	my (%st, @stk, @cyc);
	my $dfs; $dfs = sub { my $v = shift; $st{$v} = 1; push @stk, $v;
		for my $w (sort keys %{$e{$v}}) {
			if (($st{$w} // 0) == 1) { my @s = @stk; shift @s while $s[0] ne $w; push @cyc, join(" -> ", @s, $w) }
			elsif (!$st{$w}) { $dfs->($w) } }
		pop @stk; $st{$v} = 2 };
	$dfs->($_) for sort keys %mod;
	if (@cyc) { print "cycle: $_\n" for @cyc; exit 1 }
	my %layer; my $depth; $depth = sub { my $v = shift; return $layer{$v} //= do { my $l = 0;
		for (keys %{$e{$v}}) { my $d = $depth->($_) + 1; $l = $d if $d > $l } $l } };
	$depth->($_) for keys %mod;
	my $top = 0; for (values %layer) { $top = $_ if $_ > $top }
	for my $l (0 .. $top) {
		printf "layer %d: %s\n", $l, join " ", map { my $u = join ",", sort keys %{$e{$_}}; $u ? "$_($u)" : $_ } sort grep { $layer{$_} == $l } keys %mod;
	}'
