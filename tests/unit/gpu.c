/* gpu: the CUDA path (gpu.h) against the PyTorch oracle's files that grad.c
 * checks the CPU path with, and against the CPU path itself on packed,
 * weighted rows and on a score model's packed sequences (rm.h); its runs
 * repeat bit for bit; bf16 products stay close to fp32. Skips without a GPU
 * (or in a build without CUDA). */
#include "adamw.h"
#include "bf16.h"
#include "gpu.h"
#include "llama.h"
#include "ref.h"
#include "rm.h"
#include "sample.h"
#include "tap.h"
#include "util.h"
#include <string.h>

static lm_config ref_config(const ref *r, int *B) {
	const float *cf = ref_get(r, "config", NULL);
	lm_config c;
	config_default(&c);
	c.dim = cf[0]; c.n_layers = cf[1]; c.n_heads = cf[2]; c.n_kv_heads = cf[3];
	c.vocab_size = cf[4]; c.max_seq_len = cf[5]; c.tied = cf[6]; c.hidden_dim = cf[7];
	*B = cf[8];
	config_finish(&c);
	return c;
}

/* worst relative error over the tensors of two gradient blocks */
static double worst_tensor(const lm_config *c, const float *a, const float *b, const char *what) {
	int nt = params_tensors(c, NULL);
	lm_tensor *ts = xmalloc(nt * sizeof *ts);
	params_tensors(c, ts);
	double worst = 0;
	for (int t = 0; t < nt; t++) {
		double e = rel_err(a + ts[t].offset, b + ts[t].offset, ts[t].size);
		if (e > worst) worst = e;
		if (e >= 1e-3) printf("# %s: %s: relative error %.3g\n", what, ts[t].name, e);
	}
	free(ts);
	return worst;
}

static void check_reference(const char *path) {
	ref r;
	ref_load(&r, path);
	int B;
	lm_config c = ref_config(&r, &B);
	int T = c.max_seq_len, N = B * T, V = c.vocab_size;
	lm_model *m = model_new(&c);
	size_t np;
	const float *params = ref_get(&r, "params", &np);
	memcpy(m->block, params, np * sizeof(float));
	int *tok = xmalloc(N * sizeof(int)), *tgt = xmalloc(N * sizeof(int));
	const float *tf = ref_get(&r, "tokens", NULL), *gf = ref_get(&r, "targets", NULL);
	for (int i = 0; i < N; i++) tok[i] = (int)tf[i], tgt[i] = (int)gf[i];

	gpu_train *g = gpu_open(m, B, T, GPU_FP32, 1);
	double ws, sum = gpu_next_token(g, tok, tgt, NULL, NULL, NULL, 1.0f / N, 1, &ws);
	float *logits = xmalloc((size_t)N * V * sizeof(float)), *grads = xmalloc(np * sizeof(float));
	gpu_logits(g, logits);
	double e = rel_err(logits, ref_get(&r, "logits", NULL), (size_t)N * V);
	ok(e < 1e-4, "%s: fp32 logits (relative error %.2g)", path, e);
	float want_loss = ref_get(&r, "loss", NULL)[0];
	ok(ws == N && rel1(sum / ws, want_loss) < 1e-4, "%s: loss %.7f (torch %.7f)", path, sum / ws, want_loss);
	gpu_get_grads(g, grads);
	double worst = worst_tensor(&c, grads, ref_get(&r, "grads", NULL), path);
	ok(worst < 1e-3, "%s: gradients of every tensor (worst relative error %.2g)", path, worst);

	/* 10 AdamW steps with the oracle's schedule and clipping */
	const float *tr = ref_get(&r, "train", NULL), *wantl = ref_get(&r, "losses", NULL);
	lm_adamw *opt = adamw_new(m, tr[6], tr[7], tr[8], tr[4]);
	double worst_l = 0;
	for (int step = 0; step < 10; step++) {
		gpu_zero_grads(g);
		double l = gpu_next_token(g, tok, tgt, NULL, NULL, NULL, 1.0f / N, 1, &ws) / ws;
		double norm = sqrt(gpu_grad_sumsq(g)), coef = tr[5] / (norm + 1e-6);
		gpu_adamw(g, opt, (float)lr_at(step, (long long)tr[1], (long long)tr[2], tr[0], tr[3]), coef < 1 ? coef : 1);
		if (rel1(l, wantl[step]) > worst_l) worst_l = rel1(l, wantl[step]);
	}
	ok(worst_l < 1e-4, "%s: losses of 10 AdamW steps (worst relative error %.2g)", path, worst_l);
	adamw_free(opt);
	gpu_close(g);
	model_free(m);
	free(tok); free(tgt); free(logits); free(grads);
	ref_free(&r);
}

