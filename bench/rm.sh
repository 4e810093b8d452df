#!/bin/sh
# Reward-model throughput: lm-rm train against PyTorch (bench/torch_rm.py, the
# same score model, pairwise margin loss, AdamW and clipping, tuned as
# bench/pretrain.sh tunes its peers, Debian's PyTorch 1.13 and PyPI's 2.x) on
# 2 threads, and lm-rm score's pairs/s beside a PyTorch forward-only loop, for
# two configurations:
#   (a) dim 288, 6 layers, 6 heads, 6 KV heads, vocab 32000 (Llama 2's
#       tokenizer), rows of 256, dialogues of 64 tokens
#   (b) dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512 (tok512), rows of
#       512, dialogues of 128 tokens
# Every pair's two dialogues (prompt plus reply, rendered in the chat template)
# have exactly L tokens, so lm-rm packs T / L of them a row with no padding and
# PyTorch is given the same rows: its "packed" peer has the same layout
# (block-diagonal causal mask, positions restarting per dialogue), its "rows"
# peer puts each dialogue in a row of its own. Tokens/s count row positions,
# which here are all real tokens. 8 rows (16 pairs) a step, one micro-batch.
# Prints medians of the timed steps after warm-up and the ratios, against each
# peer and the faster; never fails on speed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
THREADS=${THREADS:-2}
ASSETS=${LMKIT_ASSETS:-$ROOT/../shared/assets}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

bench=rm tool=$BIN/lm-rm
. "$ROOT/bench/torch_env.rc"

# Words that are one piece each in both tokenizers: a dialogue of U prompt
# words and R reply words renders to BASE + U + R tokens.
WORDS="the day play big little time friend said with was and to she you they mom up on that his her it in we there so for of had want"
# pairs FILE N U R: N preference pairs, ratings in turn
pairs() {
	perl -e 'my ($n, $u, $r, @w) = @ARGV; srand(1);
		my @rating = ("significantly better", "better", "slightly better", "negligibly better");
		my $words = sub { join " ", map { $w[int(rand(@w))] } 1 .. $_[0] };
		for my $i (0 .. $n - 1) {
			my ($p, $c, $x) = ($words->($u), $words->($r), $words->($r));
			$x = $words->($r) while $x eq $c;
			print qq({"messages":[{"role":"user","content":"$p"}],"chosen":"$c","rejected":"$x","rating":"$rating[$i % 4]"}\n);
		}' "$2" "$3" "$4" $WORDS >"$1"
}
# chats FILE PAIRS: the chosen and rejected dialogues of each pair, as lm-chat writes them
chats() {
	perl -ne '/"content":"([^"]*)"}\],"chosen":"([^"]*)","rejected":"([^"]*)"/ or die;
		print qq({"messages":[{"role":"user","content":"$1"},{"role":"assistant","content":"$_"}]}\n) for $2, $3' "$2" >"$1"
}
med() { perl -e '@t = sort { $a <=> $b } @ARGV; print $t[$#t / 2]' "$@"; }
now() { perl -MTime::HiRes=time -e 'printf "%.6f", time'; }

