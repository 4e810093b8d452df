/* rm: the score head and the pairwise ranking loss (see rm.h). */
#include "rm.h"
#include "util.h"
#include <math.h>
#include <string.h>

static const char *RATING[RM_RATINGS] = {"significantly better", "better", "slightly better", "negligibly better"};
static const char *TABLE[] = {"none", "small", "large"};
static const float MARGIN[3][RM_RATINGS] = {{0, 0, 0, 0}, {1, 2.0f / 3, 1.0f / 3, 0}, {3, 2, 1, 0}};

int rm_rating(const char *name) {
	for (int r = 0; r < RM_RATINGS; r++)
		if (!strcmp(name, RATING[r])) return r;
	return -1;
}

const char *rm_rating_name(int rating) { return RATING[rating]; }

int rm_margin_table(const char *name) {
	for (int t = 0; t < 3; t++)
		if (!strcmp(name, TABLE[t])) return t;
	return -1;
}

float rm_margin(int table, int rating) { return MARGIN[table][rating]; }

void rm_scores(float *scores, const llama_ws *w, const lm_model *m, const int *at, int n) {
	int D = m->cfg.dim;
	for (int i = 0; i < n; i++) {
		const float *h = w->hf + (long)at[i] * D;
		double s = 0;
		for (int d = 0; d < D; d++) s += (double)m->p.score[d] * h[d];
		scores[i] = (float)s;
	}
}

void rm_scores_backward(llama_ws *w, const lm_model *m, lm_model *grad, const int *at, const float *g, int n) {
	int D = m->cfg.dim;
	memset(w->dhf, 0, sizeof(float) * (size_t)w->B * w->T * D);
	for (int i = 0; i < n; i++) {
		const float *h = w->hf + (long)at[i] * D;
		float *dh = w->dhf + (long)at[i] * D;
		for (int d = 0; d < D; d++) {
			dh[d] += g[i] * m->p.score[d];
			grad->p.score[d] += g[i] * h[d];
		}
	}
}

/* log(1 + e^x) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

double rm_pair_loss(const float *rc, const float *rr, const float *margin, int n, float scale, float *dc, float *dr) {
	double sum = 0;
	for (int i = 0; i < n; i++) {
		double d = (double)rc[i] - rr[i] - (margin ? margin[i] : 0);
		sum += softplus(-d);   /* -log σ(d) */
		if (dc) {
			double g = -1.0 / (1.0 + exp(d));   /* d(-log σ(d))/dd = σ(d) - 1 */
			dc[i] = (float)(scale * g);
			dr[i] = (float)(-scale * g);
		}
	}
	return sum;
}
