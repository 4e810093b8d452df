#!/bin/sh
# lmkit's CUDA path (issue 18) against PyTorch on the same GPU, in one run:
# training a GPT-2-small-sized Llama (dim 768, 12 layers, 12 heads, 4 KV heads,
# vocab 32000, seq 1024, B rows of random tokens) in tokens/s and MFU against
# the card's dense bf16 peak (and lmkit's device memory in use against what it
# counted), PyTorch eager and torch.compile
# (bench/torch_gpu.py); then generation of 200 tokens from BOS at batch 1 and
# 64, PyTorch's KV-cache step under a CUDA graph, eager and compiled (bf16
# weights both, lm-sample --weights bf16). lmkit's
# side runs where bin/lm-pretrain and bin/lm-sample take --device. Ratios are
# lmkit over the faster PyTorch mode. Never fails on speed.
# PYTHON: the Python with torch (python3); B, STEPS: lmkit's rows and steps.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${LMKIT_BIN:-bin}
PY=${PYTHON:-python3}
B=${B:-8}
STEPS=${STEPS:-30}
SKIP=5 # lmkit's first steps, left out of its median
N=200
W=$(mktemp -d "${TMPDIR:-/tmp}/lmkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$ROOT"

# make bench runs every bench: on a machine without a GPU this one has nothing to measure
if ! nvidia-smi -L >/dev/null 2>&1; then
	echo "gpu bench: no NVIDIA GPU here (nvidia-smi -L): skipped"
	exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader

# the PyTorch peer: one JSON line per mode (bench/torch_gpu.py)
if "$PY" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	"$PY" bench/torch_gpu.py -b "$B" --gen-tokens "$N" >"$W/torch.jsonl" 2>"$W/torch.err" ||
		{ echo "PyTorch: a mode failed (its line says why); stderr:"; tail -n 20 "$W/torch.err"; }
	cat "$W/torch.jsonl"
else
	echo "PEER MISSING: no PyTorch with CUDA in $PY (PYTHON=... names another)"
fi

# lmkit
: >"$W/lmkit"
if [ -x "$BIN/lm-pretrain" ] && "$BIN/lm-pretrain" --help 2>&1 | grep -q -- --device; then
	"$BIN/lm-pretrain" --version 2>&1 | head -n 1
	# a shard of 1M random tokens (docs/FORMATS.md, "Token shards"), as bench/pretrain.sh
	perl -e 'srand(1); print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 32000, 2, 0, 0, 1000000, 1, "");
		print pack("v*", map { int(rand(32000)) } 1 .. 1000000); print pack("Q<", 0)' >"$W/shard.bin"
	if "$BIN/lm-pretrain" --device cuda --set dim=768 --set n_layers=12 --set n_heads=12 --set n_kv_heads=4 \
		--set vocab_size=32000 --set max_seq_len=1024 -b "$B" -t 1024 --steps "$STEPS" --warmup 1 \
		--metrics "$W/m.jsonl" -o "$W/ckpt.st" "$W/shard.bin" >"$W/pretrain.log" 2>&1; then
		# the median tokens/s after SKIP steps; the device memory counted and in use at the last step
		perl -ne 'if (/^\{"start"/ && /"flops_per_token":([\d.]+)/) { $f = $1 }
			if (/"step":(\d+),.*"tokens_per_s":([\d.]+)/ && $1 > '"$SKIP"') { push @t, $2 }
			($c, $u) = ($1, $2) if /"gpu_bytes":(\d+),"gpu_used_bytes":(\d+)/;
			END { @t = sort { $a <=> $b } @t; print "train $t[$#t / 2] $f $c $u\n" if @t }' "$W/m.jsonl" >>"$W/lmkit"
	else
		echo "lmkit: lm-pretrain --device cuda failed:"
		tail -n 20 "$W/pretrain.log"
	fi
else
	echo "lmkit: no --device cuda in this build"
fi
if [ -s "$W/ckpt.st" ] && "$BIN/lm-sample" --help 2>&1 | grep -q -- --device; then
	# The peer times steps after a warm-up run (compiling, capturing); a run of lm-sample pays its
	# first steps' start (cuBLAS loading its kernels, a CUDA graph captured per batch size). So lmkit
	# runs twice, -n 20 and -n N: the difference is the rate of steps 20..N, beside the whole run's.
	for b in 1 64; do
		# from -v: "... K tokens in S s, C s CPU: X tok/s, Y tok/CPU-s (batch B)"
		for n in 20 "$N"; do
			"$BIN/lm-sample" --device cuda --weights bf16 -v --ids -t 1 -n "$n" -b "$b" -c "$b" "$W/ckpt.st" >/dev/null 2>"$W/s$b-$n.err" ||
				{ echo "lmkit: lm-sample --device cuda -b $b failed:"; tail -n 5 "$W/s$b-$n.err"; }
		done
		perl -ne '/ (\d+) tokens in ([\d.]+) s/ and push @r, [$1, $2]; END { printf "gen%d %.1f %.1f\n", '"$b"',
			$r[1][0] / $r[1][1], ($r[1][0] - $r[0][0]) / ($r[1][1] - $r[0][1]) if @r == 2 }' \
			"$W/s$b-20.err" "$W/s$b-$N.err" >>"$W/lmkit"
	done
