#include "llama.h"
#include "bf16.h"
#include "layers.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

/* Logits are computed a chunk of rows at a time so a large batch does not
 * need B·T·V floats; this many floats (512 MiB) per chunk at most. Fewer,
 * larger chunks pay: the head's weight gradient is then one long product
 * instead of several read-modify-write passes over (V, dim). */
#define HEAD_CHUNK_FLOATS (1L << 27)

llama_ws *llama_ws_new(const lm_config *c, int B, int T) {
	llama_ws *w = xcalloc(1, sizeof *w);
	w->cfg = *c;
	w->B = B;
	w->T = T;
	w->n_pos = T > c->max_seq_len ? T : c->max_seq_len;
	long L = c->n_layers, N = (long)B * T, D = c->dim, hd = c->dim / c->n_heads;
	long qd = (long)c->n_heads * hd, kvd = (long)c->n_kv_heads * hd, H = c->hidden_dim;
	long V = c->head == LM_HEAD_LM ? c->vocab_size : 0;   /* a score model has no logits */
	/* B and T come from the command line: refuse before a product of the parts below wraps */
	double floats = (L + 2.0) * N * (12.0 * D + 6.0 * H + c->n_heads);
	if (floats > 0x1p60) die("%d rows of %d tokens: a workspace of %.3g floats, more than memory can address", B, T, floats);
	long rows = V ? HEAD_CHUNK_FLOATS / V : 0;
	w->head_rows = rows < 1 ? 1 : rows > N ? (int)N : (int)rows;
	long wide = H > D ? H : D;
	struct { float **p; long n; } parts[] = {
		{&w->x, (L + 1) * N * D}, {&w->xn1, L * N * D}, {&w->rstd1, L * N},
		{&w->q, L * N * qd}, {&w->k, L * N * kvd}, {&w->v, L * N * kvd},
		{&w->lse, L * N * c->n_heads}, {&w->ao, L * N * qd}, {&w->xa, L * N * D},
		{&w->xn2, L * N * D}, {&w->rstd2, L * N}, {&w->g, L * N * H}, {&w->u, L * N * H},
		{&w->s, L * N * H}, {&w->hf, N * D}, {&w->rstdf, N}, {&w->dhf, N * D},
		{&w->logits, (long)w->head_rows * V}, {&w->losses, N},
		{&w->dres, N * D}, {&w->dxn, N * D}, {&w->dq, N * qd}, {&w->dk, N * kvd}, {&w->dv, N * kvd},
		{&w->dao, N * qd}, {&w->ds, N * wide}, {&w->dg, N * H}, {&w->du, N * H},
		{&w->att_scratch, attention_scratch_floats(T, (int)hd, c->n_heads)},
		{&w->rope_cos, w->n_pos * hd / 2}, {&w->rope_sin, w->n_pos * hd / 2},
	};
	size_t total = 0;
	/* each part 64-byte aligned */
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) total += (parts[i].n + 15) / 16 * 16;
	w->mem = xalloc_aligned(total * sizeof(float));
	float *p = w->mem;
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		*parts[i].p = p;
		p += (parts[i].n + 15) / 16 * 16;
	}
	rope_table(w->rope_cos, w->rope_sin, w->n_pos, (int)hd, c->rope_theta);
	w->pos_default = xmalloc(N * sizeof(int));
	w->seg_default = xmalloc(N * sizeof(int));
	for (long i = 0; i < N; i++) {
		w->pos_default[i] = (int)(i % T);
		w->seg_default[i] = 0;
	}
	return w;
}

void llama_ws_free(llama_ws *w) {
	if (!w) return;
	free(w->mem);
	free(w->pos_default);
	free(w->seg_default);
	free(w);
}

