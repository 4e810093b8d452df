# rm-table.pl LABEL=FILE...: the report's reward-model table. Each FILE is
# `lm-rm eval` output (JSON lines) or samples/bow.c's one JSON object; a row
# per FILE: pairs, then accuracy % with its 95% interval, over all pairs, per
# rating, and on the pairs whose rejected reply states a wrong fact.
use strict;
use warnings;
use JSON::PP;

my @rating = ("significantly better", "better", "slightly better", "negligibly better");
my @col = ("all", @rating, "wrong_fact");
printf "   %-27s %5s  %-18s %-18s %-18s %-18s %-18s %-18s\n", "model (held-out pairs)", "pairs", "all",
	"signif. better", "better", "slightly better", "negligibly better", "wrong fact";
for my $arg (@ARGV) {
	my ($label, $file) = split /=/, $arg, 2;
	open my $f, "<", $file or die "$file: $!\n";
	my %cell;
	while (my $line = <$f>) {
		my $r = decode_json($line);
		if (exists $r->{train}) {   # bow.c: no intervals
			$cell{all} = {pairs => $r->{test}, accuracy => $r->{accuracy}};
			$cell{$_} = {pairs => $r->{ratings}{$_}{n}, accuracy => $r->{ratings}{$_}{accuracy}} for keys %{$r->{ratings}};
			$cell{$_} = {pairs => $r->{variants}{$_}{n}, accuracy => $r->{variants}{$_}{accuracy}} for keys %{$r->{variants}};
			next;
		}
		next unless defined $r->{accuracy};
		$cell{$r->{group} eq "all" ? "all" : $r->{value}} = $r;
	}
	my @out = map {
		my $c = $cell{$_};
		!$c ? "-" : defined $c->{lo}
		    ? sprintf("%.1f [%.1f, %.1f]", 100 * $c->{accuracy}, 100 * $c->{lo}, 100 * $c->{hi})
		    : sprintf("%.1f", 100 * $c->{accuracy})
	} @col;
	printf "   %-27s %5d  %-18s %-18s %-18s %-18s %-18s %-18s\n", $label, $cell{all}{pairs} // 0, @out;
}
