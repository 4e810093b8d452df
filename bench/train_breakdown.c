/* train_breakdown: where a training step of lm-pretrain's model goes, phase by
 * phase (trunk forward, head and loss, trunk backward, clipping and AdamW), and
 * attention's share, for configurations (a) and (b) of bench/pretrain.sh.
 * Built and run by bench/pretrain.sh against build/liblmkit.a.
 * usage: train_breakdown a|b ROWS STEPS */
#include "adamw.h"
#include "layers.h"
#include "llama.h"
#include "rng.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	lm_init(argc, argv);
	if (argc != 4) die("usage: train_breakdown a|b ROWS STEPS");
	int B = atoi(argv[2]), S = atoi(argv[3]);
	lm_config c;
	config_default(&c);
	if (!strcmp(argv[1], "a")) {
		c.dim = 288, c.n_layers = 6, c.n_heads = 6, c.n_kv_heads = 6, c.vocab_size = 32000, c.max_seq_len = 256;
	} else {
		c.dim = 64, c.n_layers = 5, c.n_heads = 8, c.n_kv_heads = 4, c.vocab_size = 512, c.max_seq_len = 512;
	}
	config_finish(&c);
	int T = c.max_seq_len, N = B * T, hd = c.dim / c.n_heads;
	lm_model *m = model_new(&c), *g = model_new(&c);
	model_init(m, 1);
	llama_ws *w = llama_ws_new(&c, B, T);
	int *tok = xmalloc(N * sizeof(int)), *tgt = xmalloc(N * sizeof(int));
	lm_rng r;
	rng_seed(&r, 1);
	for (int i = 0; i < N; i++) tok[i] = (int)rng_below(&r, c.vocab_size), tgt[i] = (int)rng_below(&r, c.vocab_size);
	lm_adamw *opt = adamw_new(m, 0.9f, 0.95f, 1e-5f, 0.1f);
	double t[4] = {0}, att = 0, ws;
	for (int s = 0; s <= S; s++) { /* step 0 warms up */
		double a = now_sec();
		memset(g->block, 0, g->n_params * sizeof(float));
		llama_forward(w, m, tok, NULL, NULL);
		double b = now_sec();
		llama_head_ce(w, m, g, tgt, NULL, 1.0f / N, &ws);
		double d = now_sec();
		llama_backward(w, m, g);
		double e = now_sec();
		grad_clip(g, 1.0);
		adamw_step(opt, m, g, 1e-4f);
		double f = now_sec();
		/* attention alone, forward and backward, on the last layer's activations */
		long L1 = c.n_layers - 1, qd = c.n_heads * hd, kvd = c.n_kv_heads * hd;
		float *q = w->q + L1 * N * qd, *k = w->k + L1 * N * kvd, *v = w->v + L1 * N * kvd;
		float *P = w->att + L1 * B * c.n_heads * T * T;
		double h = now_sec();
		attention_forward(w->ao + L1 * N * qd, P, q, k, v, NULL, B, T, c.n_heads, c.n_kv_heads, hd);
		attention_backward(w->dq, w->dk, w->dv, w->att_scratch, w->ao + L1 * N * qd, P, q, k, v, B, T,
				   c.n_heads, c.n_kv_heads, hd);
		double i = now_sec();
		if (!s) continue;
		t[0] += b - a, t[1] += d - b, t[2] += e - d, t[3] += f - e, att += (i - h) * c.n_layers;
	}
	double step = (t[0] + t[1] + t[2] + t[3]) / S;
	printf("(%s) %d x %d tokens: step %.3f s: forward %.0f%%, head and loss %.0f%%, backward %.0f%%, "
	       "clip and AdamW %.0f%%; attention (forward and backward, all layers) %.0f%%\n",
	       argv[1], B, T, step, 100 * t[0] / S / step, 100 * t[1] / S / step, 100 * t[2] / S / step,
	       100 * t[3] / S / step, 100 * att / S / step);
	return 0;
}
