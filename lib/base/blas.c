#include "blas.h"
#include "util.h"
#include <dlfcn.h>
#include <errno.h> /* program_invocation_short_name */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENBLAS "libopenblas.so.0"

/* OpenBLAS's entry points that lmkit calls, from the library blas_load opened */
static struct {
	__typeof__(cblas_sgemm) *sgemm;
	__typeof__(cblas_sgemv) *sgemv;
	__typeof__(openblas_set_num_threads) *set_threads;
	__typeof__(openblas_get_num_threads) *get_threads;
	__typeof__(openblas_get_corename) *corename;
} ob;
static const char *core_set; /* the OPENBLAS_CORETYPE lmkit chose, if it did */

/* The best of the kernels OpenBLAS has for the CPU's vector units. Where
 * OpenBLAS recognises the CPU it picks the same sgemm kernels under another
 * name (Cooperlake's are SkylakeX's, Zen's are Haswell's); where it does not,
 * it falls back to SSE3 ones, about 5x slower. */
static const char *best_core(void) {
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
	return NULL;
}

static void *sym(void *h, const char *name) {
	void *f = dlsym(h, name);
	if (!f) die("%s", dlerror());
	return f;
}

/* Priority 101 puts this before every constructor without one, libgomp's
 * among them (the Makefile links libgomp statically for this: a shared one
 * would read OMP_WAIT_POLICY before any code of ours runs). OpenBLAS is not
 * linked at all but opened here, once its variable is set. */
__attribute__((constructor(101))) static void blas_load(void) {
	lm_progname = program_invocation_short_name; /* for die, before lm_init */
	/* Our OpenMP teams and OpenBLAS's own threads take turns on the same cores:
	 * workers spinning while the other pool works starve it. Measured on 2 cores:
	 * batch-1 sampling 2.5x faster with passive waits, training no slower. */
	if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1)) die_errno("setenv");
	/* A program that links OpenBLAS itself has it loaded already, and it read
	 * its variable then: setting it now would only mislead blas_kernel. */
	const char *want = best_core();
	if (want && !getenv("OPENBLAS_CORETYPE") && !dlopen(OPENBLAS, RTLD_NOW | RTLD_NOLOAD)) {
		if (setenv("OPENBLAS_CORETYPE", want, 1)) die_errno("setenv");
		core_set = want;
	}
	void *h = dlopen(OPENBLAS, RTLD_NOW | RTLD_LOCAL);
	if (!h) die("%s", dlerror());
	ob.sgemm = sym(h, "cblas_sgemm");
	ob.sgemv = sym(h, "cblas_sgemv");
	ob.set_threads = sym(h, "openblas_set_num_threads");
	ob.get_threads = sym(h, "openblas_get_num_threads");
	ob.corename = sym(h, "openblas_get_corename");
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
		 const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
		 const blasint lda, const float *B, const blasint ldb, const float beta, float *C, const blasint ldc) {
	ob.sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cblas_sgemv(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE t, const blasint M, const blasint N,
		 const float alpha, const float *A, const blasint lda, const float *x, const blasint incx,
		 const float beta, float *y, const blasint incy) {
	ob.sgemv(order, t, M, N, alpha, A, lda, x, incx, beta, y, incy);
}

void openblas_set_num_threads(int n) { ob.set_threads(n); }
int openblas_get_num_threads(void) { return ob.get_threads(); }
char *openblas_get_corename(void) { return ob.corename(); }

static const char *version_note(void) {
	static char buf[120];
	snprintf(buf, sizeof buf, "BLAS: %s", blas_kernel());
	return buf;
}

void blas_init(void) {
	lm_version_note = version_note;
}

void blas_threads(int n) {
	openblas_set_num_threads(n);
	omp_set_num_threads(n);
}

const char *blas_kernel(void) {
	static char buf[96];
	snprintf(buf, sizeof buf, "OpenBLAS %s%s", openblas_get_corename(),
		 core_set ? " (OPENBLAS_CORETYPE set by lmkit)"
		 : getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE from environment)" : "");
	return buf;
}

/* OpenBLAS maps its work buffer (128 MiB of address space) at its first
 * product and, when the mapping fails, retries forever: made before the
 * model and the optimizer are (train.c), a process whose memory limit cannot hold
 * them fails in their allocation with "out of memory" instead of hanging. */
void blas_reserve(void) {
	enum { N = 128 };
	float *a = xcalloc(3 * N * N, sizeof *a);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, a + N * N, N, 0.0f, a + 2 * N * N, N);
	free(a);
}
