/* sgemm_step: OpenBLAS's sgemm at the products of a decoding step, in a
 * step's order: for each layer q, k, v, o, w1, w3, w2, then the classifier,
 * each out = x·wᵀ of M rows (x (M, K), w (N, K) row-major, as lmkit's
 * products), over distinct weights of the model's sizes (a step reads them
 * all, as a decoder does), STEPS steps a round, 3 rounds. The rate that
 * batch-M decoding through cblas_sgemm cannot pass, measured as a decoder's
 * run is: the median round, by wall time and per CPU-second (on a machine
 * shared with other jobs the two differ). bench/sgemm_peak.c gives the best
 * run at one shape instead.
 *
 * usage: sgemm_step M DIM HIDDEN LAYERS KV_DIM VOCAB STEPS
 * prints "gflops G" and "gflops_per_cpu_s C" */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_of(clockid_t id) {
	struct timespec t;
	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_floats(size_t n) {
	float *p = malloc(n * sizeof *p);
	if (!p) { fprintf(stderr, "sgemm_step: out of memory\n"); exit(1); }
	for (size_t i = 0; i < n; i++) p[i] = rand() / (float)RAND_MAX - 0.5f;
	return p;
}

static double mid(double a, double b, double c) {
	return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

int main(int argc, char **argv) {
	if (argc != 8) { fprintf(stderr, "usage: sgemm_step M DIM HIDDEN LAYERS KV_DIM VOCAB STEPS\n"); return 2; }
	int M = atoi(argv[1]), D = atoi(argv[2]), F = atoi(argv[3]), L = atoi(argv[4]), KV = atoi(argv[5]);
	int V = atoi(argv[6]), steps = atoi(argv[7]);
	enum { P = 7 };
	int out[P] = {D, KV, KV, D, F, F, D}, in[P] = {D, D, D, D, D, D, F};
	float **w = malloc(((size_t)L * P + 1) * sizeof *w);
	double flop = 0;
	for (int l = 0; l < L; l++)
		for (int i = 0; i < P; i++) w[l * P + i] = random_floats((size_t)out[i] * in[i]), flop += 2.0 * M * out[i] * in[i];
	w[L * P] = random_floats((size_t)V * D);
	flop += 2.0 * M * V * D;
	int big = F > D ? F : D;
	float *x = random_floats((size_t)M * big), *y = random_floats((size_t)M * (V > big ? V : big));
	double wall[3], cpu[3];
	for (int r = 0; r < 3; r++) {
		double t = clock_of(CLOCK_MONOTONIC), c = clock_of(CLOCK_PROCESS_CPUTIME_ID);
		for (int s = 0; s < steps; s++) {
			for (int l = 0; l < L; l++)
				for (int i = 0; i < P; i++)
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, out[i], in[i], 1, x, in[i], w[l * P + i],
						    in[i], 0, y, out[i]);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, V, D, 1, x, D, w[L * P], D, 0, y, V);
		}
		wall[r] = clock_of(CLOCK_MONOTONIC) - t;
		cpu[r] = clock_of(CLOCK_PROCESS_CPUTIME_ID) - c;
	}
	printf("gflops %.1f\ngflops_per_cpu_s %.1f\n", flop * steps / mid(wall[0], wall[1], wall[2]) / 1e9,
	       flop * steps / mid(cpu[0], cpu[1], cpu[2]) / 1e9);
	return 0;
}
