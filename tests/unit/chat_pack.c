/* chat_pack: supervised fine-tuning's masked loss and packing.
 * - A packed row (several dialogues, positions restarting, attention kept inside
 *   each) gives the loss and gradients of its dialogues run one at a time.
 * - The masked loss is the mean cross-entropy over answer tokens alone,
 *   recomputed here from the logits and the shard's own mask.
 * - A row whose every target is masked contributes nothing, never a NaN. */
#include "tap.h"
#include "chat.h"
#include "llama.h"
#include "rng.h"
#include "shard.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T = 32, V = 64, NDOC = 5 };
static const int doc_len[NDOC] = {9, 12, 7, 6, 40};

static int finite_all(const float *x, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i])) return 0;
	return 1;
}

/* Loss sum (grad_scale 1) and gradients of docs[0..n) packed in one row of Tr positions. */
static double run_row(const lm_model *m, lm_model *g, const lm_shard *s, const uint64_t *docs, size_t n, int Tr,
		      double *wsum, long *live) {
	llama_ws *w = llama_ws_new(&m->cfg, 1, Tr);
	int *tok = xmalloc(Tr * sizeof *tok), *tgt = xmalloc(Tr * sizeof *tgt);
	int *pos = xmalloc(Tr * sizeof *pos), *seg = xmalloc(Tr * sizeof *seg);
	float *wt = xmalloc(Tr * sizeof *wt);
	*live = chat_fill_row(s, docs, n, Tr, tok, tgt, wt, pos, seg);
	llama_forward(w, m, tok, pos, seg);
	double loss = llama_head_ce(w, m, g, tgt, wt, 1.0f, wsum);
	llama_backward(w, m, g);
	llama_ws_free(w);
	free(tok); free(tgt); free(pos); free(seg); free(wt);
	return loss;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_config c;
	config_default(&c);
	c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = V; c.max_seq_len = T;
	const char *why = config_finish(&c);
	ok(!why, "config (%s)", why ? why : "ok");
	lm_model *m = model_new(&c);
	model_init(m, 7);

	/* Dialogue-like documents: a mask of 1 on a few runs, the third fully masked. */
	char path[] = "/tmp/lmkit-chatpack-XXXXXX";
	close(mkstemp(path));
	lm_shard_writer *sw = shard_create(path, V, 1);
	lm_rng r;
	rng_seed(&r, 3);
	for (int d = 0; d < NDOC; d++) {
		int32_t ids[64];
		uint8_t mk[64];
		for (int i = 0; i < doc_len[d]; i++) {
			ids[i] = i == 0 ? 1 : 3 + (int)rng_below(&r, V - 3);
			mk[i] = d != 2 && (i % 5 >= 2);
		}
		shard_add_doc(sw, ids, mk, doc_len[d]);
	}
	shard_finish(sw);
	lm_shard *s = shard_open(path);

	/* Rows: 9+12+7 = 28 fit one row of 32, 6 starts the next, 40 is cut to 32 alone. */
	uint64_t order[NDOC] = {0, 1, 2, 3, 4};
	size_t *row;
	size_t nr = chat_pack_rows(s, order, NDOC, T, &row);
	ok(nr == 3 && row[0] == 0 && row[1] == 3 && row[2] == 4 && row[3] == 5, "rows split as the lengths say (%zu rows)", nr);
	free(row);

	/* Packed row of dialogues 0, 1, 2 against each one alone (no padding). */
	size_t np = m->n_params;
	lm_model *gp = model_new(&c), *g1 = model_new(&c);
	double wp, w1 = 0, ws;
	long live, live1 = 0, l;
	double lp = run_row(m, gp, s, order, 3, T, &wp, &live);
	double l1 = 0;
	for (int d = 0; d < 3; d++) {
		l1 += run_row(m, g1, s, &order[d], 1, doc_len[d], &ws, &l);
		w1 += ws;
		live1 += l;
	}
	ok(wp == w1 && live == live1 && live > 0, "same targets counted packed and alone (%g, %ld)", wp, live);
	ok(fabs(lp - l1) <= 1e-5 * fabs(l1), "packed loss %.8g = sum of losses alone %.8g", lp, l1);
	double e = rel_err(gp->block, g1->block, np);
	ok(e <= 1e-5, "packed gradients = sum of gradients alone (rel err %.2g)", e);

	/* The mean over answer tokens, recomputed from the logits and the shard. */
	llama_ws *w = llama_ws_new(&c, 1, T);
	int tok[T], tgt[T], pos[T], seg[T];
	float wt[T];
	chat_fill_row(s, order, 3, T, tok, tgt, wt, pos, seg);
	llama_forward(w, m, tok, pos, seg);
	double sum = llama_head_ce(w, m, NULL, tgt, wt, 0, &ws);
	float *logits = xmalloc((size_t)T * V * sizeof *logits);
	llama_logits(logits, w, m);
	double ref = 0;
	int count = 0, j = 0;
	for (int d = 0; d < 3; d++) {
		uint64_t st = s->doc_start[d];
		for (int k = 0; k < doc_len[d]; k++, j++) {
			if (k + 1 == doc_len[d] || !s->mask[st + k + 1]) continue;
			const float *z = logits + (size_t)j * V;
			double mx = z[0], se = 0;
			for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
			for (int v = 0; v < V; v++) se += exp(z[v] - mx);
			ref += log(se) + mx - z[shard_token(s, st + k + 1)];
			count++;
		}
	}
	ref /= count;
	ok(count > 0 && ws == count, "answer targets counted (%g of %d)", ws, count);
	ok(fabs(sum / ws - ref) <= 1e-5 * ref, "masked loss %.8g = mean CE over answer tokens %.8g", sum / ws, ref);
	llama_ws_free(w);
	free(logits);

	/* A row whose every target is masked: no loss, no gradient, no NaN. */
	lm_model *gz = model_new(&c);
	double lz = run_row(m, gz, s, &order[2], 1, T, &ws, &l);
	int zero = 1;
	for (size_t i = 0; i < np; i++) zero &= gz->block[i] == 0;
	ok(lz == 0 && ws == 0 && l == 0, "fully masked row: loss %g over weight %g", lz, ws);
	ok(zero && finite_all(gz->block, np), "fully masked row: zero gradients, all finite");

	/* A dialogue longer than the row keeps its first T tokens. */
	lm_model *gl = model_new(&c);
	run_row(m, gl, s, &order[4], 1, T, &ws, &l);
	int expect = 0;
	for (int k = 0; k < T; k++) expect += s->mask[s->doc_start[4] + k + 1];
	ok(l == expect && finite_all(gl->block, np), "a long dialogue is cut to the row (%ld targets)", l);

	model_free(m); model_free(gp); model_free(g1); model_free(gz); model_free(gl);
	shard_close(s);
	unlink(path);
	return done_testing();
}
