# lib/base/blas.c: the model tools open OpenBLAS after setting OPENBLAS_CORETYPE to
# the best kernel the CPU has, and libgomp starts with passive waits, unless the
# user set either; nothing re-executes (gdb sees one program).
. "$(dirname "$0")/lib.sh"
bare() { env -u OPENBLAS_CORETYPE -u OMP_WAIT_POLICY "$@"; }

# the kernel best_core should pick, from the kernel's list of CPU features
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { case $flags in *" $1 "*) return 0 ;; esac; return 1; }
if has avx512f && has avx512bw && has avx512vl; then want='OpenBLAS SkylakeX \(OPENBLAS_CORETYPE set by lmkit\)(;|$)'
elif has avx2 && has fma; then want='OpenBLAS Haswell \(OPENBLAS_CORETYPE set by lmkit\)(;|$)'
else want='OpenBLAS [A-Za-z0-9]*(;|$)'; fi
for t in lm-pretrain lm-sft lm-rm lm-sample lm-chat lm-eval; do
	ok "$t: nothing set, the CPU's best kernel" bare sh -c "$t --version | grep -Eq 'BLAS: $want'"
done
is "OPENBLAS_CORETYPE given is kept" "$(bare env OPENBLAS_CORETYPE=Prescott lm-sample --version | sed 's/.*BLAS: //')" \
	"OpenBLAS Prescott (OPENBLAS_CORETYPE from environment)"
ok "nothing set: passive OpenMP waits" bare sh -c "OMP_DISPLAY_ENV=verbose \
	lm-pretrain --version 2>&1 | grep -q \"GOMP_SPINCOUNT = '0'\""
ok "OMP_WAIT_POLICY given is kept" sh -c "env -u OMP_WAIT_POLICY OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=true \
	lm-pretrain --version 2>&1 | grep -q \"OMP_WAIT_POLICY = 'ACTIVE'\""

# A program that links OpenBLAS itself loaded it before lmkit's code ran: no claim to have set its kernel.
if [ -z "${LMKIT_BIN:-}" ] && [ -r "$ROOT/build/liblmkit.a" ]; then
	printf '#include "blas.h"\n#include <stdio.h>\nint main(void) { puts(blas_kernel()); return 0; }\n' >k.c
	ok "a program linking OpenBLAS builds" ${CC:-cc} -std=c11 -fopenmp -I"$ROOT/lib/base" -I/usr/include/openblas -o k k.c \
		"$ROOT/build/liblmkit.a" -Wl,--no-as-needed -lopenblas -lz -lpcre2-8 -lcjson -lxxhash -lm
	ok "  and shows OpenBLAS's own choice" sh -c 'env -u OPENBLAS_CORETYPE ./k | grep -Eq "^OpenBLAS [A-Za-z0-9]+$"'
fi

if command -v gdb >/dev/null 2>&1; then
	bare gdb -nx -batch -ex run --args "$BIN/lm-pretrain" --version >gdb.out 2>&1
	if grep -q 'ptrace' gdb.out; then
		echo "# gdb cannot trace here: $(grep -m1 ptrace gdb.out)"
	else
		# no ^: gdb's thread messages may share the program's line
		ok "gdb lm-pretrain: the program runs" grep -q 'lm-pretrain (lmkit) ' gdb.out
		ok "  and executes no new program" sh -c '! grep -q "is executing new program" gdb.out'
	fi
else
	echo "# gdb not installed: the gdb run skipped"
fi

done_testing
