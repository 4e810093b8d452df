/* blas: OpenBLAS kernel selection. Debian 12's OpenBLAS 0.3.21 does not know
 * recent Xeons and falls back to its SSE3 "Prescott" kernels, about 5x slower
 * than its AVX-512 ones. It reads OPENBLAS_CORETYPE only when it loads, so
 * blas_init re-executes the program once with the variable set when OpenBLAS
 * chose a core older than what the CPU supports. A user's own setting is kept. */
#ifndef LM_BLAS_H
#define LM_BLAS_H
#include <cblas.h>

void blas_init(int argc, char **argv);
/* e.g. "SkylakeX (set by lmkit)" or "Haswell (OPENBLAS_CORETYPE)" or "Prescott" */
const char *blas_kernel(void);

#endif
