/* sgemm_peak: the rate OpenBLAS's sgemm reaches on this machine (its own
 * threads, the kernel OPENBLAS_CORETYPE names) for out = x·wᵀ, x (M, K) and
 * w (N, K) row-major, the form lmkit's matmuls take; best of several runs.
 * On a large square product this is the ceiling for any model code whose
 * matmuls go through cblas_sgemm. Prints "gflops G".
 *
 * usage: sgemm_peak [M N K]   (default 4096 4096 4096) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	int m = 4096, n = 4096, k = 4096;
	if (argc == 4) m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]);
	if (argc != 1 && argc != 4) { fprintf(stderr, "usage: sgemm_peak [M N K]\n"); return 2; }
	float *x = malloc((size_t)m * k * sizeof *x), *w = malloc((size_t)n * k * sizeof *w);
	float *out = malloc((size_t)m * n * sizeof *out);
	if (!x || !w || !out) { fprintf(stderr, "sgemm_peak: out of memory\n"); return 1; }
	srand(1);
	for (size_t i = 0; i < (size_t)m * k; i++) x[i] = rand() / (float)RAND_MAX;
	for (size_t i = 0; i < (size_t)n * k; i++) w[i] = rand() / (float)RAND_MAX;
	double flop = 2.0 * m * n * k, best = 1e30, spent = 0;
	/* at least 5 runs and a second of them */
	for (int r = 0; r < 5 || spent < 1; r++) {
		double t = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, 0, out, n);
		t = now() - t;
		spent += t;
		if (t < best) best = t;
	}
	printf("gflops %.1f\n", flop / best / 1e9);
	free(x), free(w), free(out);
	return 0;
}
