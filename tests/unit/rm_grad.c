/* rm_grad: a score model against the PyTorch oracle (tests/ref/torch_rm.py,
 * tests/data/ref_rm_gqa.bin). The oracle runs each sequence on its own; here
 * the pairs are packed as lm-rm packs them (pack.h: a pair's two sequences in
 * one row as segments, rows padded, two micro-batches), so the scores check
 * the packing and the last-token rule as well as the trunk and the head. Then
 * the pair loss under the three margin tables, every gradient through
 * rm_objective, and 10 steps of the trainer that lm-pretrain and lm-sft use. */
#include "checkpoint.h"
#include "pack.h"
#include "ref.h"
#include "rm.h"
#include "tap.h"
#include "util.h"
#include <string.h>
#include <unistd.h>

/* rm_objective seen from outside: the trainer reports no loss without a
 * metrics file, so the step's Σ loss and Σ weight are taken on the way. */
typedef struct { train_objective in; double sum, weight; } watch;

static double watch_weight(void *ctx, const llama_ws *w, const train_batch *b) {
	watch *s = ctx;
	return s->in.weight(s->in.ctx, w, b);
}

static double watch_micro(void *ctx, llama_ws *w, const lm_model *m, lm_model *grad, const train_batch *b, int a,
			  float scale, double *weight) {
	watch *s = ctx;
	double l = s->in.micro(s->in.ctx, w, m, grad, b, a, scale, weight);
	s->sum += l;
	s->weight += *weight;
	return l;
}

static void watch_report(void *ctx, int val, char *buf, size_t n) {
	watch *s = ctx;
	if (s->in.report) s->in.report(s->in.ctx, val, buf, n);
}

enum { MAXSEQ = 64 };