/* Packed rows (segments, positions restarting) with weighted targets, some
 * masked: the GPU's losses and gradients are the CPU path's, in fp32; the same
 * run twice gives the same bits; bf16 products (and attention on the tensor
 * cores where the head size allows, flash.h) stay within 1e-2 of the loss. */
static void check_packed(int dim, int n_heads, int n_kv_heads, int tied, int T) {
	enum { B = 3 };
	int N = B * T;
	lm_config c;
	config_default(&c);
	c.dim = dim; c.n_layers = 2; c.n_heads = n_heads; c.n_kv_heads = n_kv_heads; c.vocab_size = 300; c.max_seq_len = T;
	c.hidden_dim = 96; c.tied = tied;
	config_finish(&c);
	lm_model *m = model_new(&c), *cg = model_new(&c);
	model_init(m, 11);
	for (size_t i = 0; i < m->n_params; i++) m->block[i] *= 3;
	int *tok = xmalloc(N * sizeof(int)), *tgt = xmalloc(N * sizeof(int)), *pos = xmalloc(N * sizeof(int));
	int *seg = xmalloc(N * sizeof(int));
	float *wt = xmalloc(N * sizeof(float));
	for (int i = 0, at = 0, s = 0; i < N; i++) {
		if (i % T == 0 || (i % T) - at == 23 + 41 * (s % 3)) at = i % T, s++;
		tok[i] = (i * 37 + 5) % c.vocab_size;
		tgt[i] = i % 13 == 0 ? -1 : (i * 53 + 7) % c.vocab_size;
		pos[i] = i % T - at;
		seg[i] = s;
		wt[i] = i % 7 == 0 ? 0.0f : 0.5f + (i % 5) * 0.25f;
	}
	char what[64];
	snprintf(what, sizeof what, "packed rows of %d, head size %d, %d of %d KV heads%s", T, dim / n_heads, n_kv_heads,
		 n_heads, tied ? ", tied" : "");
	double wsum = llama_target_weight(tgt, wt, N);
	llama_ws *w = llama_ws_new(&c, B, T);
	double cws, cl = 0;
	llama_forward(w, m, tok, pos, seg);
	cl = llama_head_ce(w, m, cg, tgt, wt, 1.0f / wsum, &cws);
	llama_backward(w, m, cg);

	float *g1 = xmalloc(m->n_params * sizeof(float)), *g2 = xmalloc(m->n_params * sizeof(float));
	gpu_train *g = gpu_open(m, B, T, GPU_FP32, 1);
	double ws, l = gpu_next_token(g, tok, tgt, pos, seg, wt, 1.0f / wsum, 1, &ws);
	ok(ws == cws && rel1(l, cl) < 1e-5, "%s: loss %.7f (CPU %.7f)", what, l / ws, cl / cws);
	gpu_get_grads(g, g1);
	double worst = worst_tensor(&c, g1, cg->block, what);
	ok(worst < 1e-4, "%s: gradients = the CPU's (worst relative error %.2g)", what, worst);
	gpu_zero_grads(g);
	double l2 = gpu_next_token(g, tok, tgt, pos, seg, wt, 1.0f / wsum, 1, &ws);
	gpu_get_grads(g, g2);
	ok(l2 == l && !memcmp(g1, g2, m->n_params * sizeof(float)), "%s: a second run, the same bits", what);
	gpu_close(g);

	g = gpu_open(m, B, T, GPU_BF16, 1);
	double lb = gpu_next_token(g, tok, tgt, pos, seg, wt, 1.0f / wsum, 1, &ws);
	gpu_get_grads(g, g2);
	double eg = rel_err(g2, cg->block, m->n_params);
	/* a sanity bound, not a precision claim (a wrong kernel gives ~1): every
	 * product's operands lose all but 8 bits, and on the tensor cores
	 * attention's q, k, v, probabilities and dout too; on an H100 this gave
	 * 0.020-0.030, and 0.052 (0.068 with flash.h) at head size 64 and rows
	 * of 300 of this sharpened model */
	ok(fabs(lb / ws - cl / cws) < 1e-2 && eg < 0.1, "%s: bf16 products: loss %.5f (fp32 %.5f), gradients within %.2g",
	   what, lb / ws, cl / cws, eg);
	gpu_close(g);
	llama_ws_free(w);
	model_free(m);
	model_free(cg);
	free(g1); free(g2); free(tok); free(tgt); free(pos); free(seg); free(wt);
}

