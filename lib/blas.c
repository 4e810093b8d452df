#include "blas.h"
#include "util.h"
#include <omp.h>
#include <stdio.h>
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

static const char *version_note(void) {
	static char buf[120];
	snprintf(buf, sizeof buf, "BLAS: %s", blas_kernel());
	return buf;
}

void blas_init(int argc, char **argv) {
	(void)argc;
	lm_version_note = version_note;
	if (getenv("LMKIT_REEXEC")) return;
	int again = 0;
	/* Our OpenMP teams and OpenBLAS's own threads take turns on the same cores:
	 * workers spinning while the other pool works starve it. Measured on 2 cores:
	 * batch-1 sampling 2.5x faster with passive waits, training no slower. */
	if (!getenv("OMP_WAIT_POLICY")) {
		setenv("OMP_WAIT_POLICY", "passive", 1);
		again = 1;
	}
	const char *core = openblas_get_corename(), *want = best_core(), *set = "";
	if (!getenv("OPENBLAS_CORETYPE") && want && core && is_fallback(core)) {
		setenv("OPENBLAS_CORETYPE", want, 1);
		set = want;
		again = 1;
	}
	if (!again) return;
	/* the value records which core lmkit chose, for blas_kernel */
	setenv("LMKIT_REEXEC", *set ? set : "-", 1);
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc): run with the environment the libraries already read */
}

void blas_threads(int n) {
	openblas_set_num_threads(n);
	omp_set_num_threads(n);
}

const char *blas_kernel(void) {
	static char buf[96];
	const char *set = getenv("LMKIT_REEXEC"), *env = getenv("OPENBLAS_CORETYPE");
	snprintf(buf, sizeof buf, "OpenBLAS %s%s", openblas_get_corename(),
		 set && env && !strcmp(set, env) ? " (OPENBLAS_CORETYPE set by lmkit)"
		 : env ? " (OPENBLAS_CORETYPE from environment)" : "");
	return buf;
}
