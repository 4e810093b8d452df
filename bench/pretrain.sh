#!/bin/sh
# Training throughput of lm-pretrain against PyTorch (bench/torch_train.py, the
# same model, optimizer and batch) on 2 threads, for two configurations:
#   (a) dim 288, 6 layers, 6 heads, 6 KV heads, vocab 32000, seq 256, 8 rows
#   (b) dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512, seq 512, 8 rows
# Prints the median tokens/s and model GFLOP/s (6N + 12·L·d·T per token) of the
# timed steps after warmup, for lmkit and each PyTorch peer (Debian's 1.13 and
# PyPI's 2.x, bench/torch_env.rc), and the ratios. Never fails on speed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
THREADS=${THREADS:-2}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

# shard FILE N VOCAB: N random tokens
shard() {
	perl -e 'my ($n, $v) = @ARGV; srand(1);
		print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, $v, 2, 0, 0, $n, 1, "");
		print pack("v*", map { int(rand($v)) } 1 .. $n); print pack("Q<", 0)' "$2" "$3" >"$1"
}

bench=pretrain tool=$BIN/lm-pretrain
. "$ROOT/bench/torch_env.rc"

# run NAME B T WARMUP STEPS dim n_layers n_heads n_kv_heads vocab COMPILE
# COMPILE: whether PyTorch 2.x compiles the model (TORCH_COMPILE overrides), where
# it helped (bench/README.md, Peers)
run() {
	name=$1 B=$2 T=$3 warm=$4 steps=$5 dim=$6 L=$7 nh=$8 nkv=$9 V=${10} compile=${11}
	shard "$W/$name.bin" 1000000 "$V"
	"$BIN/lm-pretrain" --threads "$THREADS" --set dim="$dim" --set n_layers="$L" --set n_heads="$nh" \
		--set n_kv_heads="$nkv" --set vocab_size="$V" --set max_seq_len="$T" -b "$B" \
		--steps $((warm + steps)) --metrics "$W/$name.jsonl" -o "$W/$name.safetensors" "$W/$name.bin"
	# medians of the timed steps' tokens/s and GFLOP/s
	set -- $(perl -ne 'if (/"step":(\d+),.*"tokens_per_s":([\d.]+),"gflops":([\d.]+)/ && $1 > '"$warm"') {
			push @t, $2; push @g, $3 }
		END { @t = sort { $a <=> $b } @t; @g = sort { $a <=> $b } @g; print "$t[$#t / 2] $g[$#g / 2]" }' \
		"$W/$name.jsonl")
	c=$1 cg=$2
	printf '%s  %-33s %10.1f tokens/s  %7.1f GFLOP/s\n' "$name" lmkit: "$c" "$cg"
	best=0 bestname=
	for py in $peers; do
		out=$(env OMP_WAIT_POLICY=PASSIVE TORCH_COMPILE=${TORCH_COMPILE:-$compile} $torch_env $py "$ROOT/bench/torch_train.py" "$W/$name.bin" "$THREADS" \
			"$B" "$T" "$steps" "$warm" "$dim" "$L" "$nh" "$nkv" "$V" 2>"$W/err") ||
			{ echo "$name  PEER FAILED: $py bench/torch_train.py:"; cat "$W/err"; continue; }
		set -- $out
		printf '%s  %-33s %10.1f tokens/s  %7.1f GFLOP/s  lmkit / it: %.2fx\n' "$name" "$3:" "$1" "$2" \
			"$(perl -e "print $c / $1")"
		[ "$(perl -e "print $1 > $best ? 1 : 0")" = 1 ] && best=$1 bestname=$3
	done
	[ -z "$bestname" ] || printf '%s  lmkit / the faster PyTorch (%s): %.2fx\n' "$name" "$bestname" "$(perl -e "print $c / $best")"
}

run "(a)" 8 256 2 5 288 6 6 6 32000 1
# (a)'s ceiling: OpenBLAS's sgemm (bench/sgemm_peak.c, x·wᵀ, $THREADS threads)
# at each of its matmuls' shapes over the step's 2048 rows, weighted by their
# FLOPs (q, k, v, o; w1, w3; w2; the head); attention's FLOPs, counted in the
# model's, have no such shape and are left out of the weights.
cc -O2 -I/usr/include/openblas -o "$W/sgemm_peak" "$ROOT/bench/sgemm_peak.c" -lopenblas
roof=$(for s in "288 288 24" "768 288 12" "288 768 6" "32000 288 1"; do
	set -- $s
	echo "$(OPENBLAS_NUM_THREADS=$THREADS "$W/sgemm_peak" 2048 "$1" "$2" | sed -n 's/^gflops //p') $(($1 * $2 * $3))"
done | perl -ane '$f += $F[1]; $t += $F[1] / $F[0]; END { printf "%.1f", $f / $t }')
perl -e 'printf "(a)  sgemm roofline at its layer shapes: %.1f GFLOP/s; lmkit at %.0f%% of it\n", $ARGV[0], 100 * $ARGV[1] / $ARGV[0]' \
	"$roof" "$cg"
run "(b)" 8 512 3 10 64 5 8 4 512 0

# where lmkit's step goes (bench/breakdown.c, on the library as built)
if make -s -C "$ROOT" build/bench/breakdown >/dev/null; then
	for c in a b; do
		OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$ROOT/build/bench/breakdown" lm $c 8 5
	done
fi