/* The tensor-core attention (flash.h) against the fp32 kernels on random
 * inputs: within what bf16 operands allow (their rounding is 2^-9 relative;
 * on an H100 this gave 0.0025-0.0027 for the output, 0.0002-0.0004 for the
 * log-sum-exp, 0.0028-0.0041 for the gradients; a wrong tile, mask or
 * fragment gives errors near 1), on rows of T that leave a partial tile,
 * segments of 23 to 105 tokens when seg. */
static void check_flash(int B, int T, int NH, int NKV, int hd, int seg) {
	int N = B * T, *sg = xmalloc(N * sizeof(int));
	for (int i = 0, at = 0, s = 0; i < N; i++) {
		if (i % T == 0 || (i % T) - at == 23 + 41 * (s % 3)) at = i % T, s++;
		sg[i] = s;
	}
	double e[5];
	if (!gpu_flash_check(B, T, NH, NKV, hd, seg ? sg : NULL, e)) die("gpu_flash_check: head size %d refused", hd);
	ok(e[0] < 1e-2 && e[1] < 2e-3 && e[2] < 2e-2 && e[3] < 2e-2 && e[4] < 2e-2,
	   "flash attention, %d rows of %d, %d of %d KV heads of %d%s: output %.2g, lse %.2g, dq %.2g, dk %.2g, dv %.2g "
	   "from fp32", B, T, NKV, NH, hd, seg ? ", packed" : "", e[0], e[1], e[2], e[3], e[4]);
	free(sg);
}

/* Decoding's tensor-core products (4 < rows <= 64, bf16 weights) against
 * sums in double: of bf16 operands within 1e-5; after the norm, whose
 * output is rounded to bf16 (2^-9 relative), within 4e-3 (a wrong fragment
 * or tile gives errors near 1); the second run the same bits (a cluster adds
 * its splits of k in split order, whichever block finishes first). Shapes with
 * one block a tile and with splits, rows of a tile left over, rows of k not
 * a multiple of 8 (element-wise loads). */
static void check_mm(int n, int IN, int OUT, int epi) {
	const char *name[] = {"normed, stored", "added", "normed, silu(g)·u"};
	double err;
	int same;
	if (!gpu_mm_check(n, IN, OUT, epi, &err, &same)) die("gpu_mm_check: %d rows refused", n);
	ok(err < (epi == 1 ? 1e-5 : 4e-3) && same, "decoding's tensor-core product, %d rows by %dx%d, %s: %.2g from double%s",
	   n, OUT, IN, name[epi], err, same ? ", the same bits twice" : ", OTHER BITS THE SECOND TIME");
}

/* A score model on packed rows (segments of mixed lengths, positions
 * restarting), scored at each segment's last position as lm-rm scores them:
 * in fp32 gpu_scores and gpu_scores_backward give rm_scores' scores and
 * rm_scores_backward + llama_backward's gradients; a second run the same
 * bits; a forward-only state (one layer's activations) the same scores in
 * less memory. */
