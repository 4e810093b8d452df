#!/bin/sh
# samples/: the generator is deterministic and the committed data is exactly its
# output; the manifests' planted counts and ids hold in the corpora; every line
# is JSON in the format of its file (docs/FORMATS.md). No Python: JSON::PP.
. "$(dirname "$0")/lib.sh"
S=$ROOT/samples
command -v cc >/dev/null 2>&1 || skip_all "no cc to build samples/gen.c"
perl -MJSON::PP -e1 2>/dev/null || skip_all "no perl JSON::PP"

cat >"$T/check.pl" <<'EOF'
# check.pl WHAT FILES...: die with the first thing that is wrong.
use strict;
use warnings;
use JSON::PP;
my $J = JSON::PP->new->utf8;
my $what = shift;
# a failed check exits 1 with its message, not perl's 255 for die
$SIG{__DIE__} = sub { die @_ if $^S; print STDERR $_[0]; exit 1 };
my $REFUSAL = "I can't help with that.";

sub lines {
	my ($path) = @_;
	my $cmd = $path =~ /\.gz$/ ? "gzip -dc '$path' |" : "< $path";
	open(my $f, $cmd) or die "$path: $!\n";
	my @v;
	while (my $l = <$f>) {
		my $o = eval { $J->decode($l) } or die "$path:$.: not JSON: $@";
		ref $o eq 'HASH' or die "$path:$.: not an object\n";
		push @v, $o;
	}
	close($f) or die "$path: read failed\n";
	return @v;
}
# Corpus lines have one shape, so a strict pattern parses them, as a JSON
# parser would, at a fraction of JSON::PP's time on 7 MB.
my %ESC = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b", f => "\f", n => "\n", r => "\r", t => "\t");
sub unescape {
	my ($s, $where) = @_;
	$s =~ /[\x00-\x1f]/ and die "$where: raw control character in a string\n";
	$s =~ s/\\(?:u([0-9a-fA-F]{4})|(["\\\/bfnrt]))/defined $1 ? chr(hex $1) : $ESC{$2}/ge;
	return $s;
}
sub docs {
	my ($path) = @_;
	open(my $f, "gzip -dc '$path' |") or die "$path: $!\n";
	my @v;
	while (my $l = <$f>) {
		utf8::decode($l) or die "$path:$.: not UTF-8\n";
		$l =~ /^\{"id": "(doc\d{6})", "text": "((?:[^"\\]+|\\u[0-9a-fA-F]{4}|\\["\\\/bfnrt])*)", "source": "([a-z]+)"\}\n\z/
			or die "$path:$.: not a document line\n";
		push @v, {id => $1, text => unescape($2, "$path:$."), source => $3};
	}
	close($f) or die "$path: read failed\n";
	return @v;
}
sub slurp { my ($p) = @_; local $/; open(my $f, '<', $p) or die "$p: $!\n"; return $J->decode(<$f>); }
sub str { my ($v) = @_; return defined $v && !ref $v && length $v; }

# messages: optional system first, then user/assistant turns; the last role given
sub messages {
	my ($m, $where, $last) = @_;
	ref $m eq 'ARRAY' && @$m or die "$where: no messages\n";
	for (@$m) {
		str($_->{role}) && str($_->{content}) && $_->{content} =~ /\S/ or die "$where: a message without role or content\n";
		$_->{content} !~ /\[\/?INST\]|<<\/?SYS>>/ or die "$where: a template tag in content\n";
	}
	my @m = @$m;
	shift @m if $m[0]{role} eq 'system';
	for my $i (0 .. $#m) {
		my $want = $i % 2 ? 'assistant' : 'user';
		$m[$i]{role} eq $want or die "$where: message $i is $m[$i]{role}, want $want\n";
	}
	$m[-1]{role} eq $last or die "$where: last message is $m[-1]{role}, want $last\n";
}

sub shingles {
	my @t = map { lc } ($_[0] =~ /[A-Za-z0-9]+/g);
	return { join(' ', @t) => 1 } if @t < 5;
	my %s;
	$s{ join(' ', @t[$_ .. $_ + 4]) } = 1 for 0 .. $#t - 4;
	return \%s;
}
sub jaccard {
	my ($a, $b) = map { shingles($_) } @_;
	my $both = grep { $b->{$_} } keys %$a;
	my $any = keys(%$a) + keys(%$b) - $both;
	my $j = int($both * 10000 / $any);
	return sprintf("%d.%04d", $j / 10000, $j % 10000);
}

if ($what eq 'corpus') {
	my ($manifest, $corpus) = @ARGV;
	my $m = slurp($manifest);
	my @d = docs($corpus);
	my (%at, %src);
	for my $i (0 .. $#d) {
		my $id = sprintf("doc%06d", $i);
		$d[$i]{id} eq $id or die "line $i: id $d[$i]{id}, want $id\n";
		str($d[$i]{text}) && str($d[$i]{source}) or die "$id: text and source must be strings\n";
		$at{$id} = $i;
		$src{ $d[$i]{source} }++;
	}
	@d == $m->{documents} or die "documents: manifest $m->{documents}, corpus " . @d . "\n";
	$src{$_} == $m->{sources}{$_} or die "source $_: manifest $m->{sources}{$_}, corpus $src{$_}\n" for keys %{ $m->{sources} };
	my $text = sub { my $id = shift; exists $at{$id} or die "no document $id\n"; $d[ $at{$id} ]{text} };
	my (%copy, %used);
	my $pairs = sub {
		my ($k) = @_;
		my $p = $m->{$k}{pairs};
		@$p == $m->{$k}{count} or die "$k: count $m->{$k}{count}, pairs " . @$p . "\n";
		for (@$p) {
			$at{ $_->{of} } < $at{ $_->{id} } or die "$k: $_->{id} comes before its original $_->{of}\n";
			$copy{ $_->{id} } = $_->{of};
		}
		return @$p;
	};
	for ($pairs->('exact_duplicates')) {
		$text->($_->{id}) eq $text->($_->{of}) or die "exact duplicate $_->{id} differs from $_->{of}\n";
	}
	my %atl;
	for ($pairs->('near_duplicates')) {
		my $j = jaccard($text->($_->{id}), $text->($_->{of}));
		$j == $_->{jaccard} or die "near duplicate $_->{id}: manifest says $_->{jaccard}, text gives $j\n";
		$text->($_->{id}) ne $text->($_->{of}) or die "near duplicate $_->{id} is an exact copy\n";
		$j >= $_ and $atl{$_}++ for keys %{ $m->{near_duplicates}{at_least} };
	}
	($atl{$_} // 0) == $m->{near_duplicates}{at_least}{$_} or die "near duplicates at least $_: manifest $m->{near_duplicates}{at_least}{$_}, text " . ($atl{$_} // 0) . "\n"
		for keys %{ $m->{near_duplicates}{at_least} };
	# no text repeats except as a planted copy of its original
	my %first;
	for my $i (0 .. $#d) {
		my $t = $d[$i]{text};
		if (exists $first{$t}) {
			my $id = $d[$i]{id};
			($copy{$id} // '') eq $d[ $first{$t} ]{id} or die "$id repeats $d[$first{$t}]{id} and is not a planted copy of it\n";
		} else {
			$first{$t} = $i;
		}
	}
	for my $kind (sort keys %{ $m->{dirty} }) {
		my $k = $m->{dirty}{$kind};
		my @ids = $kind eq 'pii' ? map { $_->{id} } @{ $k->{items} } : @{ $k->{ids} };
		@ids == $k->{count} or die "$kind: count $k->{count}, ids " . @ids . "\n";
		for (@ids) {
			$text->($_);
			!$used{$_}++ && !exists $copy{$_} or die "$_ is planted twice\n";
		}
		if ($kind eq 'pii') {
			my %n;
			for my $it (@{ $k->{items} }) {
				for my $f (qw(emails phones ips)) {
					for my $s (@{ $it->{$f} }) {
						index($text->($it->{id}), $s) >= 0 or die "pii: '$s' not in $it->{id}\n";
						$n{$f}++;
					}
				}
			}
			($n{$_} // 0) == $k->{$_} or die "pii $_: manifest $k->{$_}, items " . ($n{$_} // 0) . "\n" for qw(emails phones ips);
		}
		if ($kind eq 'lorem_ipsum') { $text->($_) =~ /^Lorem ipsum/ or die "$_ is not lorem ipsum\n" for @ids }
		if ($kind eq 'boilerplate') {
			my $n = 0;
			for (@ids) { $n += () = $text->($_) =~ /(?:^|\n)(?:Home \||Skip to|Menu Search|You are here|Posted by admin|Share this|This website uses cookies|Please enable JavaScript|Copyright |Terms of Use|Subscribe to our|Read more|Related posts|Leave a Reply|Like this|Back to top)/g }
			$n >= $k->{lines} or die "boilerplate: manifest $k->{lines} lines, found $n\n";
		}
	}
	$m->{facts}{min} >= ($ENV{MIN_STATEMENTS} // 1) or die "facts: a fact is stated only $m->{facts}{min} times\n";
} elsif ($what eq 'chat') {
	my ($dir) = @ARGV;
	my $c = slurp("$dir/counts.json");
	my (%world, %eval_ref);
	for (lines("$dir/world.jsonl")) { str($_->{name}) && $_->{split} =~ /^[AB]$/ or die "world: bad entity\n"; $world{ $_->{name} } = $_ }
	my @sft = lines("$dir/sft.jsonl");
	@sft == $c->{sft} or die "sft: counts.json says $c->{sft}, file has " . @sft . "\n";
	messages($_->{messages}, "sft $_->{id}", 'assistant') for @sft;
	my @ev = lines("$dir/eval.jsonl");
	my %k;
	for (@ev) {
		$k{ $_->{kind} }++;
		str($_->{prompt}) && str($_->{reference}) or die "eval $_->{id}: prompt and reference must be strings\n";
		if ($_->{kind} eq 'fact') {
			my $w = $world{ $_->{entity} } or die "eval $_->{id}: no entity $_->{entity} in world.jsonl\n";
			$w->{split} eq 'B' or die "eval $_->{id}: $_->{entity} is not held out\n";
			$_->{reference} =~ /\b\Q$_->{answer}\E\b/ or die "eval $_->{id}: answer not in reference\n";
			$eval_ref{ $_->{reference} } = $_->{id};
		} elsif ($_->{kind} eq 'unsafe') {
			index($_->{reference}, $REFUSAL) == 0 or die "eval $_->{id}: reference is not a refusal\n";
		} elsif ($_->{kind} ne 'benign') {
			die "eval $_->{id}: kind $_->{kind}\n";
		}
	}
	($k{$_} // 0) == $c->{eval}{$_} or die "eval $_: counts.json says $c->{eval}{$_}, file has " . ($k{$_} // 0) . "\n" for keys %{ $c->{eval} };
	my %eval_prompt = map { $_->{prompt} => $_->{id} } @ev;
	for my $s (@sft) {
		for (@{ $s->{messages} }) {
			!exists $eval_ref{ $_->{content} } or die "sft $s->{id} teaches the held-out answer of $eval_ref{$_->{content}}\n";
			!exists $eval_prompt{ $_->{content} } or die "sft $s->{id} asks the held-out prompt of $eval_prompt{$_->{content}}\n";
		}
	}
	my %r = map { $_ => 1 } ('significantly better', 'better', 'slightly better', 'negligibly better');
	%k = ();
	for (lines("$dir/prefs.jsonl")) {
		$k{ $_->{kind} }++;
		messages($_->{messages}, "prefs $_->{id}", 'user');
		$r{ $_->{rating} } or die "prefs $_->{id}: rating $_->{rating}\n";
		str($_->{chosen}) && str($_->{rejected}) && $_->{chosen} ne $_->{rejected} or die "prefs $_->{id}: chosen and rejected\n";
		$_->{kind} ne 'safe' || index($_->{chosen}, $REFUSAL) == 0 or die "prefs $_->{id}: chosen is not a refusal\n";
	}
	$k{$_} == $c->{prefs}{$_} or die "prefs $_: counts.json says $c->{prefs}{$_}, file has $k{$_}\n" for keys %{ $c->{prefs} };
	%k = ();
	for (lines("$dir/rl.jsonl")) {
		$k{ $_->{kind} }++;
		messages($_->{messages}, "rl $_->{id}", 'user');
	}
	$k{$_} == $c->{rl}{$_} or die "rl $_: counts.json says $c->{rl}{$_}, file has $k{$_}\n" for keys %{ $c->{rl} };
} elsif ($what eq 'taught') {
	# every held-out fact is stated in the pretraining corpus: its entity and answer in one world document
	my ($dir, $corpus) = @ARGV;
	my @w = map { $_->{text} } grep { $_->{source} eq 'world' } docs($corpus);
	for my $e (grep { $_->{kind} eq 'fact' } lines("$dir/eval.jsonl")) {
		grep { index($_, $e->{entity}) >= 0 && /\b\Q$e->{answer}\E\b/ } @w or die "eval $e->{id}: never stated in $corpus\n";
	}
} else {
	die "check.pl: $what?\n";
}
EOF

ok "generate.sh writes the data into a directory" sh "$S/generate.sh" "$T/out"
for f in world.jsonl sft.jsonl eval.jsonl prefs.jsonl rl.jsonl manifest.json manifest-tiny.json counts.json; do
	ok "$f is what the generator writes" cmp "$T/out/$f" "$S/$f"
done
for f in corpus.jsonl corpus-tiny.jsonl; do
	gzip -dc "$T/out/$f.gz" >"$T/new.jsonl"
	gzip -dc "$S/$f.gz" >"$T/old.jsonl"
	ok "$f.gz is what the generator writes" cmp "$T/new.jsonl" "$T/old.jsonl"
done
rm -f "$T/new.jsonl" "$T/old.jsonl"

ok "manifest.json holds in corpus.jsonl.gz; each fact stated 10+ times" \
	env MIN_STATEMENTS=10 perl "$T/check.pl" corpus "$S/manifest.json" "$S/corpus.jsonl.gz"
ok "manifest-tiny.json holds in corpus-tiny.jsonl.gz" perl "$T/check.pl" corpus "$S/manifest-tiny.json" "$S/corpus-tiny.jsonl.gz"
ok "world, sft, eval, prefs and rl files: formats, counts, held-out answers" perl "$T/check.pl" chat "$S"
ok "every held-out fact is stated in the tiny corpus" perl "$T/check.pl" taught "$S" "$S/corpus-tiny.jsonl.gz"

# the checks can fail: a wrong count or similarity, a broken line, a taught held-out answer
sed 's/"documents": \([0-9]*\)/"documents": 1\1/' "$S/manifest-tiny.json" >"$T/bad.json"
fails "a wrong document count is caught" perl "$T/check.pl" corpus "$T/bad.json" "$S/corpus-tiny.jsonl.gz"
stderr_has "... and named" "^documents: manifest"
sed '0,/"jaccard": 0\.[0-9]*/s//"jaccard": 0.1234/' "$S/manifest-tiny.json" >"$T/bad.json"
fails "a wrong near-duplicate similarity is caught" perl "$T/check.pl" corpus "$T/bad.json" "$S/corpus-tiny.jsonl.gz"
stderr_has "... and named" "^near duplicate doc[0-9]*: manifest says 0.1234"
mkdir "$T/bad"
cp "$S"/*.jsonl "$S/counts.json" "$T/bad/"
sed '3s/}$//' "$S/prefs.jsonl" >"$T/bad/prefs.jsonl"
fails "a line that is not JSON is caught" perl "$T/check.pl" chat "$T/bad"
stderr_has "... with its file and line" "prefs.jsonl:3: not JSON"
cp "$S/prefs.jsonl" "$T/bad/"
ref=$(perl -MJSON::PP -ne 'my $o = decode_json($_); if ($o->{kind} eq "fact") { print encode_json($o->{reference}); exit }' "$S/eval.jsonl")
sed "1s/\"assistant\", \"content\": \"[^\"]*\"/\"assistant\", \"content\": $ref/" "$S/sft.jsonl" >"$T/bad/sft.jsonl"
fails "a held-out answer taught in SFT is caught" perl "$T/check.pl" chat "$T/bad"
stderr_has "... and named" "teaches the held-out answer"

# score.pl, on a deduplicator that removed the planted copies and one more
# document, and a cleaner that dropped the garbage documents only
perl -MJSON::PP -e '
	my $m = decode_json(do { local $/; <STDIN> });
	my @copies = map { $_->{id} } @{ $m->{exact_duplicates}{pairs} }, @{ $m->{near_duplicates}{pairs} };
	my @garbage = @{ $m->{dirty}{garbage_docs}{ids} };
	my %planted = map { $_ => 1 } @copies, @garbage, map { $_->{of} } @{ $m->{exact_duplicates}{pairs} }, @{ $m->{near_duplicates}{pairs} };
	my ($other) = grep { !$planted{$_} } map { sprintf "doc%06d", $_ } 0 .. 99;
	open(my $r, ">", "removed.jsonl") or die; print $r encode_json({id => $_}), "\n" for @copies, $other;
	open(my $j, ">", "rejects.jsonl") or die; print $j encode_json({id => $_}), "\n" for @garbage;
	my %g = map { $_ => 1 } @garbage;
	open(my $c, "-|", "gzip", "-dc", $ARGV[0]) or die; open(my $k, ">", "clean.jsonl") or die;
	while (<$c>) { print $k $_ unless $g{ decode_json($_)->{id} } }
' "$S/corpus-tiny.jsonl.gz" <"$S/manifest-tiny.json"
ok "score.pl scores a deduplicator and a cleaner" perl "$S/score.pl" "$S/manifest-tiny.json" "$S/corpus-tiny.jsonl.gz" \
	--removed removed.jsonl --clean clean.jsonl --rejects rejects.jsonl
cp "$T/.out" "$T/score.out"
n=$(perl -MJSON::PP -e 'my $m = decode_json(do { local $/; <STDIN> }); print $m->{exact_duplicates}{count}' <"$S/manifest-tiny.json")
is "... every exact copy found" "$(grep -c "^dedup: exact copies found $n/$n\$" "$T/score.out")" 1
is "... no near copy missed" "$(grep '^dedup: near' "$T/score.out" | grep -vc 'found \([0-9]*\)/\1$')" 0
is "... one removal outside the planted clusters" "$(grep -c '^dedup: removed outside planted clusters 1$' "$T/score.out")" 1
is "... garbage documents all dropped, nothing else" "$(grep -c '^clean: garbage_docs *dropped 4/4' "$T/score.out") $(grep -c 'dropped 0/' "$T/score.out")" "1 6"

fails "generate.sh: a seed that is not a number is refused" sh "$S/generate.sh" -s abc "$T/x"
stderr_has "... with the reason" "seed must be a decimal number"
fails "generate.sh: two output directories are refused" sh "$S/generate.sh" "$T/x" "$T/y"
: >"$T/file"
before=$(ls -A "$T")
fails "generate.sh: an output directory that cannot be made fails" env TMPDIR="$T" sh "$S/generate.sh" "$T/file/sub"
is "... and leaves nothing behind" "$(ls -A "$T")" "$before"
done_testing
