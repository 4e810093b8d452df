/* pack: units in rows (see pack.h). */
#include "pack.h"
#include "util.h"

size_t pack_rows(const uint64_t *len, size_t n, int T, size_t **row) {
	size_t cap = 64, nr = 0;
	uint64_t used = 0;
	size_t *r = xmalloc(cap * sizeof *r);
	for (size_t i = 0; i < n; i++) {
		uint64_t l = len[i] > (uint64_t)T ? (uint64_t)T : len[i];
		if (i == 0 || used + l > (uint64_t)T) {
			if (nr + 2 > cap) r = xrealloc(r, (cap *= 2) * sizeof *r);
			r[nr++] = i;
			used = 0;
		}
		used += l;
	}
	r[nr] = n;
	*row = r;
	return nr;
}

size_t pack_pairs(const uint64_t *len, size_t n, int T, int MB, uint64_t *at) {
	size_t r = 0;          /* the row being filled */
	uint64_t used = 0;     /* its positions taken */
	for (size_t i = 0; i < n; i++) {
		uint64_t a = len[2 * i], b = len[2 * i + 1];
		if (used && used + a + b <= (uint64_t)T) {
			at[2 * i] = r * T + used, at[2 * i + 1] = r * T + used + a;
			used += a + b;
			continue;
		}
		if (used) r++, used = 0;
		if (a + b <= (uint64_t)T) {
			at[2 * i] = r * T, at[2 * i + 1] = r * T + a;
			used = a + b;
			continue;
		}
		if (r % MB == (size_t)MB - 1) r++;   /* the two rows must share a micro-batch */
		at[2 * i] = r * T, at[2 * i + 1] = (r + 1) * T;
		r++, used = b;
	}
	return used ? r + 1 : r;
}

int pack_put(int T, int *used, const int32_t *ids, uint64_t len, int seg, int *tok, int *pos, int *segs) {
	int j = *used, last = -1;
	for (uint64_t k = 0; k < len && j < T; k++, j++) {
		tok[j] = ids[k];
		pos[j] = (int)k;
		segs[j] = seg;
		last = j;
	}
	*used = j;
	return last;
}

void pack_pad(int T, int used, int *tok, int *pos, int *segs) {
	for (int j = used; j < T; j++) {
		tok[j] = 0;
		pos[j] = 0;
		segs[j] = T + j;   /* padding attends only to itself */
	}
}

uint64_t pack_windows(const lm_shard *s, int T) { return s->n_tokens > 1 ? (s->n_tokens - 2) / T + 1 : 0; }

void pack_window(const lm_shard *s, uint64_t r, int T, int *tokens, int *targets, float *weight) {
	for (int i = 0; i < T; i++) {
		uint64_t at = r * (uint64_t)T + i;
		int has = at + 1 < s->n_tokens;
		tokens[i] = at < s->n_tokens ? (int)shard_token(s, at) : 0;
		targets[i] = has ? (int)shard_token(s, at + 1) : -1;
		if (weight) weight[i] = has ? (s->mask ? s->mask[at + 1] : 1.0f) : 0.0f;
	}
}
