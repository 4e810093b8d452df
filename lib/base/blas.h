/* blas: OpenBLAS, opened after the environment it reads when it loads is set,
 * and the OpenMP setting libgomp reads when it starts.
 *
 * Debian 12's OpenBLAS 0.3.21 does not know recent CPUs and falls back to its
 * SSE3 "Prescott" kernels, about 5x slower than its AVX-512 ones. It reads
 * OPENBLAS_CORETYPE only when it loads, and libgomp reads OMP_WAIT_POLICY only
 * when it starts. So a program that calls OpenBLAS through lmkit does not link
 * it: a constructor that runs before libgomp's (linked statically for this)
 * sets both variables, unless the user set them, then opens OpenBLAS with
 * dlopen and calls it through a table: OPENBLAS_CORETYPE names the best kernel
 * the CPU supports (SkylakeX with AVX-512, Haswell with AVX2), and OpenMP waits
 * are passive. No re-execution, so debuggers and valgrind see one program.
 *
 * The OpenBLAS functions lmkit calls (cblas_sgemm, cblas_sgemv,
 * openblas_set_num_threads, openblas_get_num_threads, openblas_get_corename)
 * are defined here and call the opened library; calling another needs an
 * entry in blas.c's table. */
#ifndef LM_BLAS_H
#define LM_BLAS_H
#include <cblas.h>

/* Call right after lm_init in tools that run the model: --version then shows
 * the kernel. */
void blas_init(void);
/* n threads for both pools, OpenBLAS's and OpenMP's (a --threads option) */
void blas_threads(int n);
/* e.g. "OpenBLAS SkylakeX (OPENBLAS_CORETYPE set by lmkit)" */
const char *blas_kernel(void);

/* Have OpenBLAS map its work buffer now (see blas.c): before large allocations,
 * so that a short address space fails in them, not in OpenBLAS. */
void blas_reserve(void);

#endif
