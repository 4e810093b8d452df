/* attention: the fused kernel (layers.h) against attention written out in
 * double precision, probabilities and all, on shapes that stress its edges: T
 * not a multiple of its tiles or of 16 keys, a segment of one token and
 * segments starting inside a tile, head sizes of 8 and 48, GQA; and the same
 * bytes from one thread as from two. */
#include "layers.h"
#include "rng.h"
#include "tap.h"
#include "util.h"
#include <math.h>
#include <omp.h>
#include <string.h>

typedef struct {
	int B, T, nh, nkv, hd;
	const int *seg;   /* B·T or NULL */
} shape;

/* out, dq, dk, dv of plain softmax attention, in double */
static void naive(const shape *s, double *out, double *dq, double *dk, double *dv, const float *q, const float *k,
		  const float *v, const float *dout) {
	int T = s->T, hd = s->hd, qd = s->nh * hd, kvd = s->nkv * hd, group = s->nh / s->nkv;
	double scale = 1 / sqrt(hd), *p = xmalloc(T * sizeof(double)), *dp = xmalloc(T * sizeof(double));
	memset(dk, 0, sizeof(double) * s->B * T * kvd);
	memset(dv, 0, sizeof(double) * s->B * T * kvd);
	for (int b = 0; b < s->B; b++)
		for (int h = 0; h < s->nh; h++)
			for (int t = 0; t < T; t++) {
				const float *Q = q + ((long)b * T + t) * qd + h * hd, *dO = dout + ((long)b * T + t) * qd + h * hd;
				long kv = (long)b * T * kvd + (h / group) * hd;
				double mx = -INFINITY, z = 0, dot = 0;
				for (int u = 0; u <= t; u++) {
					p[u] = -INFINITY;
					if (s->seg && s->seg[b * T + u] != s->seg[b * T + t]) continue;
					double a = 0;
					for (int d = 0; d < hd; d++) a += (double)Q[d] * k[kv + (long)u * kvd + d];
					p[u] = a * scale;
					mx = p[u] > mx ? p[u] : mx;
				}
				for (int u = 0; u <= t; u++) z += p[u] = exp(p[u] - mx);
				for (int d = 0; d < hd; d++) {
					double o = 0;
					for (int u = 0; u <= t; u++) o += p[u] / z * v[kv + (long)u * kvd + d];
					out[((long)b * T + t) * qd + h * hd + d] = o;
				}
				for (int u = 0; u <= t; u++) {
					p[u] /= z;
					dp[u] = 0;
					for (int d = 0; d < hd; d++) dp[u] += (double)dO[d] * v[kv + (long)u * kvd + d];
					dot += p[u] * dp[u];
				}
				for (int d = 0; d < hd; d++) dq[((long)b * T + t) * qd + h * hd + d] = 0;
				for (int u = 0; u <= t; u++) {
					double ds = p[u] * (dp[u] - dot) * scale;
					for (int d = 0; d < hd; d++) {
						dq[((long)b * T + t) * qd + h * hd + d] += ds * k[kv + (long)u * kvd + d];
						dk[kv + (long)u * kvd + d] += ds * Q[d];
						dv[kv + (long)u * kvd + d] += p[u] * dO[d];
					}
				}
			}
	free(p);
	free(dp);
}

static double err(const float *a, const double *b, long n) {
	double d = 0, m = 0;
	for (long i = 0; i < n; i++) d += (a[i] - b[i]) * (a[i] - b[i]), m += b[i] * b[i];
	return sqrt(d / (m > 1e-300 ? m : 1e-300));
}

/* the kernel's out, dq, dk, dv side by side in r (4 parts) on nt threads */
static void fused(const shape *s, float *r, const float *q, const float *k, const float *v, const float *dout, int nt) {
	long nq = (long)s->B * s->T * s->nh * s->hd, nk = (long)s->B * s->T * s->nkv * s->hd;
	float *lse = xmalloc(sizeof(float) * s->B * s->T * s->nh);
	float *scratch = xmalloc(sizeof(float) * attention_scratch_floats(s->T, s->hd, s->nh));
	omp_set_num_threads(nt);
	attention_forward(r, lse, scratch, q, k, v, s->seg, s->B, s->T, s->nh, s->nkv, s->hd);
	attention_backward(r + nq, r + 2 * nq, r + 2 * nq + nk, scratch, dout, lse, q, k, v, s->seg, s->B, s->T, s->nh,
			   s->nkv, s->hd);
	free(lse);
	free(scratch);
}

static void check(const char *name, const shape *s) {
	long nq = (long)s->B * s->T * s->nh * s->hd, nk = (long)s->B * s->T * s->nkv * s->hd, n = 2 * nq + 2 * nk;
	float *q = xmalloc(sizeof(float) * nq), *k = xmalloc(sizeof(float) * nk), *v = xmalloc(sizeof(float) * nk);
	float *dout = xmalloc(sizeof(float) * nq), *r1 = xmalloc(sizeof(float) * n), *r2 = xmalloc(sizeof(float) * n);
	double *want = xmalloc(sizeof(double) * n);
	lm_rng g;
	rng_seed(&g, 5);
	/* scores of a few units: far from uniform attention */
	for (long i = 0; i < nq; i++) q[i] = 2 * rng_normal(&g), dout[i] = rng_normal(&g);
	for (long i = 0; i < nk; i++) k[i] = 2 * rng_normal(&g), v[i] = rng_normal(&g);
	naive(s, want, want + nq, want + 2 * nq, want + 2 * nq + nk, q, k, v, dout);
	fused(s, r1, q, k, v, dout, 1);
	fused(s, r2, q, k, v, dout, 2);
	const char *part[4] = {"out", "dq", "dk", "dv"};
	long at[5] = {0, nq, 2 * nq, 2 * nq + nk, n};
	for (int i = 0; i < 4; i++) {
		double e = err(r1 + at[i], want + at[i], at[i + 1] - at[i]);
		ok(e < 1e-5, "%s: %s (relative error %.2g)", name, part[i], e);
	}
	ok(!memcmp(r1, r2, sizeof(float) * n), "%s: the same bytes on 1 and 2 threads", name);
	free(q); free(k); free(v); free(dout); free(r1); free(r2); free(want);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	enum { B = 8, T = 37 };
	int seg[B * T];
	/* even rows: segments [0,5) [5,13) [13,14) [14,30) [30,37); odd rows: one
	 * (8 rows: enough work for the kernel to use both threads) */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) seg[b * T + t] = b % 2 ? 9 : (t >= 5) + (t >= 13) + (t >= 14) + (t >= 30);
	check("GQA, head size 8, packed segments", &(shape){B, T, 4, 2, 8, seg});
	check("head size 48, 300 positions", &(shape){1, 300, 2, 2, 48, NULL});
	check("head size 20, 3 heads a KV head", &(shape){2, 19, 6, 2, 20, NULL});
	check("one position", &(shape){3, 1, 2, 1, 8, NULL});
	return done_testing();
}