void llama_forward(llama_ws *w, const lm_model *m, const int *tokens, const int *pos, const int *seg) {
	const lm_config *c = &m->cfg;
	const lm_params *P = &m->p;
	int B = w->B, T = w->T, N = B * T, D = c->dim, hd = D / c->n_heads, H = c->hidden_dim;
	int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
	if (!pos) pos = w->pos_default;
	for (int i = 0; i < N; i++) {
		if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
			die("token %d outside the model's vocabulary of %d", tokens[i], c->vocab_size);
		if (pos[i] < 0 || pos[i] >= w->n_pos) die("position %d outside 0..%d", pos[i], w->n_pos - 1);
	}
	w->tokens = tokens;
	w->pos = pos;
	w->seg = seg;
	embedding_forward(w->x, tokens, P->tok_embeddings, N, D);
	for (int l = 0; l < c->n_layers; l++) {
		float *x = w->x + (long)l * N * D, *xn1 = w->xn1 + (long)l * N * D, *rstd1 = w->rstd1 + (long)l * N;
		float *q = w->q + (long)l * N * qd, *k = w->k + (long)l * N * kvd, *v = w->v + (long)l * N * kvd;
		float *lse = w->lse + (long)l * N * c->n_heads, *ao = w->ao + (long)l * N * qd;
		float *xa = w->xa + (long)l * N * D, *xn2 = w->xn2 + (long)l * N * D, *rstd2 = w->rstd2 + (long)l * N;
		float *g = w->g + (long)l * N * H, *u = w->u + (long)l * N * H, *s = w->s + (long)l * N * H;
		float *xo = w->x + (long)(l + 1) * N * D;

		rmsnorm_forward(xn1, rstd1, x, P->attention_norm + (long)l * D, N, D, c->norm_eps);
		model_matmul(q, xn1, m, P->wq + (long)l * qd * D, N, D, qd);
		model_matmul(k, xn1, m, P->wk + (long)l * kvd * D, N, D, kvd);
		model_matmul(v, xn1, m, P->wv + (long)l * kvd * D, N, D, kvd);
		rope_forward(q, pos, w->rope_cos, w->rope_sin, N, c->n_heads, hd);
		rope_forward(k, pos, w->rope_cos, w->rope_sin, N, c->n_kv_heads, hd);
		attention_forward(ao, lse, w->att_scratch, q, k, v, seg, B, T, c->n_heads, c->n_kv_heads, hd);
		model_matmul(xa, ao, m, P->wo + (long)l * D * qd, N, qd, D);
		residual_forward(xa, x, (long)N * D);

		rmsnorm_forward(xn2, rstd2, xa, P->ffn_norm + (long)l * D, N, D, c->norm_eps);
		model_matmul(g, xn2, m, P->w1 + (long)l * H * D, N, D, H);
		model_matmul(u, xn2, m, P->w3 + (long)l * H * D, N, D, H);
		swiglu_forward(s, g, u, (long)N * H);
		model_matmul(xo, s, m, P->w2 + (long)l * D * H, N, H, D);
		residual_forward(xo, xa, (long)N * D);
	}
	rmsnorm_forward(w->hf, w->rstdf, w->x + (long)c->n_layers * N * D, P->norm, N, D, c->norm_eps);
}

double llama_target_weight(const int *targets, const float *weight, int N) {
	double sum = 0;
	for (int i = 0; i < N; i++)
		if (targets[i] >= 0) sum += weight ? weight[i] : 1.0;
	return sum;
}

double llama_head_ce(llama_ws *w, const lm_model *m, lm_model *grad, const int *targets,
		     const float *weight, float grad_scale, double *weight_sum) {
	int N = w->B * w->T, D = m->cfg.dim, V = m->cfg.vocab_size;
	if (m->cfg.head != LM_HEAD_LM) die("llama_head_ce: a score model has no vocabulary head");
	for (int i = 0; i < N; i++)
		if (targets[i] >= V) die("target token %d outside the model's vocabulary of %d", targets[i], V);
	if (grad) memset(w->dhf, 0, sizeof(float) * N * D);
	for (int r0 = 0; r0 < N; r0 += w->head_rows) {
		int n = N - r0 < w->head_rows ? N - r0 : w->head_rows;
		const float *h = w->hf + (long)r0 * D;
		matmul_forward(w->logits, h, m->p.output, n, D, V);
		crossentropy_forward_backward(w->logits, w->losses + r0, targets + r0, weight ? weight + r0 : NULL,
					      grad ? grad_scale : 0.0f, n, V);
		if (grad && grad_scale != 0)
			matmul_backward(w->dhf + (long)r0 * D, grad->p.output, w->logits, h, m->p.output, n, D, V);
	}
	double sum = 0, wsum = 0;
	for (int i = 0; i < N; i++) {
		if (targets[i] < 0) continue;
		double wi = weight ? weight[i] : 1.0;
		sum += wi * w->losses[i];
		wsum += wi;
	}
	if (weight_sum) *weight_sum = wsum;
	return sum;
}

