#include "model.h"
#include "rng.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The block layout, in order; per-layer entries repeat n_layers times. */
enum { ONCE, PER_LAYER };
typedef struct { int per_layer; const char *hf; int rows, cols; int decay, rope; } entry;

static int table(const lm_config *c, entry *e) {
	int hd = c->dim / c->n_heads, q = c->n_heads * hd, kv = c->n_kv_heads * hd, n = 0;
	e[n++] = (entry){ONCE, "model.embed_tokens.weight", c->vocab_size, c->dim, 1, 0};
	e[n++] = (entry){PER_LAYER, "input_layernorm.weight", c->dim, 0, 0, 0};
	e[n++] = (entry){PER_LAYER, "self_attn.q_proj.weight", q, c->dim, 1, 1};
	e[n++] = (entry){PER_LAYER, "self_attn.k_proj.weight", kv, c->dim, 1, 1};
	e[n++] = (entry){PER_LAYER, "self_attn.v_proj.weight", kv, c->dim, 1, 0};
	e[n++] = (entry){PER_LAYER, "self_attn.o_proj.weight", c->dim, q, 1, 0};
	e[n++] = (entry){PER_LAYER, "post_attention_layernorm.weight", c->dim, 0, 0, 0};
	e[n++] = (entry){PER_LAYER, "mlp.gate_proj.weight", c->hidden_dim, c->dim, 1, 0};
	e[n++] = (entry){PER_LAYER, "mlp.down_proj.weight", c->dim, c->hidden_dim, 1, 0};
	e[n++] = (entry){PER_LAYER, "mlp.up_proj.weight", c->hidden_dim, c->dim, 1, 0};
	e[n++] = (entry){ONCE, "model.norm.weight", c->dim, 0, 0, 0};
	if (!c->tied) e[n++] = (entry){ONCE, "lm_head.weight", c->vocab_size, c->dim, 1, 0};
	return n;
}

static size_t esize(const entry *e) { return (size_t)e->rows * (e->cols ? e->cols : 1); }

size_t params_count(const lm_config *c) {
	entry e[16];
	int n = table(c, e);
	size_t total = 0;
	for (int i = 0; i < n; i++) total += esize(&e[i]) * (e[i].per_layer ? c->n_layers : 1);
	return total;
}

void params_point(lm_params *p, const lm_config *c, float *b) {
	entry e[16];
	int n = table(c, e);
	float **slot[] = {&p->tok_embeddings, &p->attention_norm, &p->wq, &p->wk, &p->wv, &p->wo,
			  &p->ffn_norm, &p->w1, &p->w2, &p->w3, &p->norm, &p->output};
	for (int i = 0; i < n; i++) {
		*slot[i] = b;
		b += esize(&e[i]) * (e[i].per_layer ? c->n_layers : 1);
	}
	if (c->tied) p->output = p->tok_embeddings;
}

int params_tensors(const lm_config *c, lm_tensor *out) {
	entry e[16];
	int n = table(c, e), count = 0;
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		int reps = e[i].per_layer ? c->n_layers : 1;
		for (int l = 0; l < reps; l++, count++) {
			if (!out) continue;
			lm_tensor *t = &out[count];
			if (e[i].per_layer) snprintf(t->name, sizeof t->name, "model.layers.%d.%s", l, e[i].hf);
			else snprintf(t->name, sizeof t->name, "%s", e[i].hf);
			t->offset = off + (size_t)l * esize(&e[i]);
			t->size = esize(&e[i]);
			t->ndim = e[i].cols ? 2 : 1;
			t->shape[0] = e[i].rows;
			t->shape[1] = e[i].cols;
			t->decay = e[i].decay;
			t->rope_rows = e[i].rope;
		}
		off += esize(&e[i]) * reps;
	}
	return count;
}

size_t params_matmul(const lm_config *c) {
	int hd = c->dim / c->n_heads;
	size_t per_layer = (size_t)c->dim * (c->n_heads * hd) * 2 + (size_t)c->dim * (c->n_kv_heads * hd) * 2 +
			   (size_t)c->dim * c->hidden_dim * 3;
	return per_layer * c->n_layers + (size_t)c->vocab_size * c->dim;
}

lm_model *model_new(const lm_config *c) {
	lm_model *m = xcalloc(1, sizeof *m);
	m->cfg = *c;
	m->n_params = params_count(c);
	m->block = xalloc_aligned(m->n_params * sizeof(float));
	params_point(&m->p, &m->cfg, m->block);
	return m;
}

void model_init(lm_model *m, unsigned long long seed) {
	lm_rng r;
	rng_seed(&r, seed);
	int n = params_tensors(&m->cfg, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&m->cfg, t);
	float scaled = 0.02f / sqrtf(2.0f * m->cfg.n_layers);
	for (int i = 0; i < n; i++) {
		float *w = m->block + t[i].offset;
		if (t[i].ndim == 1) {
			for (size_t j = 0; j < t[i].size; j++) w[j] = 1.0f;
			continue;
		}
		float sd = strstr(t[i].name, "o_proj") || strstr(t[i].name, "down_proj") ? scaled : 0.02f;
		for (size_t j = 0; j < t[i].size; j++) w[j] = (float)(sd * rng_normal(&r));
	}
	free(t);
}

void model_free(lm_model *m) {
	if (!m) return;
	free(m->block);
	free(m);
}

size_t params_nonfinite(const lm_model *m, size_t *counts) {
	int n = params_tensors(&m->cfg, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	params_tensors(&m->cfg, t);
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		const float *w = m->block + t[i].offset;
		size_t c = 0;
		for (size_t j = 0; j < t[i].size; j++) c += !isfinite(w[j]);
		if (counts) counts[i] = c;
		total += c;
	}
	free(t);
	return total;
}
