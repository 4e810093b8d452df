#!/bin/sh
# The Makefile keeps the flags the build needs whatever CFLAGS, LDFLAGS and
# LDLIBS a user gives on the command line (make CFLAGS=-g).
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || skip_all "no make"
make -n -B -C "$ROOT" CFLAGS=-g LDFLAGS= LDLIBS= BUILD="$T/b" BIN="$T/bin" all >dry.txt 2>&1
ok "make -n with CFLAGS=-g" test -s dry.txt
wings=$(cd "$ROOT" && for d in lib/*/; do printf ' -I%s' "${d%/}"; done)
is "every compile keeps -std=c11 -fopenmp and the include paths" \
	"$(grep -E '^cc|^gcc' dry.txt | grep -vc -- "-g -std=c11 -D_GNU_SOURCE -fopenmp$wings -I/usr/include/openblas")" 0
is "every link keeps libgomp, static (lib/base/blas.c opens OpenBLAS itself)" \
	"$(grep -E -- '-o [^ ]*/bin/lm-' dry.txt | grep -vc -- '-Wl,--as-needed.*-Wl,-Bstatic -lgomp -Wl,-Bdynamic')" 0
is "the tools are all built" "$(grep -cE -- '-o [^ ]*/bin/lm-' dry.txt)" "$(ls "$ROOT"/tools/lm-*.c | wc -l | tr -d ' ')"
done_testing
