#include "model.h"
#include "rng.h"
#include "util.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The block layout, in order: one line a tensor. Shapes are named by the
 * config size they take; a per-layer tensor repeats n_layers times; `when`
 * says which models have it, so a new head is one more line. */
enum { Z, ONE, DIM, VOCAB, QDIM, KVDIM, HIDDEN };                 /* sizes */
enum { ALL, LM_UNTIED, SCORE };                                    /* when */
enum { INIT_ONES, INIT_NORMAL, INIT_RESIDUAL, INIT_HEAD };         /* init */
static const struct entry {
	const char *name;   /* Hugging Face's name (after "model.layers.N." when per layer) */
	size_t slot;        /* where lm_params points at it */
	int per_layer, rows, cols, when, init, decay, rope;
} TABLE[] = {
	{"model.embed_tokens.weight", offsetof(lm_params, tok_embeddings), 0, VOCAB, DIM, ALL, INIT_NORMAL, 1, 0},
	{"input_layernorm.weight", offsetof(lm_params, attention_norm), 1, DIM, Z, ALL, INIT_ONES, 0, 0},
	{"self_attn.q_proj.weight", offsetof(lm_params, wq), 1, QDIM, DIM, ALL, INIT_NORMAL, 1, 1},
	{"self_attn.k_proj.weight", offsetof(lm_params, wk), 1, KVDIM, DIM, ALL, INIT_NORMAL, 1, 1},
	{"self_attn.v_proj.weight", offsetof(lm_params, wv), 1, KVDIM, DIM, ALL, INIT_NORMAL, 1, 0},
	{"self_attn.o_proj.weight", offsetof(lm_params, wo), 1, DIM, QDIM, ALL, INIT_RESIDUAL, 1, 0},
	{"post_attention_layernorm.weight", offsetof(lm_params, ffn_norm), 1, DIM, Z, ALL, INIT_ONES, 0, 0},
	{"mlp.gate_proj.weight", offsetof(lm_params, w1), 1, HIDDEN, DIM, ALL, INIT_NORMAL, 1, 0},
	{"mlp.down_proj.weight", offsetof(lm_params, w2), 1, DIM, HIDDEN, ALL, INIT_RESIDUAL, 1, 0},
	{"mlp.up_proj.weight", offsetof(lm_params, w3), 1, HIDDEN, DIM, ALL, INIT_NORMAL, 1, 0},
	{"model.norm.weight", offsetof(lm_params, norm), 0, DIM, Z, ALL, INIT_ONES, 0, 0},
	{"lm_head.weight", offsetof(lm_params, output), 0, VOCAB, DIM, LM_UNTIED, INIT_NORMAL, 1, 0},
	{"score.weight", offsetof(lm_params, score), 0, ONE, DIM, SCORE, INIT_HEAD, 1, 0},
};
enum { N_ENTRIES = sizeof TABLE / sizeof *TABLE };

static int size_of(const lm_config *c, int s) {
	int hd = c->dim / c->n_heads;
	switch (s) {
	case ONE: return 1;
	case DIM: return c->dim;
	case VOCAB: return c->vocab_size;
	case QDIM: return c->n_heads * hd;
	case KVDIM: return c->n_kv_heads * hd;
	case HIDDEN: return c->hidden_dim;
	}
	return 0;
}

static int present(const lm_config *c, const struct entry *e) {
	switch (e->when) {
	case LM_UNTIED: return c->head == LM_HEAD_LM && !c->tied;
	case SCORE: return c->head == LM_HEAD_SCORE;
	}
	return 1;
}

static size_t esize(const lm_config *c, const struct entry *e) {
	return (size_t)size_of(c, e->rows) * (e->cols ? size_of(c, e->cols) : 1);
}

static size_t span(const lm_config *c, const struct entry *e) {
	return esize(c, e) * (e->per_layer ? c->n_layers : 1);
}

size_t params_count(const lm_config *c) {
	size_t total = 0;
	for (int i = 0; i < N_ENTRIES; i++)
		if (present(c, &TABLE[i])) total += span(c, &TABLE[i]);
	return total;
}

void params_point(lm_params *p, const lm_config *c, float *b) {
	memset(p, 0, sizeof *p);
	for (int i = 0; i < N_ENTRIES; i++) {
		if (!present(c, &TABLE[i])) continue;
		*(float **)((char *)p + TABLE[i].slot) = b;
		b += span(c, &TABLE[i]);
	}
	if (c->head == LM_HEAD_LM && c->tied) p->output = p->tok_embeddings;
}