int main(int argc, char **argv) {
	lm_init(argc, argv);
	const char *path = "tests/data/ref_rm_gqa.bin";
	ref r;
	ref_load(&r, path);
	const float *cf = ref_get(&r, "config", NULL);
	lm_config c;
	config_default(&c);
	c.dim = cf[0]; c.n_layers = cf[1]; c.n_heads = cf[2]; c.n_kv_heads = cf[3];
	c.vocab_size = cf[4]; c.max_seq_len = cf[5]; c.hidden_dim = cf[6];
	c.head = LM_HEAD_SCORE;
	int T = c.max_seq_len, B = cf[7], micro = cf[8], table = cf[9];
	ok(config_finish(&c) == NULL, "score model config");
	lm_model *m = model_new(&c), *g = model_new(&c);
	ok(m->p.score && !m->p.output, "score model: score.weight, no vocabulary head");
	size_t np;
	const float *params = ref_get(&r, "params", &np);
	ok(np == m->n_params, "%zu parameters (lmkit: %zu)", np, m->n_params);
	memcpy(m->block, params, np * sizeof(float));

	/* sequences 2k (chosen) and 2k+1 (rejected) of pair k */
	size_t nseq, npairs;
	const float *lf = ref_get(&r, "seqlen", &nseq), *sf = ref_get(&r, "seqs", NULL);
	const float *rf = ref_get(&r, "ratings", &npairs);
	int ns = (int)nseq, P = (int)npairs;
	if (ns != 2 * P || ns > MAXSEQ) die("%s: %d sequences for %d pairs", path, ns, P);
	int32_t *ids[MAXSEQ];
	uint64_t slen[MAXSEQ], ulen[MAXSEQ / 2];
	for (int i = 0, at = 0; i < ns; at += slen[i], i++) {
		slen[i] = (uint64_t)lf[i];
		ids[i] = xmalloc(slen[i] * sizeof *ids[i]);
		for (uint64_t k = 0; k < slen[i]; k++) ids[i][k] = (int32_t)sf[at + k];
	}
	for (int k = 0; k < P; k++) ulen[k] = slen[2 * k] + slen[2 * k + 1];

	/* lm-rm's packing: a pair is one unit; rows of T, B rows a micro-batch */
	size_t *row;
	int nr = (int)pack_rows(ulen, P, T, &row), rows = B * micro, padded = 0;
	ok(nr <= rows, "%d pairs packed in %d rows (batch: %d)", P, nr, rows);
	if (nr > rows) return done_testing();
	train_batch *b = train_batch_new(rows, T, 1, 0);
	b->micro = micro;
	rm_batch *rb = rm_batch_new(micro, P);
	int seq_micro[MAXSEQ], seq_at[MAXSEQ];   /* micro-batch and row·T + t of each sequence's last token */
	for (int q = 0; q < rows; q++) {
		int a = q / B, used = 0, seg = 0;
		int *tok = b->tok + (size_t)q * T, *pos = b->pos + (size_t)q * T, *sg = b->seg + (size_t)q * T;
		for (size_t k = q < nr ? row[q] : 0; q < nr && k < row[q + 1]; k++) {
			int slot = a * P + rb->n[a]++;
			for (int s = 0; s < 2; s++) {
				int i = 2 * (int)k + s;
				int last = pack_put(T, &used, ids[i], slen[i], seg++, tok, pos, sg);
				seq_micro[i] = a;
				seq_at[i] = (q % B) * T + last;
				rb->at[slot * 2 + s] = seq_at[i];
			}
			rb->margin[slot] = rm_margin(table, (int)rf[k]);
		}
		padded += used < T;
		pack_pad(T, used, tok, pos, sg);
	}
	for (int i = 0; i < rows * T; i++) b->tgt[i] = -1;
	ok(padded == rows && rb->n[0] > 0 && rb->n[1] > 0, "every row padded, pairs in both micro-batches (%d, %d)",
	   rb->n[0], rb->n[1]);

	/* scores at each sequence's last token; a two-turn dialogue's first EOS would be wrong */
	llama_ws *w = llama_ws_new(&c, B, T);
	float scores[MAXSEQ], first_eos[MAXSEQ];
	int eos_seqs = 0;
	for (int a = 0; a < micro; a++) {
		size_t off = (size_t)a * B * T;
		llama_forward(w, m, b->tok + off, b->pos + off, b->seg + off);
		for (int i = 0; i < ns; i++) {
			if (seq_micro[i] != a) continue;
			rm_scores(&scores[i], w, m, &seq_at[i], 1);
			first_eos[i] = NAN;
			for (uint64_t k = 0; k + 1 < slen[i]; k++)
				if (ids[i][k] == 2) {
					int at = seq_at[i] - (int)(slen[i] - 1 - k);
					rm_scores(&first_eos[i], w, m, &at, 1);
					eos_seqs++;
					break;
				}
		}
	}
	const float *want_s = ref_get(&r, "scores", NULL);
	double es = rel_err(scores, want_s, ns), worst_s = 0, eos_gap = INFINITY;
	for (int i = 0; i < ns; i++) {
		if (rel1(scores[i], want_s[i]) > worst_s) worst_s = rel1(scores[i], want_s[i]);
		if (!isnan(first_eos[i]) && fabs(first_eos[i] - want_s[i]) < eos_gap) eos_gap = fabs(first_eos[i] - want_s[i]);
	}
	ok(es < 1e-4 && worst_s < 1e-4, "%d scores (relative error %.2g, worst single %.2g)", ns, es, worst_s);
	ok(eos_seqs >= 2 && eos_gap > 0.1, "%d sequences with an earlier EOS: their score there is off by >= %.3g",
	   eos_seqs, eos_gap);

	/* the mean pair loss under each margin table */
	const float *want_l = ref_get(&r, "loss", NULL);
	float rc[MAXSEQ / 2], rr[MAXSEQ / 2], margin[MAXSEQ / 2];
	for (int k = 0; k < P; k++) rc[k] = scores[2 * k], rr[k] = scores[2 * k + 1];
	static const char *names[] = {"none", "small", "large"};
	for (int t = 0; t < 3; t++) {
		for (int k = 0; k < P; k++) margin[k] = rm_margin(rm_margin_table(names[t]), (int)rf[k]);
		double l = rm_pair_loss(rc, rr, margin, P, 0, NULL, NULL) / P;
		ok(rel1(l, want_l[t]) < 1e-4, "margin %s: loss %.7f (torch %.7f, relative error %.2g)", names[t], l,
		   want_l[t], rel1(l, want_l[t]));
	}

	/* every gradient, through the objective the trainer runs */
	train_objective ob = rm_objective(rb);
	double total = ob.weight(ob.ctx, w, b), sum = 0, ws;
	ok(total == P, "objective weight: %g pairs", total);
	for (int a = 0; a < micro; a++) sum += ob.micro(ob.ctx, w, m, g, b, a, (float)(1.0 / total), &ws);
	ok(rel1(sum / total, want_l[table]) < 1e-4, "rm_objective (margin %s): loss %.7f (torch %.7f)", names[table],
	   sum / total, want_l[table]);
	const float *wantg = ref_get(&r, "grads", NULL);
	int nt = params_tensors(&c, NULL), bad = 0;
	lm_tensor *ts = xmalloc(nt * sizeof *ts);
	params_tensors(&c, ts);
	double worst = 0, escore = NAN;
	for (int t = 0; t < nt; t++) {
		double et = rel_err(g->block + ts[t].offset, wantg + ts[t].offset, ts[t].size);
		if (!strcmp(ts[t].name, "score.weight")) escore = et;
		if (et > worst) worst = et;
		if (et >= 1e-3) { bad++; printf("# %s: relative error %.3g\n", ts[t].name, et); }
	}
	ok(bad == 0 && escore < 1e-3, "gradients of all %d tensors (worst relative error %.2g; score.weight %.2g)", nt,
	   worst, escore);

	/* 10 steps of the trainer with the pairwise objective */
	const float *tr = ref_get(&r, "train", NULL);
	size_t nl;
	const float *want_steps = ref_get(&r, "losses", &nl);
	ok(nl == 10, "10 reference losses");
	char dir[] = "/tmp/lmkit-rm-XXXXXX", out[64], state[80];
	if (!mkdtemp(dir)) die_errno("mkdtemp");
	snprintf(out, sizeof out, "%s/rm.safetensors", dir);
	snprintf(state, sizeof state, "%s.state", out);
	train_opts o = {0};
	o.out = out;
	o.B = B;
	o.T = T;
	o.steps = (long long)tr[2];
	o.warmup = (long long)tr[1];
	o.lr = tr[0]; o.min_lr = tr[3]; o.weight_decay = tr[4]; o.clip = tr[5];
	o.beta1 = tr[6]; o.beta2 = tr[7]; o.eps = tr[8];
	trainer *tn = trainer_open(m, &o, B, T, "\"test\":true");
	watch seen = {rm_objective(rb), 0, 0};
	tn->obj = (train_objective){.weight = watch_weight, .micro = watch_micro, .report = watch_report, .ctx = &seen};
	double worst_l = 0;
	int more = 1, steps = 0;
	for (; more && steps < 10; steps++) {
		seen.sum = seen.weight = 0;
		more = trainer_step(tn, b, 0, NULL);
		double l = seen.sum / seen.weight, e = rel1(l, want_steps[steps]);
		if (e > worst_l) worst_l = e;
		printf("# step %d: loss %.7f (torch %.7f)\n", steps + 1, l, want_steps[steps]);
	}
	ok(steps == 10 && !more, "the trainer ran its %d steps", steps);
	ok(worst_l < 1e-4, "losses of 10 trainer steps (worst relative error %.2g)", worst_l);
	trainer_finish(tn);
	lm_model *back = ckpt_load(out);
	ok(back->cfg.head == LM_HEAD_SCORE && back->n_params == m->n_params &&
	   !memcmp(back->block, m->block, m->n_params * sizeof(float)), "its checkpoint reads back as the score model");
	model_free(back);
	unlink(out);
	unlink(state);
	rmdir(dir);

	rm_batch_free(rb);
	train_batch_free(b);
	llama_ws_free(w);
	model_free(m);
	model_free(g);
	for (int i = 0; i < ns; i++) free(ids[i]);
	free(row); free(ts);
	ref_free(&r);
	return done_testing();
}
