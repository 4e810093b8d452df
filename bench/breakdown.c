/* breakdown: where a training step goes, phase by phase (trunk forward, head
 * and loss, trunk backward, clipping and AdamW), and attention's share, on the
 * library as built, for the configurations (a) and (b) of bench/pretrain.sh
 * (lm: the next-token head, one window a row of T) and bench/rm.sh (rm: the
 * score head, rows of T holding sequences of L, a pair's chosen and rejected
 * side by side as segments with their own positions; the same sequences one a
 * row of L are timed after, which is what attention over whole rows costs).
 * usage: breakdown lm a|b ROWS STEPS
 *        breakdown rm a|b ROWS T L STEPS */
#include "adamw.h"
#include "blas.h"
#include "layers.h"
#include "llama.h"
#include "rm.h"
#include "rng.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* B rows of T, sequences of L (L == T and an lm head: plain rows); the mean step in seconds */
static double steps(const char *name, lm_config c, int B, int T, int L, int S) {
	c.max_seq_len = T;
	config_finish(&c);
	int score = c.head == LM_HEAD_SCORE, N = B * T, n = N / L, hd = c.dim / c.n_heads;
	lm_model *m = model_new(&c), *g = model_new(&c);
	model_init(m, 1);
	llama_ws *w = llama_ws_new(&c, B, T);
	int *tok = xmalloc(N * sizeof(int)), *tgt = xmalloc(N * sizeof(int)), *at = xmalloc(n * sizeof(int));
	int *pos = score ? xmalloc(N * sizeof(int)) : NULL, *seg = score ? xmalloc(N * sizeof(int)) : NULL;
	lm_rng r;
	rng_seed(&r, 1);
	for (int i = 0; i < N; i++) {
		tok[i] = (int)rng_below(&r, c.vocab_size), tgt[i] = (int)rng_below(&r, c.vocab_size);
		if (score) pos[i] = i % L, seg[i] = i % T / L;
	}
	for (int i = 0; i < n; i++) at[i] = i * L + L - 1;
	float *sc = xmalloc(n * sizeof(float)), *gs = xmalloc(n * sizeof(float)), *margin = xcalloc(n, sizeof(float));
	float *rc = xmalloc(n * sizeof(float)), *rr = xmalloc(n * sizeof(float));
	float *dc = xmalloc(n * sizeof(float)), *dr = xmalloc(n * sizeof(float));
	lm_adamw *opt = adamw_new(m, 0.9f, 0.95f, 1e-5f, 0.1f);
	double t[4] = {0}, att = 0, ws;
	for (int s = 0; s <= S; s++) { /* step 0 warms up */
		double a = now_sec();
		memset(g->block, 0, g->n_params * sizeof(float));
		llama_forward(w, m, tok, pos, seg);
		double b = now_sec();
		if (score) {
			rm_scores(sc, w, m, at, n);
			for (int k = 0; k < n / 2; k++) rc[k] = sc[2 * k], rr[k] = sc[2 * k + 1];
			rm_pair_loss(rc, rr, margin, n / 2, 2.0f / n, dc, dr);
			for (int k = 0; k < n / 2; k++) gs[2 * k] = dc[k], gs[2 * k + 1] = dr[k];
			rm_scores_backward(w, m, g, at, gs, n);
		} else {
			llama_head_ce(w, m, g, tgt, NULL, 1.0f / N, &ws);
		}
		double d = now_sec();
		llama_backward(w, m, g);
		double e = now_sec();
		grad_clip(g, 1.0);
		adamw_step(opt, m, g, 1e-5f);
		double f = now_sec();
		/* attention alone, forward and backward, on the last layer's activations */
		long L1 = c.n_layers - 1, qd = c.n_heads * hd, kvd = c.n_kv_heads * hd;
		float *q = w->q + L1 * N * qd, *k = w->k + L1 * N * kvd, *v = w->v + L1 * N * kvd;
		float *lse = w->lse + L1 * N * c.n_heads;
		double h = now_sec();
		attention_forward(w->ao + L1 * N * qd, lse, w->att_scratch, q, k, v, seg, B, T, c.n_heads, c.n_kv_heads, hd);
		attention_backward(w->dq, w->dk, w->dv, w->att_scratch, w->ao + L1 * N * qd, lse, q, k, v, seg, B, T,
				   c.n_heads, c.n_kv_heads, hd);
		double i = now_sec();
		if (!s) continue;
		t[0] += b - a, t[1] += d - b, t[2] += e - d, t[3] += f - e, att += (i - h) * c.n_layers;
	}
	double step = (t[0] + t[1] + t[2] + t[3]) / S;
	printf("%s %d x %d tokens", name, B, T);
	if (score) printf(", sequences of %d", L);
	printf(": step %.3f s (%.0f tokens/s): forward %.0f%%, %s %.0f%%, backward %.0f%%, clip and AdamW %.0f%%; "
	       "attention (forward and backward, all layers) %.0f%%\n", step, N / step, 100 * t[0] / S / step,
	       score ? "score and loss" : "head and loss", 100 * t[1] / S / step, 100 * t[2] / S / step,
	       100 * t[3] / S / step, 100 * att / S / step);
	adamw_free(opt);
	llama_ws_free(w);
	model_free(m);
	model_free(g);
	free(tok); free(tgt); free(pos); free(seg); free(at); free(sc); free(gs); free(margin);
	free(rc); free(rr); free(dc); free(dr);
	return step;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();   /* linked as the tools are: passive OpenMP waits, the best kernel */
	int rm = argc == 7 && !strcmp(argv[1], "rm");
	if (!rm && !(argc == 5 && !strcmp(argv[1], "lm")))
		die("usage: breakdown lm a|b ROWS STEPS | breakdown rm a|b ROWS T L STEPS");
	lm_config c;
	config_default(&c);
	int a = !strcmp(argv[2], "a");
	if (a) c.dim = 288, c.n_layers = 6, c.n_heads = 6, c.n_kv_heads = 6, c.vocab_size = 32000;
	else c.dim = 64, c.n_layers = 5, c.n_heads = 8, c.n_kv_heads = 4, c.vocab_size = 512;
	char name[16];
	snprintf(name, sizeof name, "(%s)", argv[2]);
	int B = atoi(argv[3]);
	if (!rm) {
		int T = a ? 256 : 512;
		steps(name, c, B, T, T, atoi(argv[4]));
		return 0;
	}
	int T = atoi(argv[4]), L = atoi(argv[5]), S = atoi(argv[6]);
	if (B <= 0 || L <= 1 || T % (2 * L) || S <= 0) die("ROWS and STEPS positive, T a multiple of 2·L");
	c.head = LM_HEAD_SCORE;
	double packed = steps(name, c, B, T, L, S), rows = steps(name, c, B * T / L, L, L, S);
	printf("%s packed rows take %.2fx the time of one sequence a row\n", name, packed / rows);
	return 0;
}
