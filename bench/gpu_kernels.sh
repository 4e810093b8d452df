#!/bin/sh
# Where a step of lmkit's CUDA path goes: Nsight Compute's time of every
# kernel over STEPS steps of bench/gpu.sh's model (dim 768, 12 layers, 12
# heads, 4 KV heads, vocab 32000), summed by kernel and divided by the steps,
# the TOP (25) longest first. A training step (B rows of 1024 random tokens;
# STEPS 2), or with GEN=B a decoding step of lm-sample at batch B (bf16
# weights, a model of random weights; STEPS 8 tokens from BOS). ncu replays
# each kernel at its base clocks, so its times run above the run's own;
# compare them with each other, and tokens/s with bench/gpu.sh.
# PYTHON: a Python 3 for the summing (python3). Never fails on speed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
PY=${PYTHON:-python3}
B=${B:-8}
GEN=${GEN:-}
STEPS=${STEPS:-${GEN:+8}}
STEPS=${STEPS:-2}
TOP=${TOP:-25}
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

if ! nvidia-smi -L >/dev/null 2>&1; then
	echo "gpu kernels bench: no NVIDIA GPU here (nvidia-smi -L): skipped"
	exit 0
fi
if ! command -v ncu >/dev/null; then
	echo "PEER MISSING: ncu (Nsight Compute) is not on the PATH"
	exit 0
fi
if ! "$BIN/lm-pretrain" --help 2>&1 | grep -q -- --device; then
	echo "lmkit: no --device cuda in this build"
	exit 0
fi
SHAPE="--set dim=768 --set n_layers=12 --set n_heads=12 --set n_kv_heads=4 --set vocab_size=32000 --set max_seq_len=1024"
NCU="ncu --csv --metrics gpu__time_duration.sum --log-file $W/ncu.csv"
if [ -n "$GEN" ]; then
	printf '{"dim":768,"n_layers":12,"n_heads":12,"n_kv_heads":4,"vocab_size":32000,"max_seq_len":1024}' >"$W/cfg.json"
	"$BIN/lm-convert" --init "$W/cfg.json" "$W/gen.st"
	$NCU "$BIN/lm-sample" --device cuda --weights bf16 --ids -t 1 -n "$STEPS" -b "$GEN" -c "$GEN" "$W/gen.st" \
		>"$W/log" 2>&1 || { echo "ncu lm-sample failed:"; tail -n 20 "$W/log"; exit 0; }
else
	perl -e 'srand(1); print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 32000, 2, 0, 0, 1000000, 1, "");
		print pack("v*", map { int(rand(32000)) } 1 .. 1000000); print pack("Q<", 0)' >"$W/shard.bin"
	$NCU "$BIN/lm-pretrain" --device cuda $SHAPE -b "$B" -t 1024 --steps "$STEPS" --warmup 1 -o "$W/ckpt.st" \
		"$W/shard.bin" >"$W/log" 2>&1 || { echo "ncu lm-pretrain failed:"; tail -n 20 "$W/log"; exit 0; }
fi
"$PY" - "$W/ncu.csv" "$STEPS" "$TOP" <<'PY'
import collections, csv, sys
steps, top = int(sys.argv[2]), int(sys.argv[3])
ms = {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0, "s": 1e3, "second": 1e3}
t, n = collections.defaultdict(float), collections.Counter()
for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"')):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    k = r["Kernel Name"].split("(")[0]
    t[k] += float(r["Metric Value"].replace(",", "")) * ms[r["Metric Unit"]] / steps
    n[k] += 1
print(f"total {sum(t.values()):.3f} ms a step over {sum(n.values()) / steps:.0f} kernels (ncu's clocks)")
for k, v in sorted(t.items(), key=lambda x: -x[1])[:top]:
    print(f"{v:9.3f} ms {n[k] / steps:6.1f}x  {k[:70]}")
PY