static void check_scores(int n_kv_heads, int T) {
	enum { B = 3 };
	int N = B * T;
	lm_config c;
	config_default(&c);
	c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = n_kv_heads; c.vocab_size = 300; c.max_seq_len = T;
	c.hidden_dim = 96; c.head = LM_HEAD_SCORE;
	config_finish(&c);
	lm_model *m = model_new(&c), *cg = model_new(&c);
	model_init(m, 13);
	int *tok = xmalloc(N * sizeof(int)), *pos = xmalloc(N * sizeof(int)), *seg = xmalloc(N * sizeof(int));
	int *at = xmalloc(N * sizeof(int)), n = 0;
	for (int i = 0, st = 0, s = 0; i < N; i++) {
		if (i % T == 0 || (i % T) - st == 11 + 29 * (s % 3)) st = i % T, s++;
		tok[i] = (i * 37 + 5) % c.vocab_size;
		pos[i] = i % T - st;
		seg[i] = s;
	}
	/* each segment's last position, as pack_put returns it */
	for (int i = 0; i < N; i++)
		if (i % T == T - 1 || seg[i + 1] != seg[i]) at[n++] = i;
	float *d = xmalloc(n * sizeof(float)), *cs = xmalloc(n * sizeof(float)), *gs = xmalloc(n * sizeof(float));
	float *gs2 = xmalloc(n * sizeof(float));
	for (int i = 0; i < n; i++) d[i] = 0.25f * ((i * 7) % 5 - 2) + 0.1f;
	char what[64];
	snprintf(what, sizeof what, "score model, rows of %d, %d of %d KV heads", T, n_kv_heads, c.n_heads);

	llama_ws *w = llama_ws_new(&c, B, T);
	llama_forward(w, m, tok, pos, seg);
	rm_scores(cs, w, m, at, n);
	rm_scores_backward(w, m, cg, at, d, n);
	llama_backward(w, m, cg);

	float *g1 = xmalloc(m->n_params * sizeof(float)), *g2 = xmalloc(m->n_params * sizeof(float));
	gpu_train *g = gpu_open(m, B, T, GPU_FP32, 1);
	gpu_scores(g, tok, pos, seg, at, n, 1, gs);
	gpu_scores_backward(g, d);
	gpu_get_grads(g, g1);
	double e = rel_err(gs, cs, n);
	ok(e < 1e-4, "%s: %d scores = the CPU's (relative error %.2g)", what, n, e);
	double worst = worst_tensor(&c, g1, cg->block, what);
	ok(worst < 1e-3, "%s: gradients = the CPU's (worst relative error %.2g)", what, worst);
	gpu_zero_grads(g);
	gpu_scores(g, tok, pos, seg, at, n, 1, gs2);
	gpu_scores_backward(g, d);
	gpu_get_grads(g, g2);
	ok(!memcmp(gs, gs2, n * sizeof(float)) && !memcmp(g1, g2, m->n_params * sizeof(float)),
	   "%s: a second run, the same bits", what);
	size_t c1, c0, used;
	gpu_memory(g, &c1, &used);
	gpu_close(g);

	g = gpu_open(m, B, T, GPU_FP32, 0);
	gpu_scores(g, tok, pos, seg, at, n, 0, gs2);
	gpu_memory(g, &c0, &used);
	ok(!memcmp(gs, gs2, n * sizeof(float)) && c0 < c1, "%s: forward only, the same scores in %zu bytes (not %zu)",
	   what, c0, c1);
	gpu_close(g);
	llama_ws_free(w);
	model_free(m);
	model_free(cg);
	free(g1); free(g2); free(tok); free(pos); free(seg); free(at); free(d); free(cs); free(gs); free(gs2);
}

/* Decoding on the GPU (sampler_gpu) against the CPU's sampler: J sequences of
 * mixed prompt lengths through a batch of 4 slots (so slots are reused and
 * prompts span forward chunks of 64 rows), greedy and sampled; in fp32 the
 * same tokens with log-probs within 1e-4; with bf16 weights close to fp32. */
typedef struct { int32_t ids[200]; double lp[200]; int n; } decoded;

static void decode_all(lm_model *m, int gpu, decoded *out, int J) {
	lm_sampler *s = sampler_new(m, 4, 200);
	if (gpu) sampler_gpu(s);
	int next = 0, slot_job[4] = {-1, -1, -1, -1};
	for (;;) {
		for (int k = 0; k < 4; k++) {
			if (slot_job[k] >= 0 || next == J) continue;
			int32_t p[90];
			int n = 1 + (next * 37) % 90;
			p[0] = 1;
			for (int j = 1; j < n; j++) p[j] = 3 + (next * 31 + j * 17) % 290;
			lm_sampling h = {.temperature = next % 2 ? 1.0f : 0.0f, .top_p = 1, .max_new = 20 + next % 50};
			int sl = sampler_start(s, p, n, &h, 500 + next);
			slot_job[sl] = next++;
		}
		sampler_step(s);
		int any = 0;
		for (int k = 0; k < 4; k++) {
			if (slot_job[k] < 0) continue;
			any = 1;
			if (!sampler_done(s, k)) continue;
			decoded *d = &out[slot_job[k]];
			const int32_t *t = sampler_tokens(s, k, &d->n);
			memcpy(d->ids, t, d->n * sizeof *t);
			memcpy(d->lp, sampler_token_logprobs(s, k), d->n * sizeof(double));
			sampler_release(s, k);
			slot_job[k] = -1;
		}
		if (!any && next == J) break;
	}
	sampler_free(s);
}

