/* decode_paths: decoding's kernels (layers.h's matmul_decode, the sampler's
 * attention over its cache) forced onto each path the CPU runs (AVX-512,
 * AVX2, portable) give the portable path's bits; so do one thread and two,
 * and a sequence decoded alone or among others. The portable product is
 * within the rounding bound of a sum of IN fp32 terms of a double one. */
#include "tap.h"
#include "layers.h"
#include "rng.h"
#include "sample.h"
#include "sampling_mix.h"
#include "util.h"
#include <omp.h>
#include <string.h>

static const char *PATHS[] = {"portable", "avx2", "avx512"};
enum { N_PATHS = 3 };

static void products(void) {
	static const int IN[] = {1, 5, 16, 17, 33, 72, 288};
	/* panels of 16, 48 and 64 columns, a last one part zeros, several groups */
	static const int OUTS[] = {1, 3, 7, 48, 70, 200};
	static const int NS[] = {1, 2, 3, 4, 5, 7, 13};
	int max_in = 288, max_out = 200, max_n = 13;
	float *w = xmalloc((size_t)max_out * max_in * sizeof *w), *x = xmalloc((size_t)max_n * max_in * sizeof *x);
	float *pk = xmalloc(decode_packed_floats(max_in, max_out) * sizeof *pk);
	float *ref = xmalloc((size_t)max_n * max_out * sizeof *ref), *got = xmalloc((size_t)max_n * max_out * sizeof *got);
	lm_rng r;
	rng_seed(&r, 11);
	int close = 1, alone = 1, split = 1, same[N_PATHS] = {1, 1, 1}, ran[N_PATHS] = {0};
	for (size_t a = 0; a < sizeof IN / sizeof *IN; a++)
		for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
			for (size_t c = 0; c < sizeof NS / sizeof *NS; c++) {
				int in = IN[a], out = OUTS[b], n = NS[c];
				for (int i = 0; i < out * in; i++) w[i] = rng_normal(&r);
				for (int i = 0; i < n * in; i++) x[i] = rng_normal(&r);
				decode_pack(pk, w, in, out);
				decode_use("portable");
				matmul_decode(ref, x, pk, n, in, out, 0, out);
				for (int i = 0; i < n; i++)
					for (int j = 0; j < out; j++) {
						double s = 0, mag = 0;
						for (int k = 0; k < in; k++) {
							double p = (double)w[(size_t)j * in + k] * x[(size_t)i * in + k];
							s += p;
							mag += fabs(p);
						}
						if (fabs(ref[(size_t)i * out + j] - s) > in * 0x1p-24 * mag + 1e-30) close = 0;
					}
				for (int p = 0; p < N_PATHS; p++) {
					if (!decode_use(PATHS[p])) continue;
					ran[p] = 1;
					memset(got, 0, (size_t)n * out * sizeof *got);
					matmul_decode(got, x, pk, n, in, out, 0, out);
					same[p] &= !memcmp(got, ref, (size_t)n * out * sizeof *got);
					/* outputs in pieces of whole groups, as a team splits them */
					memset(got, 0, (size_t)n * out * sizeof *got);
					for (int j = 0; j < out; j += DECODE_GROUP)
						matmul_decode(got, x, pk, n, in, out, j, j + DECODE_GROUP < out ? j + DECODE_GROUP : out);
					split &= !memcmp(got, ref, (size_t)n * out * sizeof *got);
					/* each row alone */
					for (int i = 0; i < n; i++) {
						matmul_decode(got, x + (size_t)i * in, pk, 1, in, out, 0, out);
						alone &= !memcmp(got, ref + (size_t)i * out, out * sizeof *got);
					}
				}
			}
	ok(close, "the portable product is within the rounding bound of IN fp32 terms of a double one");
	for (int p = 0; p < N_PATHS; p++) {
		if (ran[p]) ok(same[p], "matmul_decode on %s gives the portable bits", PATHS[p]);
		else ok(1, "# SKIP the CPU lacks %s", PATHS[p]);
	}
	ok(split, "outputs split in pieces give the same bits");
	ok(alone, "a row alone gives the bits it gives among others");
	free(w), free(x), free(ref), free(got), free(pk);
}