# run NAME TOKENIZER T L WARMUP STEPS dim n_layers n_heads n_kv_heads vocab
run() {
	name=$1 tok=$ASSETS/$2 T=$3 L=$4 warm=$5 steps=$6 dim=$7 nl=$8 nh=$9 nkv=${10} V=${11}
	if [ ! -r "$tok" ]; then
		echo "$name  SKIPPED: no $tok"
		return 0
	fi
	rows=8 B=$((8 * T / L / 2))
	printf '{"dim":%d,"n_layers":%d,"n_heads":%d,"n_kv_heads":%d,"vocab_size":%d,"max_seq_len":%d}' \
		"$dim" "$nl" "$nh" "$nkv" "$V" "$T" >"$W/cfg.json"
	"$BIN/lm-convert" --init "$W/cfg.json" --seed 1 "$W/lm.st"
	"$BIN/lm-rm" init -o "$W/rm0.st" "$W/lm.st"
	# the template's own tokens: lm-rm names a too-long dialogue's length
	pairs "$W/probe.jsonl" 1 1 1
	one=$("$BIN/lm-rm" train --init "$W/rm0.st" --tokenizer "$tok" -t 2 -o "$W/x.st" "$W/probe.jsonl" 2>&1 |
		sed -n 's/.* takes \([0-9]*\) tokens.*/\1/p')
	# one dialogue of one prompt word and one reply word: the template takes the rest
	base=$((one - 2)) R=$(((L - one + 2) / 2))
	pairs "$W/pairs.jsonl" $((B * (warm + steps))) $((L - base - R)) $R
	"$BIN/lm-rm" train --init "$W/rm0.st" --tokenizer "$tok" --threads "$THREADS" -t "$T" -b "$B" --micro-batch $rows \
		--metrics "$W/m.jsonl" -o "$W/rm.st" "$W/pairs.jsonl"
	# more rows than 8 would mean a dialogue longer than L: the layouts would differ
	bad=$(perl -ne 'print "$1 " if /"step":(\d+),.*"rows":(\d+)/ && $2 != '$rows "$W/m.jsonl")
	[ -z "$bad" ] || echo "$name  LAYOUT DIFFERS from PyTorch's: steps $bad used more than $rows rows"
	c=$(med $(perl -ne 'print "$2 " if /"step":(\d+),.*"tokens_per_s":([\d.]+)/ && $1 > '"$warm" "$W/m.jsonl"))
	printf '%s  train  %-40s %9.1f tokens/s  (%d pairs of 2 x %d tokens a step, rows of %d)\n' "$name" lmkit: \
		"$c" "$B" "$L" "$T"
	# score: the chosen and rejected dialogues of NS pairs, the whole command timed
	NS=$((B * 16))
	pairs "$W/sp.jsonl" $NS $((L - base - R)) $R
	chats "$W/chats.jsonl" "$W/sp.jsonl"
	t0=$(now)
	OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$BIN/lm-rm" score -t "$tok" -b $rows "$W/rm.st" \
		"$W/chats.jsonl" >"$W/scored.jsonl"
	s=$(perl -e 'printf "%.1f", $ARGV[0] / ($ARGV[2] - $ARGV[1])' $NS "$t0" "$(now)")
	[ "$(wc -l <"$W/scored.jsonl")" -eq $((2 * NS)) ] || echo "$name  lm-rm score wrote $(wc -l <"$W/scored.jsonl") records, not $((2 * NS))"
	printf '%s  score  %-40s %9.1f pairs/s   (%d pairs, whole command)\n' "$name" lmkit: "$s" $NS
	bt=0 btn= bs=0 bsn=
	for py in $peers; do
		for layout in packed rows; do
			out=$(env OMP_WAIT_POLICY=PASSIVE $torch_env $py "$ROOT/bench/torch_rm.py" train $layout "$THREADS" $rows \
				"$T" "$L" "$steps" "$warm" "$dim" "$nl" "$nh" "$nkv" "$V" 2>"$W/err") ||
				{ echo "$name  PEER FAILED: $py bench/torch_rm.py:"; cat "$W/err"; continue 2; }
			set -- $out
			printf '%s  train  %-40s %9.1f tokens/s  lmkit / it: %.2fx\n' "$name" "$2 $layout:" "$1" "$(perl -e "print $c / $1")"
			[ "$(perl -e "print $1 > $bt ? 1 : 0")" = 1 ] && bt=$1 btn="$2 $layout"
		done
		out=$(env OMP_WAIT_POLICY=PASSIVE $torch_env $py "$ROOT/bench/torch_rm.py" score packed "$THREADS" $rows "$T" "$L" \
			16 2 "$dim" "$nl" "$nh" "$nkv" "$V" 2>"$W/err") ||
			{ echo "$name  PEER FAILED: $py bench/torch_rm.py:"; cat "$W/err"; continue; }
		set -- $out
		printf '%s  score  %-40s %9.1f pairs/s   lmkit / it: %.2fx\n' "$name" "$2 packed:" "$1" "$(perl -e "print $s / $1")"
		[ "$(perl -e "print $1 > $bs ? 1 : 0")" = 1 ] && bs=$1 bsn=$2
	done
	[ -z "$btn" ] || printf '%s  train  lmkit / the faster PyTorch (%s): %.2fx\n' "$name" "$btn" "$(perl -e "print $c / $bt")"
	[ -z "$bsn" ] || printf '%s  score  lmkit / the faster PyTorch (%s): %.2fx\n' "$name" "$bsn" "$(perl -e "print $s / $bs")"
}

run "(a)" tokenizer.model 256 64 2 5 288 6 6 6 32000
run "(b)" tok512.model 512 128 3 10 64 5 8 4 512

# where lmkit's step goes (bench/breakdown.c, on the library as built)
if make -s -C "$ROOT" build/bench/breakdown >/dev/null; then
	OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$ROOT/build/bench/breakdown" rm a 8 256 64 5
	OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$ROOT/build/bench/breakdown" rm b 8 512 128 5
fi