static void check_decode(int n_kv_heads, int tied) {
	enum { J = 11 };
	lm_config c;
	config_default(&c);
	c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = n_kv_heads; c.vocab_size = 300; c.max_seq_len = 200;
	c.hidden_dim = 96; c.tied = tied;
	config_finish(&c);
	lm_model *m = model_new(&c);
	model_init(m, 5);
	for (size_t i = 0; i < (size_t)c.vocab_size * c.dim; i++) m->p.tok_embeddings[i] *= 20;
	static decoded cpu[J], gpu[J], g16[J];
	decode_all(m, 0, cpu, J);
	decode_all(m, 1, gpu, J);
	int same = 0, n = 0;
	double worst = 0, gap = 0;
	for (int j = 0; j < J; j++) {
		same += cpu[j].n == gpu[j].n && !memcmp(cpu[j].ids, gpu[j].ids, cpu[j].n * 4);
		for (int i = 0; i < cpu[j].n && i < gpu[j].n; i++)
			if (fabs(cpu[j].lp[i] - gpu[j].lp[i]) > worst) worst = fabs(cpu[j].lp[i] - gpu[j].lp[i]);
	}
	ok(same == J, "decoding, %d KV heads%s: the GPU's tokens are the CPU's (%d/%d sequences)", n_kv_heads,
	   tied ? ", tied" : "", same, J);
	ok(worst < 1e-4, "decoding, %d KV heads%s: log-probs within 1e-4 of the CPU's (worst %.2g)", n_kv_heads,
	   tied ? ", tied" : "", worst);
	model_weights(m, "bf16", "bf16");
	decode_all(m, 1, g16, J);
	/* greedy sequences (even j) until they part */
	for (int j = 0; j < J; j += 2)
		for (int i = 0; i < gpu[j].n && i < g16[j].n && gpu[j].ids[i] == g16[j].ids[i]; i++)
			gap += fabs(gpu[j].lp[i] - g16[j].lp[i]), n++;
	ok(n > 0 && gap / n < 1e-2, "decoding, bf16 weights: mean log-prob gap to fp32 %.2g over %d greedy tokens",
	   n ? gap / n : 0.0, n);
	model_free(m);
}

/* A step whose rows all want logits runs as a CUDA graph: its logits are the
 * direct launches' (which a step wanting fewer rows takes). */
static void check_graphs(void) {
	lm_config c;
	config_default(&c);
	c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 300; c.max_seq_len = 64;
	c.hidden_dim = 96;
	config_finish(&c);
	lm_model *m = model_new(&c);
	model_init(m, 7);
	int V = c.vocab_size, tok[3] = {1, 5, 9}, slot[3] = {0, 1, 2}, pos[3] = {0, 0, 0}, want[3] = {0, 1, 2};
	float *a = xmalloc(64L * V * sizeof(float)), *b = xmalloc(64L * V * sizeof(float));
	gpu_decode *g = gpu_decode_open(m, 4, 64, 64, 0), *h = gpu_decode_open(m, 4, 64, 64, 0);
	gpu_decode_rows(g, 3, tok, slot, pos, 3, want, a);
	gpu_decode_rows(h, 3, tok, slot, pos, 2, want, b);
	ok(gpu_decode_graphs(g) == 1 && gpu_decode_graphs(h) == 0, "decoding: a step of 3 rows ran as a CUDA graph (%d, %d)",
	   gpu_decode_graphs(g), gpu_decode_graphs(h));
	double e = rel_err(a, b, 2L * V);
	ok(e < 1e-5, "decoding: the graph's logits are the direct launches' (relative error %.2g)", e);
	gpu_decode_close(g);
	gpu_decode_close(h);
	free(a); free(b);
	model_free(m);
}

int main(void) {
	const char *d = gpu_describe();
	if (!strncmp(d, "no ", 3)) skip_all(d);
	printf("# %s\n", d);
	check_reference("tests/data/ref_llama_gqa.bin");
	check_reference("tests/data/ref_llama_tied.bin");
	check_reference("tests/data/ref_llama_mha.bin");
	check_flash(2, 200, 4, 2, 64, 1);
	check_flash(1, 130, 2, 1, 16, 0);
	check_flash(2, 150, 4, 4, 128, 1);
	check_flash(1, 100, 3, 1, 48, 0);
	check_flash(1, 64, 4, 2, 32, 1);
	check_packed(64, 4, 2, 0, 97);
	check_packed(64, 4, 4, 1, 97);
	check_packed(64, 4, 1, 0, 97);
	/* several tiles of 64 queries and keys on the tensor cores (bf16), head sizes 64 and 24 (no tensor cores) */
	check_packed(128, 2, 1, 0, 300);
	check_packed(96, 4, 2, 0, 200);
	check_scores(2, 97);
	check_scores(4, 160);
	check_mm(64, 768, 768, 1);
	check_mm(5, 2048, 768, 1);
	check_mm(33, 768, 4096, 2);
	check_mm(64, 768, 32000, 0);
	check_mm(17, 100, 300, 0);
	check_mm(64, 72, 130, 2);
	check_mm(8, 1280, 1280, 0);
	check_decode(2, 0);
	check_decode(4, 1);
	check_decode(1, 0);
	check_graphs();
	return done_testing();
}