void llama_logits(float *logits, const llama_ws *w, const lm_model *m) {
	matmul_forward(logits, w->hf, m->p.output, w->B * w->T, m->cfg.dim, m->cfg.vocab_size);
}

void llama_backward(llama_ws *w, const lm_model *m, lm_model *grad) {
	const lm_config *c = &m->cfg;
	const lm_params *P = &m->p;
	lm_params *G = &grad->p;
	int B = w->B, T = w->T, N = B * T, D = c->dim, hd = D / c->n_heads, H = c->hidden_dim;
	int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
	size_t ND = sizeof(float) * N * D;

	memset(w->dres, 0, ND);
	rmsnorm_backward(w->dres, G->norm, w->dhf, w->x + (long)c->n_layers * N * D, P->norm, w->rstdf, N, D);
	for (int l = c->n_layers - 1; l >= 0; l--) {
		float *x = w->x + (long)l * N * D, *xn1 = w->xn1 + (long)l * N * D, *rstd1 = w->rstd1 + (long)l * N;
		float *q = w->q + (long)l * N * qd, *k = w->k + (long)l * N * kvd, *v = w->v + (long)l * N * kvd;
		float *lse = w->lse + (long)l * N * c->n_heads, *ao = w->ao + (long)l * N * qd;
		float *xa = w->xa + (long)l * N * D, *xn2 = w->xn2 + (long)l * N * D, *rstd2 = w->rstd2 + (long)l * N;
		float *g = w->g + (long)l * N * H, *u = w->u + (long)l * N * H, *s = w->s + (long)l * N * H;

		/* feed-forward: dres holds d(x[l+1]) and becomes d(xa) */
		memset(w->ds, 0, sizeof(float) * N * H);
		matmul_backward(w->ds, G->w2 + (long)l * D * H, w->dres, s, P->w2 + (long)l * D * H, N, H, D);
		swiglu_backward(w->dg, w->du, w->ds, g, u, (long)N * H);
		memset(w->dxn, 0, ND);
		matmul_backward(w->dxn, G->w1 + (long)l * H * D, w->dg, xn2, P->w1 + (long)l * H * D, N, D, H);
		matmul_backward(w->dxn, G->w3 + (long)l * H * D, w->du, xn2, P->w3 + (long)l * H * D, N, D, H);
		rmsnorm_backward(w->dres, G->ffn_norm + (long)l * D, w->dxn, xa, P->ffn_norm + (long)l * D, rstd2, N, D);

		/* attention: dres becomes d(x[l]) */
		memset(w->dao, 0, sizeof(float) * N * qd);
		matmul_backward(w->dao, G->wo + (long)l * D * qd, w->dres, ao, P->wo + (long)l * D * qd, N, qd, D);
		attention_backward(w->dq, w->dk, w->dv, w->att_scratch, w->dao, lse, q, k, v, w->seg, B, T, c->n_heads,
				   c->n_kv_heads, hd);
		rope_backward(w->dq, w->pos, w->rope_cos, w->rope_sin, N, c->n_heads, hd);
		rope_backward(w->dk, w->pos, w->rope_cos, w->rope_sin, N, c->n_kv_heads, hd);
		memset(w->dxn, 0, ND);
		matmul_backward(w->dxn, G->wq + (long)l * qd * D, w->dq, xn1, P->wq + (long)l * qd * D, N, D, qd);
		matmul_backward(w->dxn, G->wk + (long)l * kvd * D, w->dk, xn1, P->wk + (long)l * kvd * D, N, D, kvd);
		matmul_backward(w->dxn, G->wv + (long)l * kvd * D, w->dv, xn1, P->wv + (long)l * kvd * D, N, D, kvd);
		rmsnorm_backward(w->dres, G->attention_norm + (long)l * D, w->dxn, x, P->attention_norm + (long)l * D,
				 rstd1, N, D);
	}
	embedding_backward(G->tok_embeddings, w->dres, w->tokens, N, D);
}
