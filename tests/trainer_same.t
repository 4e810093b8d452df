#!/bin/sh
# The trainer split (one step loop, any head) left lm-pretrain and lm-sft
# bit for bit where they were: their checkpoints and training states hash to
# what the trainer before the split wrote (recorded per BLAS kernel and CPU
# class, since kernels sum in other orders, and per machine within a class,
# since -march=native vectorizes otherwise on each: an AMD EPYC of family 26
# and an Intel Xeon that GCC takes for a Rocket Lake; the lm-pretrain
# checkpoint's hash picks the line; other classes skip). A change
# that rounds otherwise re-records them (run this test, and again with
# OPENBLAS_CORETYPE=SkylakeX on an AVX-512 machine, and take the "got"
# values): last for attention's fused kernel, whose lines before were
# Haswell 6c81e2d4..., SkylakeX 4a145684....
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1
# the hashes are of the release build's arithmetic (-O3 -march=native); other builds round otherwise
[ -z "${LMKIT_BIN:-}" ] || [ "$LMKIT_BIN" = bin ] || skip_all "hashes recorded for the release build, not $LMKIT_BIN"
kernel=$(lm-pretrain --version | sed -n 's/.*BLAS: OpenBLAS \([A-Za-z0-9]*\).*/\1/p')
grep -qw avx512f /proc/cpuinfo && isa=avx512 || isa=avx2
# kernel isa pretrain-ckpt pretrain-state sft-ckpt sft-state (sha256, first 16 hex digits)
want=$(grep "^$kernel $isa " <<'EOT'
Haswell avx512 77cdf2ee437a009c 0f5b0359462a542a 9205ca88fb10e978 0a7fe68c5bea5fc0
SkylakeX avx512 c2eabf1e5dd28d84 f95bfaed29fbd83c ede57f993180ab3f 01c6f60fa48f5be5
Haswell avx512 1dc0ec194835ee34 71f852f62700a66a 339d7d09b788b4f5 832a037250a462d6
SkylakeX avx512 9165e005f3ec7f8c 5991b15fa9bf90ef 303db6c2304a5e89 755f65a540093eff
EOT
)
[ -n "$want" ] || skip_all "no hashes recorded for OpenBLAS $kernel on $isa"
h() { sha256sum "$1" | cut -c1-16; }

perl -e 'srand(7); my ($x, @t) = (1);
	for (1 .. 8000) { $x = ($x * 7 + 3 + int(rand(3))) % 64; push @t, $x }
	print pack("a8 V6 Q< Q< a16", "LMKSHARD", 1, 64, 64, 2, 0, 0, 8000, 1, ""), pack("v*", @t), pack("Q<", 0)' >train.bin
MODEL="--set dim=32 --set n_layers=2 --set n_heads=4 --set n_kv_heads=2 --set vocab_size=64 --set max_seq_len=32 --set hidden_dim=64"
ok "lm-pretrain with accumulation and validation" lm-pretrain $MODEL -b 2 --batch-tokens 128 --steps 12 \
	--warmup 3 --lr 3e-3 --val train.bin --val-every 5 -o pre.safetensors train.bin
got=$(h pre.safetensors)
mine=$(echo "$want" | awk -v h="$got" '$3 == h' | head -n 1)
want=${mine:-$(echo "$want" | head -n 1)}
is "lm-pretrain checkpoint as before the split" "$got" "$(echo "$want" | cut -d' ' -f3)"
is "lm-pretrain training state as before the split" "$(h pre.safetensors.state)" "$(echo "$want" | cut -d' ' -f4)"

if [ -r "$ASSETS/tok512.model" ]; then
	awk -v mode=train -f "$ROOT/tests/data/chat_say.awk" | head -64 >chat.jsonl
	lm-tokenize --chat -m "$ASSETS/tok512.model" -o chat.bin chat.jsonl
	echo '{"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 64}' >cfg.json
	lm-convert --init cfg.json init.safetensors
	ok "lm-sft with packing, micro-batches and validation" lm-sft --init init.safetensors -b 12 --micro-batch 4 \
		--epochs 2 --warmup 2 --lr 3e-3 --val chat.bin --val-every 4 -o sft.safetensors chat.bin
	is "lm-sft checkpoint as before the split" "$(h sft.safetensors)" "$(echo "$want" | cut -d' ' -f5)"
	is "lm-sft training state as before the split" "$(h sft.safetensors.state)" "$(echo "$want" | cut -d' ' -f6)"
fi
done_testing
