#include "blas.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

static const char *best_core(void) {
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
	return NULL;
}

/* Cores OpenBLAS falls back to on CPUs it does not recognise. */
static int is_fallback(const char *core) {
	static const char *old[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
				    "Atom", "Sandybridge", NULL};
	for (int i = 0; old[i]; i++)
		if (!strcasecmp(core, old[i])) return 1;
	return 0;
}

void blas_init(int argc, char **argv) {
	(void)argc;
	if (getenv("OPENBLAS_CORETYPE") || getenv("LMKIT_BLAS_REEXEC")) return;
	const char *core = openblas_get_corename(), *want = best_core();
	if (!want || !core || !is_fallback(core)) return;
	setenv("OPENBLAS_CORETYPE", want, 1);
	setenv("LMKIT_BLAS_REEXEC", want, 1);
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc): run on the slow kernels rather than not at all */
	unsetenv("OPENBLAS_CORETYPE");
}

const char *blas_kernel(void) {
	static char buf[96];
	const char *set = getenv("LMKIT_BLAS_REEXEC"), *env = getenv("OPENBLAS_CORETYPE");
	snprintf(buf, sizeof buf, "OpenBLAS %s%s", openblas_get_corename(),
		 set && env && !strcmp(set, env) ? " (OPENBLAS_CORETYPE set by lmkit)"
		 : env ? " (OPENBLAS_CORETYPE from environment)" : "");
	return buf;
}
