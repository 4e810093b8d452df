#!/usr/bin/perl
# score.pl: how a cleaner and a deduplicator did on a sample corpus, against
# the manifest of what was planted in it (samples/README.md).
#
#   perl samples/score.pl MANIFEST CORPUS [--removed REMOVED] [--clean CLEAN --rejects REJECTS]
#
# REMOVED: lm-dedup --removed records (JSONL with "id"); a planted pair counts as
# found when either of its documents was removed, and removals outside planted
# clusters are false positives. CLEAN and REJECTS: lm-clean's output and its
# rejects (JSONL with "id"): per kind of dirt, the documents dropped, the
# changed ones, and the planted strings (PII, boilerplate lines) left in kept
# documents. A measurement, not a test: it prints and exits 0.
use strict;
use warnings;
use utf8;
use JSON::PP;
use Getopt::Long;

my $J = JSON::PP->new->utf8;
my ($removed, $clean, $rejects);
GetOptions('removed=s' => \$removed, 'clean=s' => \$clean, 'rejects=s' => \$rejects) && @ARGV == 2
	or die "usage: perl samples/score.pl MANIFEST CORPUS [--removed REMOVED] [--clean CLEAN --rejects REJECTS]\n";
!!$clean == !!$rejects or die "score.pl: --clean and --rejects go together\n";
my ($manifest, $corpus) = @ARGV;

sub jsonl {
	my ($path, $each) = @_;
	my $f;
	my $ok = $path =~ /\.gz$/ ? open($f, '-|', 'gzip', '-dc', $path) : open($f, '<', $path);
	$ok or die "score.pl: $path: $!\n";
	while (my $l = <$f>) { $each->($J->decode($l)) }
	close($f) or die "score.pl: $path: read failed\n";
}
my $m = do { local $/; open(my $f, '<', $manifest) or die "score.pl: $manifest: $!\n"; $J->decode(<$f>) };
my %doc;
jsonl($corpus, sub { $doc{ $_[0]{id} } = $_[0] });
binmode STDOUT, ':utf8';

my %planted; # every document of a planted duplicate cluster
$planted{ $_->{id} } = $planted{ $_->{of} } = 1 for @{ $m->{exact_duplicates}{pairs} }, @{ $m->{near_duplicates}{pairs} };
my %dirty;   # id -> kind of dirt
for my $kind (keys %{ $m->{dirty} }) {
	my $k = $m->{dirty}{$kind};
	$dirty{$_} = $kind for $kind eq 'pii' ? map { $_->{id} } @{ $k->{items} } : @{ $k->{ids} };
}

if ($removed) {
	my %rm;
	jsonl($removed, sub { $rm{ $_[0]{id} } = 1 });
	my $found = grep { $rm{ $_->{id} } || $rm{ $_->{of} } } @{ $m->{exact_duplicates}{pairs} };
	printf "dedup: exact copies found %d/%d\n", $found, scalar @{ $m->{exact_duplicates}{pairs} };
	my @bands = (0.9, 0.8, 0.75, 0.7, 0.6, 0.5, 0);
	my (%n, %f);
	for my $p (@{ $m->{near_duplicates}{pairs} }) {
		my ($b) = grep { $p->{jaccard} >= $_ } @bands;
		$n{$b}++;
		$f{$b}++ if $rm{ $p->{id} } || $rm{ $p->{of} };
	}
	for my $i (0 .. $#bands) {
		next unless $n{ $bands[$i] };
		my $range = $i ? "[$bands[$i], $bands[$i - 1])" : ">= $bands[0]";
		printf "dedup: near copies, similarity %-12s found %d/%d\n", $range, $f{ $bands[$i] } // 0, $n{ $bands[$i] };
	}
	printf "dedup: removed outside planted clusters %d\n", scalar grep { !$planted{$_} } keys %rm;
}

if ($clean) {
	my (%kept, %rej);
	jsonl($clean, sub { $kept{ $_[0]{id} } = $_[0]{text} });
	jsonl($rejects, sub { $rej{ $_[0]{id} } = 1 });
	my $boiler = qr/^(?:Home \||Skip to main|Menu Search|You are here:|Posted by admin|Share this:|This website uses cookies|Please enable JavaScript|Copyright ©|Terms of Use \||Subscribe to our|Read more »|Related posts:|Leave a Reply|Like this:|Back to top)/;
	# the shapes gen.c's garbage_line() makes: hex dump, base64, mojibake, markup, symbol soup
	my $garbage = qr/^[0-9a-f]{8}  |^[A-Za-z0-9+\/]{40,}==$|Ã|â€|ï¿½|<\/?[a-z]+[ >]|&[a-z]+;|\{"\@context"|[#\@\$%^&*~|<>{}\[\]\/\\=+_;:!?]{4}/;
	for my $kind (sort keys %{ $m->{dirty} }) {
		my @ids = grep { $dirty{$_} eq $kind } sort keys %dirty;
		my @k = grep { exists $kept{$_} } @ids;
		my $changed = grep { $kept{$_} ne $doc{$_}{text} } @k;
		printf "clean: %-15s dropped %d/%d, changed %d of %d kept", $kind, scalar(grep { $rej{$_} } @ids), scalar @ids, $changed, scalar @k;
		if ($kind eq 'pii') {
			my ($left, $all) = (0, 0);
			for my $it (grep { exists $kept{ $_->{id} } } @{ $m->{dirty}{pii}{items} }) {
				for my $s (map { @{ $it->{$_} } } qw(emails phones ips)) {
					$all++;
					$left++ if index($kept{ $it->{id} }, $s) >= 0;
				}
			}
			printf ", planted strings left %d/%d", $left, $all;
		}
		if ($kind eq 'garbage_lines') {
			my ($left, $had) = (0, 0);
			for my $id (@k) {
				$left += grep { /$garbage/ } split /\n/, $kept{$id};
				$had += grep { /$garbage/ } split /\n/, $doc{$id}{text};
			}
			printf ", garbage lines left %d/%d", $left, $had;
		}
		if ($kind eq 'boilerplate') {
			my %left;
			for my $id (@k) { $left{$_}++ for grep { /$boiler/ } split /\n/, $kept{$id} }
			printf ", lines left: %s", join('; ', map { "\"$_\" in $left{$_}" } sort keys %left) || 'none';
		}
		print "\n";
	}
	my (%n, %d);
	for my $id (keys %doc) {
		next if $planted{$id} || $dirty{$id};
		$n{ $doc{$id}{source} }++;
		$d{ $doc{$id}{source} }++ if $rej{$id};
	}
	printf "clean: documents without dirt dropped: %s\n", join(', ', map { "$_ " . ($d{$_} // 0) . "/$n{$_}" } sort keys %n);
}
