/* weights_read: the read ceiling of batch-1 decoding on this machine, with a
 * decoder's own access pattern. A token reads every matrix of the model once,
 * in the order a step reads them (wq, wk, wv, wo, w1, w3, w2 of each layer,
 * then the classifier), each matrix's rows split between the threads as a
 * decoder's team splits them; here each thread only sums its rows, with no
 * wait between matrices. Of a llama2.c model.bin (the file matvec_decoder
 * reads), TOKENS such passes a round, 3 rounds on each number of threads
 * from 1 to OpenMP's default, in turn: the median round of the fastest count
 * (on a machine shared with other jobs one thread may read faster than two;
 * the median, as a decoder's run is one run, not the best of several). No
 * fp32 decoder that reads its weights once a token outruns this.
 *
 * usage: weights_read MODEL.bin TOKENS
 * prints "tok_per_s X", "gbps G" (bytes of the matrices a token reads) and
 * "threads T" (the count that read fastest) */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "llama2c_file.h"

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: weights_read MODEL.bin TOKENS\n"); return 2; }
	Config p;
	int shared;
	float *data = llama2c_read(argv[1], &p, &shared);
	size_t D = p.dim, F = p.hidden_dim, L = p.n_layers, KV = D * p.n_kv_heads / p.n_heads, V = p.vocab_size;
	/* the matrices as the file lays them out (matvec_decoder's reading of it) */
	float *emb = data, *wq = emb + V * D + L * D, *wk = wq + L * D * D, *wv = wk + L * D * KV, *wo = wv + L * D * KV;
	float *w1 = wo + L * D * D + L * D, *w2 = w1 + L * D * F, *w3 = w2 + L * F * D;
	float *cls = shared ? emb : w3 + L * D * F + D + (size_t)p.seq_len * (D / p.n_heads);
	enum { MATS = 7 };
	int n = 0, tokens = atoi(argv[2]);
	const float *mat[MATS * 64 + 1];
	size_t rows[MATS * 64 + 1], cols[MATS * 64 + 1], total = 0;
	if (L > 64) { fprintf(stderr, "weights_read: more than 64 layers\n"); return 1; }
	for (size_t l = 0; l < L; l++) {
		const float *m[MATS] = {wq + l * D * D, wk + l * KV * D, wv + l * KV * D, wo + l * D * D, w1 + l * F * D,
					w3 + l * F * D, w2 + l * D * F};
		size_t r[MATS] = {D, KV, KV, D, F, F, D}, c[MATS] = {D, D, D, D, D, D, F};
		for (int i = 0; i < MATS; i++, n++) mat[n] = m[i], rows[n] = r[i], cols[n] = c[i];
	}
	mat[n] = cls, rows[n] = V, cols[n++] = D;
	for (int i = 0; i < n; i++) total += rows[i] * cols[i] * sizeof(float);
	float sink = 0;
	int most = omp_get_max_threads();
	double *sec = calloc(3 * most, sizeof *sec);
	for (int round = 0; round < 3 * most; round++) {
		int nt = 1 + round % most;
		double t = now();
#pragma omp parallel num_threads(nt) reduction(+ : sink)
		for (int tok = 0; tok < tokens; tok++)
			for (int i = 0; i < n; i++) {
				size_t c = cols[i];
#pragma omp for schedule(static) nowait
				for (size_t r = 0; r < rows[i]; r++) {
					const float *w = mat[i] + r * c;
					float s = 0;
#pragma omp simd reduction(+ : s)
					for (size_t k = 0; k < c; k++) s += w[k];
					sink += s;
				}
			}
		sec[round] = now() - t;
	}
	double best = 1e30;
	int fastest = 1;
	for (int nt = 1; nt <= most; nt++) {
		double a = sec[nt - 1], b = sec[most + nt - 1], c = sec[2 * most + nt - 1];
		double mid = a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
		if (mid < best) best = mid, fastest = nt;
	}
	printf("tok_per_s %.1f\ngbps %.1f\nthreads %d\n", tokens / best, total * (double)tokens / best / 1e9, fastest);
	return sink == 0.5f;   /* uses the sums, so the reads stay */
}
