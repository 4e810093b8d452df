# Debuggers see one program: lm-sample runs under valgrind as it is, neither
# OPENBLAS_CORETYPE nor OMP_WAIT_POLICY given (lib/base/blas.c sets them without
# re-executing), and valgrind finds no memory error in a few tokens.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not installed (apt-get install valgrind)"

# valgrind cannot decode AVX-512: a build of its own at -O1 without -march=native,
# which also runs the code other CPUs take (no AVX-512 paths)
ok "lm-sample built at -O1 for valgrind" \
	make -s -C "$ROOT" BUILD=build/valgrind BIN=build/valgrind/bin OPT=-O1 build/valgrind/bin/lm-sample
S=$ROOT/build/valgrind/bin/lm-sample
vg() { env -u OPENBLAS_CORETYPE -u OMP_WAIT_POLICY valgrind -q --error-exitcode=99 "$@"; }

printf '{"dim":32,"n_layers":2,"n_heads":4,"n_kv_heads":2,"vocab_size":64,"hidden_dim":48,"max_seq_len":64}' >cfg.json
lm-convert --init cfg.json --seed 5 r.st
ok "valgrind: 8 ids from a tiny random model, no errors" vg "$S" -t 0 -n 8 --ids -o ids.txt r.st
is "  8 ids" "$(wc -l <ids.txt | tr -d ' ')" 8

if [ -r "$ASSETS/stories260K.bin" ] && [ -r "$ASSETS/tok512.bin" ]; then
	ok "valgrind: 20 tokens of stories260K, no errors" \
		vg "$S" -t 0 -n 20 --tokenizer "$ASSETS/tok512.bin" -o vg.txt "$ASSETS/stories260K.bin"
	is "  the text run.c gives" "$(cat vg.txt)" "Once upon a time, there was a little girl named Lily. She loved to play"
else
	echo "# no $ASSETS/stories260K.bin or tok512.bin: stories260K under valgrind skipped"
fi

done_testing
