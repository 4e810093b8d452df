/* blas: the environment OpenBLAS and OpenMP read when they load, set before
 * they do.
 *
 * Debian 12's OpenBLAS 0.3.21 does not know recent Xeons and falls back to its
 * SSE3 "Prescott" kernels, about 5x slower than its AVX-512 ones. It reads
 * OPENBLAS_CORETYPE only when it loads, and libgomp reads OMP_WAIT_POLICY only
 * when it loads, so blas_init re-executes the program once with the variables
 * set: the best core the CPU supports when OpenBLAS chose an older one, and
 * passive OpenMP waits. A user's own setting of either is kept. */
#ifndef LM_BLAS_H
#define LM_BLAS_H
#include <cblas.h>

/* Call right after lm_init in tools that run the model (the others do not load
 * OpenBLAS at all: its threads would only take CPU time from them). */
void blas_init(int argc, char **argv);
/* n threads for both pools, OpenBLAS's and OpenMP's (a --threads option) */
void blas_threads(int n);
/* e.g. "OpenBLAS SkylakeX (OPENBLAS_CORETYPE set by lmkit)" */
const char *blas_kernel(void);

#endif
