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
# the facts of each type of entity, by their names in world.jsonl
my %FACTS = (province => ['capital'], sea => [], river => ['sea'], town => [qw(river province trade mayor)],
	person => [qw(home job color pet)], animal => [qw(color food)]);
# states(TEXT, SETS): the first fact of an entity of SETS ("BC", ...) that TEXT
# states, as "name: relation answer": a paragraph of TEXT names the subject and
# holds the answer as a word. Names never contain one another (samples/README.md).
sub facts_stated {
	my %f;
	for my $e (@_) { push @{ $f{ $e->{name} } }, [$e->{$_}, $e->{split}, $_] for @{ $FACTS{ $e->{type} } } }
	my $names = join '|', map { quotemeta } sort { length $b <=> length $a || $a cmp $b } grep { @{ $f{$_} } } keys %f;
	my $re = qr/($names)/;
	return sub {
		my ($text, $sets) = @_;
		for my $unit (split /\n\n/, $text) {
			while ($unit =~ /$re/g) {
				my $n = $1;
				for (@{ $f{$n} }) { return "$n: $_->[2] $_->[0]" if index($sets, $_->[1]) >= 0 && $unit =~ /\b\Q$_->[0]\E\b/i }
			}
		}
		return;
	};
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
	my (%world, %sets);
	for (lines("$dir/world.jsonl")) {
		str($_->{name}) && $_->{split} =~ /^[ABC]$/ && $FACTS{ $_->{type} } or die "world: bad entity\n";
		$world{ $_->{name} } = $_;
		$sets{ $_->{split} }++;
	}
	($sets{$_} // 0) == $c->{sets}{$_} or die "world: counts.json says $c->{sets}{$_} entities in set $_, file has " . ($sets{$_} // 0) . "\n" for qw(A B C);
	my $states = facts_stated(values %world);
	# what a record says, a statement at a time: each message, and each question
	# with its answer (a bare answer names only the object)
	my $text = sub {
		my ($o) = @_;
		my @m = map { $_->{content} } @{ $o->{messages} // [] };
		my @q = map { $o->{messages}[$_ - 1]{content} . "\n" . $m[$_] } grep { $_ && $o->{messages}[$_]{role} eq 'assistant' } 0 .. $#m;
		my $last = @m ? $m[-1] : $o->{prompt};
		return join "\n\n", @m, @q, map { defined $o->{$_} ? ($o->{$_}, "$last\n$o->{$_}") : () } qw(reference answer chosen rejected);
	};

	my @sft = lines("$dir/sft.jsonl");
	@sft == $c->{sft} or die "sft: counts.json says $c->{sft}, file has " . @sft . "\n";
	my %sft_user;
	for (@sft) {
		messages($_->{messages}, "sft $_->{id}", 'assistant');
		my $l = $states->($text->($_), 'BC');
		!$l or die "sft $_->{id} teaches the held-out fact $l\n";
		$_->{role} eq 'user' and $sft_user{ $_->{content} } = 1 for @{ $_->{messages} };
	}
	my %k;
	for (lines("$dir/eval.jsonl")) {
		$k{ $_->{kind} }++;
		str($_->{prompt}) && str($_->{reference}) or die "eval $_->{id}: prompt and reference must be strings\n";
		if ($_->{kind} eq 'fact') {
			my $w = $world{ $_->{entity} } or die "eval $_->{id}: no entity $_->{entity} in world.jsonl\n";
			$w->{split} eq 'B' or die "eval $_->{id}: $_->{entity} is not in set B\n";
			$_->{reference} =~ /\b\Q$_->{answer}\E\b/ or die "eval $_->{id}: answer not in reference\n";
		} elsif ($_->{kind} eq 'unsafe') {
			index($_->{reference}, $REFUSAL) == 0 or die "eval $_->{id}: reference is not a refusal\n";
		} elsif ($_->{kind} ne 'benign') {
			die "eval $_->{id}: kind $_->{kind}\n";
		}
		my $l = $states->($text->($_), 'C');
		!$l or die "eval $_->{id} states the set-C fact $l\n";
		!$sft_user{ $_->{prompt} } or die "eval $_->{id}: SFT asks its prompt\n";
	}
	($k{$_} // 0) == $c->{eval}{$_} or die "eval $_: counts.json says $c->{eval}{$_}, file has " . ($k{$_} // 0) . "\n" for keys %{ $c->{eval} };

	# preference pairs: training pairs state no held-out fact; held-out pairs ask
	# nothing that training asks; in each split and kind, every rating mixes
	# variants and chosen and rejected replies are as long on average
	my %rating = map { $_ => 1 } ('significantly better', 'better', 'slightly better', 'negligibly better');
	my %cat = map { $_ => 1 } qw(harm_person harm_animal theft weapons arson);
	my (%train_user, %variants, %len, @held);
	%k = ();
	for (lines("$dir/prefs.jsonl")) {
		my $w = "prefs $_->{id}";
		($_->{split} // '') =~ /^(?:train|eval)$/ && ($_->{kind} // '') =~ /^(?:helpful|safe)$/ && str($_->{variant}) or die "$w: split, kind or variant\n";
		messages($_->{messages}, $w, 'user');
		$rating{ $_->{rating} } or die "$w: rating $_->{rating}\n";
		str($_->{chosen}) && str($_->{rejected}) && $_->{chosen} ne $_->{rejected} or die "$w: chosen and rejected\n";
		$_->{kind} eq 'helpful' || $cat{ $_->{category} // '' } && JSON::PP::is_bool($_->{rejected_unsafe}) or die "$w: category and rejected_unsafe\n";
		my $sk = "$_->{split} $_->{kind}";
		$k{$sk}++;
		$variants{$sk}{ $_->{rating} }{ $_->{variant} } = 1;
		$len{$sk}[0] += length $_->{chosen};
		$len{$sk}[1] += length $_->{rejected};
		if ($_->{split} eq 'train') {
			my $l = $states->($text->($_), 'BC');
			!$l or die "$w: a training pair states the held-out fact $l\n";
			$train_user{ join "\n", map { $_->{role} eq 'user' ? $_->{content} : () } @{ $_->{messages} } } = 1;
		} else {
			push @held, $_;
		}
	}
	for (@held) {
		my @q = map { $_->{role} eq 'user' ? $_->{content} : () } @{ $_->{messages} };
		!$train_user{ join "\n", @q } && !$sft_user{ $q[0] } or die "prefs $_->{id}: a held-out pair asks what training asks: $q[0]\n";
	}
	for my $sk (map { my $s = $_; map { "$s $_" } qw(helpful safe) } qw(train eval)) {
		my ($split, $kind) = split ' ', $sk;
		($k{$sk} // 0) == $c->{prefs}{$split}{$kind} or die "prefs $sk: counts.json says $c->{prefs}{$split}{$kind}, file has " . ($k{$sk} // 0) . "\n";
		for (sort keys %rating) {
			my $n = keys %{ $variants{$sk}{$_} // {} };
			$n >= 2 or die "prefs $sk: '$_' holds $n variants\n";
		}
		my ($ch, $rj) = @{ $len{$sk} };
		abs($ch - $rj) <= 0.05 * $ch or die "prefs $sk: chosen replies have $ch characters in all, rejected $rj\n";
	}
	%k = ();
	for (lines("$dir/rl.jsonl")) {
		($_->{split} // '') =~ /^(?:train|eval)$/ && ($_->{kind} // '') =~ /^(?:helpful|safe)$/ or die "rl $_->{id}: split or kind\n";
		$k{"$_->{split} $_->{kind}"}++;
		messages($_->{messages}, "rl $_->{id}", 'user');
		my $l = $states->($text->($_), $_->{split} eq 'train' ? 'BC' : 'AB');
		!$l or die "rl $_->{id}: a $_->{split} prompt states the fact $l\n";
		next if $_->{split} eq 'train' || !defined $_->{answer};
		# a held-out fact question names one set-C subject, and carries one of its answers
		my ($q, $id, $answer) = ($_->{messages}[-1]{content}, $_->{id}, $_->{answer});
		my @e = grep { $_->{split} eq 'C' && index($q, $_->{name}) >= 0 } values %world;
		@e == 1 && grep { $e[0]{$_} eq $answer } @{ $FACTS{ $e[0]{type} } } or die "rl $id: not a question about a set-C fact\n";
	}
	for my $split (qw(train eval)) {
		($k{"$split $_"} // 0) == $c->{rl}{$split}{$_} or die "rl $split $_: counts.json says $c->{rl}{$split}{$_}, file has " . ($k{"$split $_"} // 0) . "\n" for qw(helpful safe);
	}
} elsif ($what eq 'taught') {
	# every held-out fact (sets B and C) is stated in the pretraining corpus: its subject and answer in one world document
	my ($dir, $corpus) = @ARGV;
	my @w = map { $_->{text} } grep { $_->{source} eq 'world' } docs($corpus);
	for my $e (grep { $_->{split} ne 'A' } lines("$dir/world.jsonl")) {
		for my $rel (@{ $FACTS{ $e->{type} } }) {
			grep { index($_, $e->{name}) >= 0 && /\b\Q$e->{$rel}\E\b/ } @w or die "$e->{name}: $rel $e->{$rel} never stated in $corpus\n";
		}
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
stderr_has "... and named" "teaches the held-out fact"
cp "$S/sft.jsonl" "$T/bad/"
# a fact of set C, stated as SFT would
fact=$(perl -MJSON::PP -ne 'my $o = decode_json($_); if ($o->{split} eq "C" && $o->{type} eq "town") { print "$o->{name} lies on the river $o->{river}."; exit }' "$S/world.jsonl")
FACT=$fact perl -MJSON::PP -pe 'if (!$done && /"split": "train"/) { my $o = decode_json($_); $o->{chosen} = $ENV{FACT}; $_ = encode_json($o) . "\n"; $done = 1 }' "$S/prefs.jsonl" >"$T/bad/prefs.jsonl"
fails "a set-C fact in a training pair is caught" perl "$T/check.pl" chat "$T/bad"
stderr_has "... and named" "a training pair states the held-out fact"
cp "$S/prefs.jsonl" "$T/bad/"
sed "1s/\"reference\": \"/&$fact /" "$S/eval.jsonl" >"$T/bad/eval.jsonl"
fails "a set-C fact in eval.jsonl is caught" perl "$T/check.pl" chat "$T/bad"
stderr_has "... and named" "states the set-C fact"
cp "$S/eval.jsonl" "$T/bad/"
sed '0,/"split": "train"/s//"split": "eval"/' "$S/prefs.jsonl" >"$T/bad/prefs.jsonl"
fails "a held-out pair that training asks too is caught" perl "$T/check.pl" chat "$T/bad"
stderr_has "... and named" "a held-out pair asks what training asks"

# the shallow baseline: a pairwise logistic model on words and length learns
# what words decide, and the bundled pairs leave it near chance
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$T/bow" "$S/bow.c" -lm || skip_all "cannot build samples/bow.c"
acc() { perl -MJSON::PP -e 'my $o = decode_json(<STDIN>); print $o->{accuracy} < $ARGV[0] ? "below" : "not below", " $ARGV[0]\n"' "$1" <"$T/.out"; }
ok "bow: trains on the training pairs and tests on the held-out ones" "$T/bow" "$S/prefs.jsonl"
is "... accuracy on held-out pairs below 0.65" "$(acc 0.65)" "below 0.65"
ok "bow -p 70: on a random 70% of the training pairs, tested on the rest" "$T/bow" -p 70 "$S/prefs.jsonl"
is "... accuracy below 0.65 there too" "$(acc 0.65)" "below 0.65"
perl -e 'for my $i (0 .. 299) {
	my ($c, $r) = ("The answer is $i, good.", "The answer is " . ($i + 1) . ", poor.");
	($c, $r) = ("Yes, $i is good.", "No.") if $i % 3 == 0;
	printf qq({"id": "p%d", "split": "%s", "kind": "helpful", "variant": "%s", "messages": [{"role": "user", "content": "?"}], "chosen": "%s", "rejected": "%s", "rating": "better"}\n),
		$i, $i % 4 ? "train" : "eval", $i % 3 ? "word" : "length", $c, $r }' >"$T/easy.jsonl"
ok "bow: pairs that words decide" "$T/bow" "$T/easy.jsonl"
is "... are all ranked right" "$(perl -MJSON::PP -e 'my $o = decode_json(<STDIN>); print "$o->{test} $o->{accuracy} $o->{variants}{word}{accuracy}"' <"$T/.out")" "75 1 1"
printf '{"split": "train", "kind": "helpful", "chosen": "a", "rejected": "b", "rating": "better"}\n{"kind": "helpful", "chosen": "a"' >"$T/broken.jsonl"
fails "bow: a line that is not JSON is refused" "$T/bow" "$T/broken.jsonl"
stderr_has "... with file and line" "^bow: .*broken.jsonl: line 2: "
printf '{"split": "train", "kind": "helpful", "chosen": "a", "rating": "better"}\n' >"$T/broken.jsonl"
fails "bow: a pair without rejected is refused" "$T/bow" "$T/broken.jsonl"
stderr_has "... naming the member" "line 1: no \"rejected\""

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
