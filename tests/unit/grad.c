/* grad: lmkit's Llama forward, backward and AdamW against the plain PyTorch
 * oracle (tests/ref/torch_llama.py, files in tests/data/ref_llama_*.bin), and
 * the packing and masking promises of llama.h checked against themselves. */
#include "adamw.h"
#include "llama.h"
#include "ref.h"
#include "tap.h"
#include "util.h"
#include <string.h>


static void check_reference(const char *path) {
	ref r;
	ref_load(&r, path);
	const float *cf = ref_get(&r, "config", NULL);
	lm_config c;
	config_default(&c);
	c.dim = cf[0]; c.n_layers = cf[1]; c.n_heads = cf[2]; c.n_kv_heads = cf[3];
	c.vocab_size = cf[4]; c.max_seq_len = cf[5]; c.tied = cf[6]; c.hidden_dim = cf[7];
	int B = cf[8], T = c.max_seq_len, N = B * T, V = c.vocab_size;
	ok(config_finish(&c) == NULL, "%s: config", path);
	lm_model *m = model_new(&c), *g = model_new(&c);
	size_t np;
	const float *params = ref_get(&r, "params", &np);
	ok(np == m->n_params, "%s: %zu parameters (lmkit: %zu)", path, np, m->n_params);
	memcpy(m->block, params, np * sizeof(float));
	int *tokens = xmalloc(N * sizeof(int)), *targets = xmalloc(N * sizeof(int));
	const float *tf = ref_get(&r, "tokens", NULL), *gf = ref_get(&r, "targets", NULL);
	for (int i = 0; i < N; i++) {
		tokens[i] = (int)tf[i];
		targets[i] = (int)gf[i];
	}

	llama_ws *w = llama_ws_new(&c, B, T);
	llama_forward(w, m, tokens, NULL, NULL);
	float *logits = xmalloc((size_t)N * V * sizeof(float)), *want = xmalloc((size_t)N * V * sizeof(float));
	llama_logits(logits, w, m);
	memcpy(want, ref_get(&r, "logits", NULL), (size_t)N * V * sizeof(float));
	double e = rel_err(logits, want, (size_t)N * V);
	ok(e < 1e-4, "%s: logits (relative error %.2g)", path, e);
	double wsum, sum = llama_head_ce(w, m, g, targets, NULL, 1.0f / N, &wsum);
	float want_loss = ref_get(&r, "loss", NULL)[0];
	ok(wsum == N && rel1(sum / wsum, want_loss) < 1e-4, "%s: loss %.7f (torch %.7f)", path, sum / wsum, want_loss);
	llama_backward(w, m, g);

	float *wantg = xmalloc(np * sizeof(float));
	memcpy(wantg, ref_get(&r, "grads", NULL), np * sizeof(float));
	int nt = params_tensors(&c, NULL), bad = 0;
	lm_tensor *ts = xmalloc(nt * sizeof *ts);
	params_tensors(&c, ts);
	double worst = 0;
	for (int t = 0; t < nt; t++) {
		double et = rel_err(g->block + ts[t].offset, wantg + ts[t].offset, ts[t].size);
		if (et > worst) worst = et;
		if (et >= 1e-3) { bad++; printf("# %s: relative error %.3g\n", ts[t].name, et); }
	}
	ok(bad == 0, "%s: gradients of all %d tensors (worst relative error %.2g)", path, nt, worst);

	/* 10 AdamW steps on the same batch, schedule and clipping as the oracle */
	const float *tr = ref_get(&r, "train", NULL);
	const float *trv = tr;
	size_t nl;
	const float *wl = ref_get(&r, "losses", &nl);
	const float *wantl = wl;
	ok(nl == 10, "%s: 10 reference losses", path);
	lm_adamw *opt = adamw_new(m, trv[6], trv[7], trv[8], trv[4]);
	double worst_l = 0;
	for (int step = 0; step < 10; step++) {
		memset(g->block, 0, g->n_params * sizeof(float));
		llama_forward(w, m, tokens, NULL, NULL);
		double l = llama_head_ce(w, m, g, targets, NULL, 1.0f / N, &wsum) / wsum;
		llama_backward(w, m, g);
		grad_clip(g, trv[5]);
		adamw_step(opt, m, g, (float)lr_at(step, (long long)trv[1], (long long)trv[2], trv[0], trv[3]));
		if (rel1(l, wantl[step]) > worst_l) worst_l = rel1(l, wantl[step]);
	}
	ok(worst_l < 1e-4, "%s: losses of 10 AdamW steps (worst relative error %.2g)", path, worst_l);
	adamw_free(opt);
	llama_ws_free(w);
	model_free(m);
	model_free(g);
	free(tokens); free(targets); free(logits); free(want); free(wantg); free(ts);
	ref_free(&r);
}

/* Three sequences packed in a row longer than attention's blocks of query
 * rows (128), crossing their boundaries, give the losses and gradients of the
 * three run on their own: the keys a block skips belong to no row of it. */
