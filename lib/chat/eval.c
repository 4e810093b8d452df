/* eval: reply scoring rules and a model's loss over a shard (see eval.h). */
#include "eval.h"
#include "chat.h"
#include "llama.h"
#include "pack.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
/* Letters, digits and every byte of a multi-byte UTF-8 character join a word. */
static int wordish(unsigned char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int eval_has_word(const char *text, size_t len, const char *word, size_t wlen) {
	if (!wlen || wlen > len) return 0;
	for (size_t i = 0; i + wlen <= len; i++) {
		size_t k = 0;
		while (k < wlen && lower((unsigned char)text[i + k]) == lower((unsigned char)word[k])) k++;
		if (k < wlen) continue;
		/* a word that itself begins or ends with punctuation needs no boundary there */
		int left = i == 0 || !wordish(text[i - 1]) || !wordish(word[0]);
		int right = i + wlen == len || !wordish(text[i + wlen]) || !wordish(word[wlen - 1]);
		if (left && right) return 1;
	}
	return 0;
}

int eval_begins(const char *text, size_t len, const char *prefix) {
	const char *s = chat_strip(text, &len);
	size_t n = strlen(prefix);
	return n <= len && memcmp(s, prefix, n) == 0;
}

int eval_same(const char *text, size_t len, const char *want, size_t wlen) {
	const char *a = chat_strip(text, &len), *b = chat_strip(want, &wlen);
	if (len != wlen) return 0;
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
	return 1;
}

eval_loss eval_shard_loss(const lm_model *m, const lm_shard *s, int B, int T) {
	int V = m->cfg.vocab_size;
	if ((int)s->vocab_size > V)
		die("%s: vocabulary of %u tokens, more than the model's %d", s->path, s->vocab_size, V);
	size_t n = (size_t)B * T;
	int *tok = xmalloc(n * sizeof *tok), *tgt = xmalloc(n * sizeof *tgt);
	int *pos = xmalloc(n * sizeof *pos), *seg = xmalloc(n * sizeof *seg);
	float *wt = xmalloc(n * sizeof *wt);
	double *count = xcalloc(V, sizeof *count);
	llama_ws *w = llama_ws_new(&m->cfg, B, T);
	uint64_t *order = NULL;
	size_t *row = NULL, rows;
	if (s->mask) {
		order = xmalloc((s->n_docs ? s->n_docs : 1) * sizeof *order);
		for (uint64_t d = 0; d < s->n_docs; d++) order[d] = d;
		rows = chat_pack_rows(s, order, s->n_docs, T, &row);
	} else {
		rows = pack_windows(s, T);
	}
	double sum = 0, weight = 0;
	for (size_t r0 = 0; r0 < rows; r0 += B) {
		for (int b = 0; b < B; b++) {
			size_t r = r0 + b, o = (size_t)b * T;
			if (s->mask) {
				size_t a = r < rows ? row[r] : 0, z = r < rows ? row[r + 1] : 0;
				chat_fill_row(s, order + a, z - a, T, tok + o, tgt + o, wt + o, pos + o, seg + o);
			} else {
				pack_window(s, r, T, tok + o, tgt + o, wt + o);   /* past the end: no target */
			}
		}
		if (s->mask) llama_forward(w, m, tok, pos, seg);
		else llama_forward(w, m, tok, NULL, NULL);
		double ws;
		sum += llama_head_ce(w, m, NULL, tgt, wt, 0, &ws);
		weight += ws;
		for (size_t i = 0; i < n; i++)
			if (tgt[i] >= 0) count[tgt[i]] += wt[i];
	}
	if (!(weight > 0)) die("%s: no token to predict", s->path);
	eval_loss e = {.loss = sum / weight, .targets = weight};
	for (int v = 0; v < V; v++)
		if (count[v] > 0) e.unigram_entropy -= count[v] / weight * log(count[v] / weight);
	llama_ws_free(w);
	free(tok); free(tgt); free(pos); free(seg); free(wt); free(count); free(order); free(row);
	return e;
}
