/* rm: the score head and the pairwise ranking loss (see rm.h). */
#include "rm.h"
#include "gpu.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
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

rm_batch *rm_batch_new(int micro_cap, int pair_cap) {
	rm_batch *rb = xcalloc(1, sizeof *rb);
	rb->micro_cap = micro_cap;
	rb->pair_cap = pair_cap;
	rb->n = xcalloc(micro_cap, sizeof *rb->n);
	rb->at = xcalloc((size_t)micro_cap * pair_cap * 2, sizeof *rb->at);
	rb->margin = xcalloc((size_t)micro_cap * pair_cap, sizeof *rb->margin);
	rb->scores = xcalloc((size_t)pair_cap * 2, sizeof *rb->scores);
	rb->grads = xcalloc((size_t)pair_cap * 2, sizeof *rb->grads);
	rb->work = xcalloc((size_t)pair_cap * 4, sizeof *rb->work);
	return rb;
}

void rm_batch_free(rm_batch *rb) {
	if (!rb) return;
	free(rb->n); free(rb->at); free(rb->margin); free(rb->scores); free(rb->grads); free(rb->work);
	free(rb);
}

static double pairs_weight(void *ctx, const llama_ws *w, const train_batch *b) {
	const rm_batch *rb = ctx;
	double n = 0;
	for (int a = 0; a < b->micro; a++) n += rb->n[a];
	return n;
}

/* The loss of micro-batch a's pairs from their scores (rb->scores): Σ loss,
 * the report's sums, and when grad d(scale·Σ loss)/d(scores) in rb->grads. */
static double pairs_loss(rm_batch *rb, int a, float scale, int grad) {
	int n = rb->n[a];
	const float *margin = rb->margin + (size_t)a * rb->pair_cap;
	/* scores interleave chosen and rejected; the loss wants them apart */
	float *rc = rb->work, *rr = rc + rb->pair_cap, *dc = rr + rb->pair_cap, *dr = dc + rb->pair_cap;
	for (int k = 0; k < n; k++) rc[k] = rb->scores[2 * k], rr[k] = rb->scores[2 * k + 1];
	double sum = rm_pair_loss(rc, rr, margin, n, scale, grad ? dc : NULL, grad ? dr : NULL);
	for (int k = 0; k < n; k++) {
		rb->sum[RM_CORRECT] += rc[k] > rr[k];
		rb->sum[RM_DIFF] += (double)rc[k] - rr[k];
	}
	rb->sum[RM_PAIRS] += n;
	rb->sum[RM_LOSS] += sum;
	if (grad)
		for (int k = 0; k < n; k++) rb->grads[2 * k] = dc[k], rb->grads[2 * k + 1] = dr[k];
	return sum;
}

static double pairs_micro(void *ctx, llama_ws *w, const lm_model *m, lm_model *grad, const train_batch *b, int a,
			  float scale, double *weight) {
	rm_batch *rb = ctx;
	int n = rb->n[a];
	const int *at = rb->at + (size_t)a * rb->pair_cap * 2;
	size_t off = (size_t)a * w->B * w->T;
	*weight = n;
	if (!n) return 0;
	llama_forward(w, m, b->tok + off, b->pos + off, b->seg + off);
	rm_scores(rb->scores, w, m, at, 2 * n);
	double sum = pairs_loss(rb, a, scale, grad != NULL);
	if (grad) {
		rm_scores_backward(w, m, grad, at, rb->grads, 2 * n);
		llama_backward(w, m, grad);
	}
	return sum;
}

/* pairs_micro with the model on the GPU: the same scores, loss and gradient */
static double pairs_gpu(void *ctx, struct gpu_train *g, const llama_ws *w, const train_batch *b, int a, float scale,
			int grad, double *weight) {
	rm_batch *rb = ctx;
	int n = rb->n[a];
	const int *at = rb->at + (size_t)a * rb->pair_cap * 2;
	size_t off = (size_t)a * w->B * w->T;
	*weight = n;
	if (!n) return 0;
	gpu_scores(g, b->tok + off, b->pos + off, b->seg + off, at, 2 * n, grad, rb->scores);
	double sum = pairs_loss(rb, a, scale, grad);
	if (grad) gpu_scores_backward(g, rb->grads);
	return sum;
}

