/* matvec_decoder: the floor any C decoder reaches. llama2.c's run.c forward
 * pass, unchanged in substance: a KV cache, each projection a matrix-vector
 * loop whose rows an OpenMP team splits (the inner sum marked omp simd, so it
 * vectorizes as -ffast-math would let it), attention's heads split the same
 * way; no BLAS, no kernels of its own. Samples at temperature 1 as
 * lm-sample -t 1 does. bench/sample.sh runs it on its model (written by
 * lm-convert -t llama2c) next to lm-sample at batch 1; the Makefile builds it
 * alone with -O3 -march=native -fopenmp.
 *
 * usage: matvec_decoder MODEL.bin TOKENS [SEED]
 * prints "tok_per_s X" and "tok_per_cpu_s Y" (CPU seconds of all threads) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama2c_file.h"

typedef struct {
	float *token_embedding_table, *rms_att_weight, *wq, *wk, *wv, *wo, *rms_ffn_weight, *w1, *w2, *w3,
		*rms_final_weight, *wcls;
} Weights;

static double clock_of(clockid_t id) {
	struct timespec t;
	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void rmsnorm(float *o, const float *x, const float *weight, int size) {
	float ss = 0.0f;
	for (int j = 0; j < size; j++) ss += x[j] * x[j];
	ss = 1.0f / sqrtf(ss / size + 1e-5f);
	for (int j = 0; j < size; j++) o[j] = weight[j] * (ss * x[j]);
}

static void softmax(float *x, int size) {
	float max_val = x[0], sum = 0.0f;
	for (int i = 1; i < size; i++)
		if (x[i] > max_val) max_val = x[i];
	for (int i = 0; i < size; i++) sum += x[i] = expf(x[i] - max_val);
	for (int i = 0; i < size; i++) x[i] /= sum;
}

/* xout(d) = W(d, n) · x(n) */
static void matmul(float *xout, const float *x, const float *w, int n, int d) {
#pragma omp parallel for
	for (int i = 0; i < d; i++) {
		float val = 0.0f;
#pragma omp simd reduction(+ : val)
		for (int j = 0; j < n; j++) val += w[(size_t)i * n + j] * x[j];
		xout[i] = val;
	}
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: matvec_decoder MODEL.bin TOKENS [SEED]\n"); return 2; }
	Config p;
	int shared;
	float *data = llama2c_read(argv[1], &p, &shared);
	int hs = p.dim / p.n_heads, kv_dim = p.dim * p.n_kv_heads / p.n_heads, kv_mul = p.n_heads / p.n_kv_heads;
	size_t L = p.n_layers;
	Weights w;
	float *ptr = data;
	w.token_embedding_table = ptr; ptr += (size_t)p.vocab_size * p.dim;
	w.rms_att_weight = ptr; ptr += L * p.dim;
	w.wq = ptr; ptr += L * p.dim * p.dim;
	w.wk = ptr; ptr += L * p.dim * kv_dim;
	w.wv = ptr; ptr += L * p.dim * kv_dim;
	w.wo = ptr; ptr += L * p.dim * p.dim;
	w.rms_ffn_weight = ptr; ptr += L * p.dim;
	w.w1 = ptr; ptr += L * p.dim * p.hidden_dim;
	w.w2 = ptr; ptr += L * p.hidden_dim * p.dim;
	w.w3 = ptr; ptr += L * p.dim * p.hidden_dim;
	w.rms_final_weight = ptr; ptr += p.dim;
	ptr += (size_t)p.seq_len * hs;   /* freq_cis_real and _imag */
	w.wcls = shared ? w.token_embedding_table : ptr;

	float *x = calloc(p.dim, 4), *xb = calloc(p.dim, 4), *xb2 = calloc(p.dim, 4), *hb = calloc(p.hidden_dim, 4),
	      *hb2 = calloc(p.hidden_dim, 4), *q = calloc(p.dim, 4), *att = calloc((size_t)p.n_heads * p.seq_len, 4),
	      *logits = calloc(p.vocab_size, 4);
	float *key_cache = calloc(L * p.seq_len * kv_dim, 4), *value_cache = calloc(L * p.seq_len * kv_dim, 4);
	int steps = atoi(argv[2]);
	if (steps >= p.seq_len) steps = p.seq_len - 1;
	uint64_t rng = argc > 3 ? strtoull(argv[3], 0, 10) : 1;
	double t0 = clock_of(CLOCK_MONOTONIC), c0 = clock_of(CLOCK_PROCESS_CPUTIME_ID), sink = 0;
	int token = 1;
	for (int pos = 0; pos < steps; pos++) {
		memcpy(x, w.token_embedding_table + (size_t)token * p.dim, p.dim * sizeof *x);
		for (size_t l = 0; l < L; l++) {
			rmsnorm(xb, x, w.rms_att_weight + l * p.dim, p.dim);
			size_t loff = l * p.seq_len * kv_dim;
			float *k = key_cache + loff + (size_t)pos * kv_dim, *v = value_cache + loff + (size_t)pos * kv_dim;
			matmul(q, xb, w.wq + l * p.dim * p.dim, p.dim, p.dim);
			matmul(k, xb, w.wk + l * p.dim * kv_dim, p.dim, kv_dim);
			matmul(v, xb, w.wv + l * p.dim * kv_dim, p.dim, kv_dim);
			/* RoPE, interleaved pairs */
			for (int i = 0; i < p.dim; i += 2) {
				int head_dim = i % hs;
				float freq = 1.0f / powf(10000.0f, head_dim / (float)hs), val = pos * freq;
				float fcr = cosf(val), fci = sinf(val);
				for (int vi = 0; vi < (i < kv_dim ? 2 : 1); vi++) {
					float *vec = vi == 0 ? q : k, v0 = vec[i], v1 = vec[i + 1];
					vec[i] = v0 * fcr - v1 * fci;
					vec[i + 1] = v0 * fci + v1 * fcr;
				}
			}
#pragma omp parallel for
			for (int h = 0; h < p.n_heads; h++) {
				float *qh = q + h * hs, *a = att + (size_t)h * p.seq_len;
				for (int t = 0; t <= pos; t++) {
					float *kh = key_cache + loff + (size_t)t * kv_dim + (h / kv_mul) * hs, score = 0.0f;
					for (int i = 0; i < hs; i++) score += qh[i] * kh[i];
					a[t] = score / sqrtf(hs);
				}
				softmax(a, pos + 1);
				float *o = xb + h * hs;
				memset(o, 0, hs * sizeof *o);
				for (int t = 0; t <= pos; t++) {
					float *vh = value_cache + loff + (size_t)t * kv_dim + (h / kv_mul) * hs;
					for (int i = 0; i < hs; i++) o[i] += a[t] * vh[i];
				}
			}
			matmul(xb2, xb, w.wo + l * p.dim * p.dim, p.dim, p.dim);
			for (int i = 0; i < p.dim; i++) x[i] += xb2[i];
			rmsnorm(xb, x, w.rms_ffn_weight + l * p.dim, p.dim);
			matmul(hb, xb, w.w1 + l * p.dim * p.hidden_dim, p.dim, p.hidden_dim);
			matmul(hb2, xb, w.w3 + l * p.dim * p.hidden_dim, p.dim, p.hidden_dim);
			for (int i = 0; i < p.hidden_dim; i++) hb[i] = hb[i] * (1.0f / (1.0f + expf(-hb[i]))) * hb2[i];
			matmul(xb, hb, w.w2 + l * p.dim * p.hidden_dim, p.hidden_dim, p.dim);
			for (int i = 0; i < p.dim; i++) x[i] += xb[i];
		}
		rmsnorm(x, x, w.rms_final_weight, p.dim);
		matmul(logits, x, w.wcls, p.dim, p.vocab_size);
		/* temperature 1: a draw from softmax(logits) */
		softmax(logits, p.vocab_size);
		rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
		float u = (float)((rng * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f, cdf = 0;
		token = p.vocab_size - 1;
		for (int i = 0; i < p.vocab_size; i++)
			if (u < (cdf += logits[i])) { token = i; break; }
		sink += token;
	}
	double t = clock_of(CLOCK_MONOTONIC) - t0, c = clock_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("tok_per_s %.1f\ntok_per_cpu_s %.1f\n", steps / t, steps / c);
	return sink < 0;
}
