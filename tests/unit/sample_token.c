/* sample_token: greedy, temperature, top-k and top-p draw from the
 * distributions they promise (frequencies over many draws), deterministically. */
#include "tap.h"
#include "sample.h"
#include "util.h"
#include <math.h>
#include <string.h>

#define V 6
#define DRAWS 200000

/* frequencies of DRAWS samples */
static void freq(const float *logits, const lm_sampling *how, double *f) {
	lm_rng r;
	rng_seed(&r, 11);
	int count[V] = {0};
	for (int i = 0; i < DRAWS; i++) count[sample_token(logits, V, how, &r)]++;
	for (int i = 0; i < V; i++) f[i] = (double)count[i] / DRAWS;
}

/* for qsort_r: ids by weight, largest first, then lowest id */
static int by_weight(const void *a, const void *b, void *w) {
	double x = ((double *)w)[*(const int *)a], y = ((double *)w)[*(const int *)b];
	if (x != y) return x > y ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

static double maxdiff(const double *a, const double *b) {
	double m = 0;
	for (int i = 0; i < V; i++) m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	const float logits[V] = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f - 1e-3f, -1.0f};
	double p[V], z = 0, f[V], want[V];
	for (int i = 0; i < V; i++) z += p[i] = exp(logits[i]);
	for (int i = 0; i < V; i++) p[i] /= z;
	lm_rng r;
	rng_seed(&r, 1);

	lm_sampling greedy = {0};
	ok(sample_token(logits, V, &greedy, &r) == 1, "greedy takes the largest logit");
	const float tie[V] = {0, 5, 1, 5, 0, 0};
	ok(sample_token(tie, V, &greedy, &r) == 1, "greedy takes the lowest id of a tie");

	/* 3-sigma bound for a frequency over DRAWS draws is below 0.0034 */
	lm_sampling t1 = {.temperature = 1};
	freq(logits, &t1, f);
	ok(maxdiff(f, p) < 0.004, "temperature 1 draws from softmax (max error %.4f)", maxdiff(f, p));

	lm_sampling t2 = {.temperature = 2};
	z = 0;
	for (int i = 0; i < V; i++) z += want[i] = exp(logits[i] / 2);
	for (int i = 0; i < V; i++) want[i] /= z;
	freq(logits, &t2, f);
	ok(maxdiff(f, want) < 0.004, "temperature 2 draws from softmax(logits/2) (max error %.4f)", maxdiff(f, want));

	lm_sampling k2 = {.temperature = 1, .top_k = 2};
	freq(logits, &k2, f);
	memset(want, 0, sizeof want);
	want[1] = p[1] / (p[1] + p[4]);
	want[4] = p[4] / (p[1] + p[4]);
	ok(maxdiff(f, want) < 0.004, "top-k 2 renormalises over the two best (max error %.4f)", maxdiff(f, want));

	lm_sampling k1 = {.temperature = 1, .top_k = 1};
	int all1 = 1;
	for (int i = 0; i < 1000; i++) all1 &= sample_token(logits, V, &k1, &r) == 1;
	ok(all1, "top-k 1 is greedy");

	/* sorted: p1 ≈ .37, p4 ≈ .37, p2 ≈ .14, p0 ≈ .05 ...: top-p 0.8 keeps {1, 4, 2} */
	lm_sampling nuc = {.temperature = 1, .top_p = 0.8f};
	freq(logits, &nuc, f);
	memset(want, 0, sizeof want);
	double kept = p[1] + p[4] + p[2];
	want[1] = p[1] / kept; want[4] = p[4] / kept; want[2] = p[2] / kept;
	ok(maxdiff(f, want) < 0.004, "top-p 0.8 keeps the smallest set reaching 0.8 (max error %.4f)", maxdiff(f, want));

	lm_sampling both = {.temperature = 1, .top_k = 2, .top_p = 0.3f};
	int only1 = 1;
	for (int i = 0; i < 1000; i++) only1 &= sample_token(logits, V, &both, &r) == 1;
	ok(only1, "top-k then top-p: 0.3 of the top 2 is the best alone");

	lm_rng a, b;
	rng_seed(&a, 5);
	rng_seed(&b, 5);
	int same = 1;
	for (int i = 0; i < 1000; i++) same &= sample_token(logits, V, &t1, &a) == sample_token(logits, V, &t1, &b);
	ok(same, "same seed, same draws");

	const float sure[V] = {-1e30f, -1e30f, -1e30f, 10, -1e30f, -1e30f};
	int always3 = 1;
	for (int i = 0; i < 1000; i++) always3 &= sample_token(sure, V, &t1, &r) == 3;
	ok(always3, "tokens of probability 0 are never drawn");

	/* A vocabulary of 32000, 300 tokens on top with close weights and ties
	 * (the boundary falls among them), the rest a flat tail with most of the
	 * tokens: found without sorting, the tokens drawn must be exactly those
	 * of the sorted nucleus (the fewest largest reaching p, ties by lowest id). */
	enum { BIG = 32000, BDRAWS = 5000 };
	static float big[BIG];
	static double bp[BIG];
	static int order[BIG], seen[BIG];
	lm_rng g;
	rng_seed(&g, 3);
	for (int i = 0; i < BIG; i++) big[i] = i % 107 == 0 ? 5.0f + 1e-3f * (i % 97) : rng_float(&g);
	float bmx = -INFINITY;
	for (int i = 0; i < BIG; i++) bmx = fmaxf(bmx, big[i]);
	double bz = 0;
	for (int i = 0; i < BIG; i++) bz += bp[i] = exp(big[i] - bmx);
	for (int i = 0; i < BIG; i++) order[i] = i;
	qsort_r(order, BIG, sizeof *order, by_weight, bp);
	/* p reaches halfway into the middle one of three equal weights near the
	 * 150th: the nucleus is the 150-odd before, and the lower id of the rest */
	int m = 150;
	while (!(bp[order[m - 1]] == bp[order[m]] && bp[order[m]] == bp[order[m + 1]])) m++;
	double c = 0;
	for (int i = 0; i < m; i++) c += bp[order[i]];
	lm_sampling bn = {.temperature = 1, .top_p = (float)((c + bp[order[m]] / 2) / bz)};
	m++;
	for (int i = 0; i < BDRAWS; i++) seen[sample_token(big, BIG, &bn, &g)]++;
	int outside = 0, missed = 0;
	for (int i = 0; i < m; i++) missed += !seen[order[i]];
	for (int i = m; i < BIG; i++) outside += seen[order[i]] > 0;
	ok(!outside && !missed, "top-p %.3f over 32000 tokens draws from the %d of the sorted nucleus only "
	   "(%d tokens outside, %d inside never drawn)", bn.top_p, m, outside, missed);

	/* a NaN or infinite logit leaves no distribution: -1, whatever the sampler */
	static const lm_sampling every[] = {{.temperature = 0}, {.temperature = 1}, {.temperature = 0.7f, .top_k = 3},
					    {.temperature = 1, .top_p = 0.9f}, {.temperature = 1e-40f}};
	float bad[3] = {NAN, INFINITY, -INFINITY};
	for (int b = 0; b < 3; b++)
		for (size_t k = 0; k < sizeof every / sizeof *every; k++) {
			float x[V] = {0.5f, 1, 0, -1, 2, 0.25f};
			x[k % V] = bad[b];
			ok(sample_token(x, V, &every[k], &g) == -1, "logit %g at %zu: -1 (sampler %zu)", bad[b], k % V, k);
		}
	/* so small a temperature that its inverse is infinite: greedy, not 0·inf */
	float x[V] = {0.5f, 1, 0, -1, 2, 0.25f};
	lm_sampling cold = {.temperature = 1e-40f};
	ok(sample_token(x, V, &cold, &g) == 4, "temperature 1e-40 is greedy");
	/* top-p below 1/V over near-uniform weights: llama2.c's cut, (1-p)/(V-1) of
	 * the mass, is above every weight; the nucleus is still the top token */
	float flat[V] = {0, 0, 0, 0.01f, 0, 0};
	lm_sampling thin = {.temperature = 1, .top_p = 0.05f}, thin_k = {.temperature = 1, .top_k = 4, .top_p = 0.05f};
	int top = sample_token(flat, V, &thin, &g), top_k = sample_token(flat, V, &thin_k, &g);
	ok(top == 3 && top_k == 3, "top-p 0.05 of 6 near-equal weights draws the top one (%d, %d)", top, top_k);
	return done_testing();
}