static void pairs_report(void *ctx, int val, char *buf, size_t size) {
	rm_batch *rb = ctx;
	if (rb->sum[RM_PAIRS] > 0)
		snprintf(buf, size, "\"%saccuracy\":%.6f,\"%smargin\":%.6f", val ? "val_" : "", rb->sum[RM_CORRECT] / rb->sum[RM_PAIRS],
			 val ? "val_" : "", rb->sum[RM_DIFF] / rb->sum[RM_PAIRS]);
	memset(rb->sum, 0, sizeof rb->sum);
}

train_objective rm_objective(rm_batch *rb) {
	return (train_objective){.weight = pairs_weight, .micro = pairs_micro, .gpu_micro = pairs_gpu, .report = pairs_report,
				 .ctx = rb};
}

static size_t chat_strip_len(const char *s) {
	size_t n = strlen(s);
	chat_strip(s, &n);
	return n;
}

const char *rm_pair_parse(rm_pair *p, const lm_tokenizer *t, const char *line, size_t len) {
	static char why[160];
	chat_dialog d = {0};
	const char *bad = chat_parse(&d, line, len, CHAT_END_USER);
	if (bad) {
		chat_free(&d);
		return bad;
	}
	cJSON *root = cJSON_ParseWithLength(line, len);
	cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "chosen"), *r = cJSON_GetObjectItemCaseSensitive(root, "rejected");
	cJSON *rating = cJSON_GetObjectItemCaseSensitive(root, "rating"), *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	cJSON *variant = cJSON_GetObjectItemCaseSensitive(root, "variant");
	const char *err = NULL;
	if (!cJSON_IsString(c) || !cJSON_IsString(r)) err = "a pair needs \"chosen\" and \"rejected\" strings";
	else if (!chat_strip_len(c->valuestring) || !chat_strip_len(r->valuestring)) err = "an empty reply";
	else if (!strcmp(c->valuestring, r->valuestring)) err = "\"chosen\" and \"rejected\" are the same reply";
	else if (!cJSON_IsString(rating) || rm_rating(rating->valuestring) < 0) {
		snprintf(why, sizeof why, "\"rating\" must be one of \"significantly better\", \"better\", "
			 "\"slightly better\", \"negligibly better\"");
		err = why;
	} else if (kind && (!cJSON_IsString(kind) || (strcmp(kind->valuestring, "helpful") && strcmp(kind->valuestring, "safe"))))
		err = "\"kind\" must be \"helpful\" or \"safe\"";
	if (!err) {
		p->rating = rm_rating(rating->valuestring);
		p->safe = kind && !strcmp(kind->valuestring, "safe");
		free(p->id);
		p->id = id ? cJSON_PrintUnformatted(id) : NULL;
		free(p->variant);
		p->variant = cJSON_IsString(variant) ? xstrdup(variant->valuestring) : NULL;
		chat_add(&d, CHAT_ASSISTANT, c->valuestring, strlen(c->valuestring));
		p->chosen.n = 0;
		chat_render(t, &d, 0, &p->chosen);
		free(d.msg[d.n - 1].content);
		d.n--;
		chat_add(&d, CHAT_ASSISTANT, r->valuestring, strlen(r->valuestring));
		p->rejected.n = 0;
		chat_render(t, &d, 0, &p->rejected);
		if (p->chosen.n == p->rejected.n && !memcmp(p->chosen.ids, p->rejected.ids, p->chosen.n * sizeof *p->chosen.ids))
			err = "\"chosen\" and \"rejected\" render the same (they differ only in surrounding white space)";
	}
	cJSON_Delete(root);
	chat_free(&d);
	return err;
}

void rm_pair_free(rm_pair *p) {
	free(p->id);
	free(p->variant);
	chat_tokens_free(&p->chosen);
	chat_tokens_free(&p->rejected);
}