#define NSEQ 8
#define LEN 80
typedef struct { int32_t ids[LEN]; int n; double lp; } result;

static lm_sampling how_for(int i) { return sampling_mix(i, 40); }

/* NSEQ sequences decoded together (or each alone), prompts of 1 to 20 tokens */
static void run(const lm_model *m, int together, result *res) {
	lm_sampler *s = together ? sampler_new(m, NSEQ, LEN) : NULL;
	for (int i = 0; i < NSEQ; i++) {
		int32_t p[20];
		int n = 1 + (i * 7) % 20;
		p[0] = 1;
		for (int j = 1; j < n; j++) p[j] = 3 + (i * 31 + j * 17) % 200;
		lm_sampling h = how_for(i);
		if (!together) s = sampler_new(m, 1, LEN);
		sampler_start(s, p, n, &h, 100 + i);
		if (together) continue;
		while (sampler_step(s)) {}
		const int32_t *t = sampler_tokens(s, 0, &res[i].n);
		memcpy(res[i].ids, t, res[i].n * sizeof *t);
		res[i].lp = sampler_logprob(s, 0);
		sampler_free(s);
	}
	if (!together) return;
	while (sampler_step(s)) {}
	for (int i = 0; i < NSEQ; i++) {
		const int32_t *t = sampler_tokens(s, i, &res[i].n);
		memcpy(res[i].ids, t, res[i].n * sizeof *t);
		res[i].lp = sampler_logprob(s, i);
	}
	sampler_free(s);
}

static int same_results(const result *a, const result *b) {
	for (int i = 0; i < NSEQ; i++)
		if (a[i].n != b[i].n || memcmp(a[i].ids, b[i].ids, a[i].n * sizeof *a[i].ids) || a[i].lp != b[i].lp) return 0;
	return 1;
}

/* head sizes 16 (each path's vector attention) and 24 (AVX-512's falls back to
 * the portable loops); dims with a tail past a multiple of 16 */
static void sampler(int dim, int n_heads, int n_kv_heads, int hidden) {
	lm_config c;
	config_default(&c);
	c.dim = dim; c.n_layers = 2; c.n_heads = n_heads; c.n_kv_heads = n_kv_heads; c.vocab_size = 333;
	c.hidden_dim = hidden; c.max_seq_len = 128;
	config_finish(&c);
	lm_model *m = model_new(&c);
	model_init(m, 5);
	/* a sharper distribution than init's, so samplers have something to choose between */
	for (size_t i = 0; i < (size_t)c.vocab_size * c.dim; i++) m->p.tok_embeddings[i] *= 40;
	static result ref[NSEQ], got[NSEQ];
	decode_use("portable");
	omp_set_num_threads(1);
	run(m, 1, ref);
	int tokens = 0;
	for (int i = 0; i < NSEQ; i++) tokens += ref[i].n;
	ok(tokens > NSEQ * 20, "hd %d: the sequences ran (%d tokens)", dim / n_heads, tokens);
	for (int p = 0; p < N_PATHS; p++) {
		if (!decode_use(PATHS[p])) {
			ok(1, "# SKIP the CPU lacks %s", PATHS[p]);
			continue;
		}
		int all = 1;
		for (int threads = 1; threads <= 2; threads++) {
			omp_set_num_threads(threads);
			run(m, 1, got);
			all &= same_results(got, ref);
		}
		run(m, 0, got);
		all &= same_results(got, ref);
		ok(all, "hd %d, %s: the portable path's tokens and log-probs, on 1 or 2 threads, together or alone",
		   dim / n_heads, PATHS[p]);
	}
	omp_set_num_threads(2);
	model_free(m);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	products();
	sampler(64, 4, 2, 172);
	sampler(72, 3, 3, 200);
	return done_testing();
}