/* One tensor of the table, with its init rule for model_init. */
static int tensors(const lm_config *c, lm_tensor *out, int *init) {
	int count = 0;
	size_t off = 0;
	for (int i = 0; i < N_ENTRIES; i++) {
		const struct entry *e = &TABLE[i];
		if (!present(c, e)) continue;
		int reps = e->per_layer ? c->n_layers : 1;
		for (int l = 0; l < reps; l++, count++) {
			if (init) init[count] = e->init;
			if (!out) continue;
			lm_tensor *t = &out[count];
			if (e->per_layer) snprintf(t->name, sizeof t->name, "model.layers.%d.%s", l, e->name);
			else snprintf(t->name, sizeof t->name, "%s", e->name);
			t->offset = off + (size_t)l * esize(c, e);
			t->size = esize(c, e);
			t->ndim = e->cols ? 2 : 1;
			t->shape[0] = size_of(c, e->rows);
			t->shape[1] = e->cols ? size_of(c, e->cols) : 0;
			t->decay = e->decay;
			t->rope_rows = e->rope;
		}
		off += span(c, e);
	}
	return count;
}

int params_tensors(const lm_config *c, lm_tensor *out) { return tensors(c, out, NULL); }

void params_permute_rope(float *dst, const float *src, int rows, int cols, int hd, int to_hf) {
	for (int r = 0; r < rows; r++) {
		int h = r / hd, k = r % hd, i = k / 2, j = k % 2;
		int hf = h * hd + j * (hd / 2) + i;
		const float *s = src + (size_t)(to_hf ? r : hf) * cols;
		float *d = dst + (size_t)(to_hf ? hf : r) * cols;
		memcpy(d, s, (size_t)cols * sizeof *d);
	}
}

size_t params_matmul(const lm_config *c) {
	int hd = c->dim / c->n_heads;
	size_t per_layer = (size_t)c->dim * (c->n_heads * hd) * 2 + (size_t)c->dim * (c->n_kv_heads * hd) * 2 +
			   (size_t)c->dim * c->hidden_dim * 3;
	size_t head = c->head == LM_HEAD_SCORE ? (size_t)c->dim : (size_t)c->vocab_size * c->dim;
	return per_layer * c->n_layers + head;
}

lm_model *model_new(const lm_config *c) {
	lm_model *m = xcalloc(1, sizeof *m);
	m->cfg = *c;
	m->n_params = params_count(c);
	m->block = xalloc_aligned(m->n_params * sizeof(float));
	params_point(&m->p, &m->cfg, m->block);
	return m;
}

/* The draws of one tensor: all tensors draw from one stream in block order,
 * so a head added at the end leaves the trunk's initial weights unchanged. */
static void init_tensor(float *w, size_t n, int rule, const lm_config *c, lm_rng *r) {
	float sd = rule == INIT_RESIDUAL ? 0.02f / sqrtf(2.0f * c->n_layers)
		 : rule == INIT_HEAD     ? 1.0f / sqrtf(c->dim + 1.0f)   /* OpenRLHF's value head */
					 : 0.02f;
	if (rule == INIT_ONES) {
		for (size_t j = 0; j < n; j++) w[j] = 1.0f;
		return;
	}
	for (size_t j = 0; j < n; j++) w[j] = (float)(sd * rng_normal(r));
}

/* Every tensor's draws (head_only: the head's alone) from one stream seeded seed. */
static void init_from(lm_model *m, unsigned long long seed, int head_only) {
	lm_rng r;
	rng_seed(&r, seed);
	int n = tensors(&m->cfg, NULL, NULL);
	lm_tensor *t = xmalloc(n * sizeof *t);
	int *init = xmalloc(n * sizeof *init);
	tensors(&m->cfg, t, init);
	for (int i = 0; i < n; i++)
		if (!head_only || init[i] == INIT_HEAD) init_tensor(m->block + t[i].offset, t[i].size, init[i], &m->cfg, &r);
	free(init);
	free(t);
}

void model_init(lm_model *m, unsigned long long seed) { init_from(m, seed, 0); }
void model_init_head(lm_model *m, unsigned long long seed) { init_from(m, seed, 1); }

void model_free(lm_model *m) {
	if (!m) return;
	free(m->block);
	free(m->bf16);
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