static void check_packing_long(void) {
	enum { T = 300 };
	int len[3] = {100, 90, 110};
	lm_config c;
	config_default(&c);
	c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 50; c.max_seq_len = T;
	c.hidden_dim = 48;
	config_finish(&c);
	lm_model *m = model_new(&c), *gp = model_new(&c), *gs = model_new(&c);
	model_init(m, 9);
	for (size_t i = 0; i < m->n_params; i++) m->block[i] *= 4;
	int tok[T], tgt[T], pos[T], seg[T];
	for (int i = 0, s = 0, at = 0; i < T; i++) {
		if (i - at == len[s]) at = i, s++;
		tok[i] = (i * 17 + 3) % 50;
		tgt[i] = (i * 29 + 11) % 50;
		pos[i] = i - at;
		seg[i] = s;
	}
	llama_ws *wp = llama_ws_new(&c, 1, T);
	double ws, lp, ls = 0;
	llama_forward(wp, m, tok, pos, seg);
	lp = llama_head_ce(wp, m, gp, tgt, NULL, 1.0f, &ws);
	llama_backward(wp, m, gp);
	for (int s = 0, at = 0; s < 3; at += len[s++]) {
		llama_ws *w = llama_ws_new(&c, 1, len[s]);
		llama_forward(w, m, tok + at, NULL, NULL);
		ls += llama_head_ce(w, m, gs, tgt + at, NULL, 1.0f, &ws);
		llama_backward(w, m, gs);
		llama_ws_free(w);
	}
	ok(rel1(lp, ls) < 1e-5, "a long packed row: loss %.6f = separate %.6f", lp, ls);
	double e = rel_err(gp->block, gs->block, m->n_params);
	ok(e < 1e-5, "a long packed row: gradients = separate (relative error %.2g)", e);
	llama_ws_free(wp);
	model_free(m); model_free(gp); model_free(gs);
}

/* Two sequences packed in one row (positions restarting, two segments) give
 * the losses and gradients of the two run on their own. */
static void check_packing(void) {
	lm_config c;
	config_default(&c);
	c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 50; c.max_seq_len = 16;
	c.hidden_dim = 48;
	config_finish(&c);
	lm_model *m = model_new(&c), *gp = model_new(&c), *gs = model_new(&c);
	model_init(m, 7);
	/* larger weights than the init's so attention is far from uniform */
	for (size_t i = 0; i < m->n_params; i++) m->block[i] *= 4;
	int la = 7, lb = 9, tok[16], tgt[16], pos[16], seg[16];
	for (int i = 0; i < 16; i++) {
		tok[i] = (i * 17 + 3) % 50;
		tgt[i] = (i * 29 + 11) % 50;
		pos[i] = i < la ? i : i - la;
		seg[i] = i < la ? 0 : 1;
	}
	llama_ws *wp = llama_ws_new(&c, 1, 16), *wa = llama_ws_new(&c, 1, la), *wb = llama_ws_new(&c, 1, lb);
	double ws;
	llama_forward(wp, m, tok, pos, seg);
	double lp = llama_head_ce(wp, m, gp, tgt, NULL, 1.0f, &ws);
	llama_backward(wp, m, gp);
	llama_forward(wa, m, tok, NULL, NULL);
	double l1 = llama_head_ce(wa, m, gs, tgt, NULL, 1.0f, &ws);
	llama_backward(wa, m, gs);
	llama_forward(wb, m, tok + la, NULL, NULL);
	double l2 = llama_head_ce(wb, m, gs, tgt + la, NULL, 1.0f, &ws);
	llama_backward(wb, m, gs);
	ok(rel1(lp, l1 + l2) < 1e-5, "packed loss %.6f = separate %.6f", lp, l1 + l2);
	double e = rel_err(gp->block, gs->block, m->n_params);
	ok(e < 1e-5, "packed gradients = separate (relative error %.2g)", e);
	/* without the segments, the second sequence sees the first: different loss */
	llama_forward(wp, m, tok, pos, NULL);
	double lx = llama_head_ce(wp, m, NULL, tgt, NULL, 0, &ws);
	ok(rel1(lx, l1 + l2) > 1e-4, "segments matter (%.6f without, %.6f with)", lx, lp);

	/* every target masked: 0 loss, 0 gradient, no NaN */
	float zero[16] = {0};
	memset(gp->block, 0, gp->n_params * sizeof(float));
	llama_forward(wp, m, tok, pos, seg);
	double wsum = llama_target_weight(tgt, zero, 16);
	double lm = llama_head_ce(wp, m, gp, tgt, zero, wsum > 0 ? 1.0f / wsum : 0.0f, &ws);
	llama_backward(wp, m, gp);
	int nonzero = 0;
	for (size_t i = 0; i < gp->n_params; i++) nonzero += gp->block[i] != 0;
	ok(lm == 0 && ws == 0 && wsum == 0, "fully masked batch: loss 0, 0 targets");
	ok(nonzero == 0, "fully masked batch: all gradients exactly 0 (%d nonzero)", nonzero);

	/* a partial mask equals dropping the masked targets (target -1) */
	float half[16];
	int drop[16];
	for (int i = 0; i < 16; i++) { half[i] = i % 3 != 0; drop[i] = i % 3 ? tgt[i] : -1; }
	double wh, wd;
	double lh = llama_head_ce(wp, m, NULL, tgt, half, 0, &wh), ld = llama_head_ce(wp, m, NULL, drop, NULL, 0, &wd);
	ok(wh == wd && wh == 10 && rel1(lh, ld) < 1e-6, "mask weights = dropped targets (%g targets)", wh);
	llama_ws_free(wp); llama_ws_free(wa); llama_ws_free(wb);
	model_free(m); model_free(gp); model_free(gs);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	check_reference("tests/data/ref_llama_gqa.bin");
	check_reference("tests/data/ref_llama_tied.bin");
	check_reference("tests/data/ref_llama_mha.bin");
	check_packing();
	check_packing_long();
	return done_testing();
}