fi

# the table
touch "$W/torch.jsonl"
"$PY" - "$W/torch.jsonl" "$W/lmkit" "$B" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
lm = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[2]) if l.strip()}
setup = next((r for r in rows if r["what"] == "setup"), {})
peak = setup.get("peak_tflops")
print(f"\nGPU bench: {setup.get('device', '?')}, torch {setup.get('torch', '-')}, dense bf16 peak {peak or '?'} TFLOP/s")
print(f"training: dim 768, 12 layers, 12 heads, 4 KV heads, vocab 32000, {sys.argv[3]} x 1024 tokens a step")
print(f"  {'':22} {'tokens/s':>10} {'step ms':>9} {'TFLOP/s':>8} {'MFU':>6} {'peak GiB':>9}")
best = None
for r in rows:
    if r["what"] != "train":
        continue
    if "error" in r:
        print(f"  PyTorch {r['mode']:14} FAILED: {r['error'][:100]}")
        continue
    mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] else "?"
    print(f"  PyTorch {r['mode']:14} {r['tokens_per_s']:10.0f} {r['step_ms']:9.1f} {r['tflops']:8.1f} {mfu:>6} {r['peak_mem_gb']:9.2f}")
    if not best or r["tokens_per_s"] > best["tokens_per_s"]:
        best = r
if "train" in lm:
    tps, fpt, *mem = lm["train"]
    mfu = f"{100 * tps * fpt / (peak * 1e12):.1f}%" if peak else "?"
    gib = f"{mem[1] / 2**30:.2f}" if len(mem) == 2 else ""
    print(f"  {'lmkit':22} {tps:10.0f} {1024e3 * int(sys.argv[3]) / tps:9.1f} {tps * fpt / 1e12:8.1f} {mfu:>6} {gib:>9}")
    if best:
        print(f"  lmkit / the faster PyTorch ({best['mode']}): {tps / best['tokens_per_s']:.2f}x (target >= 1.1x)")
    if len(mem) == 2:
        counted, used = mem
        print(f"  lmkit's device memory: {used / 2**30:.2f} GiB in use on the card, {counted / 2**30:.2f} GiB counted "
              f"(weights, gradients, AdamW moments, activations, scratch): {used / counted:.2f}x (target <= 1.3x)")
print("generation: 200 new tokens from BOS, temperature 1, tokens/s over the batch")
for B in (1, 64):
    gen = [r for r in rows if r["what"] == "gen" and r.get("batch") == B]
    ok = [r for r in gen if "error" not in r]
    line = "  ".join(f"PyTorch {r['mode']} {r['tokens_per_s']:.0f}" for r in ok)
    line += "".join(f"  PyTorch {r['mode']} FAILED" for r in gen if "error" in r)
    if f"gen{B}" in lm and len(lm[f"gen{B}"]) == 2:
        whole, t = lm[f"gen{B}"]
        line += f"  lmkit {t:.0f} (the whole run {whole:.0f})"
        if ok:
            f = max(ok, key=lambda r: r["tokens_per_s"])
            line += f"  lmkit / the faster ({f['mode']}): {t / f['tokens_per_s']:.2f}x (target >= 1.5x)"
    print(f"  batch {B:2}: {line}")
EOF
