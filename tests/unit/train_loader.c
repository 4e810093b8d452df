/* train_loader: training windows are exact slices of the shards (targets the
 * next tokens, weights the shards' loss mask), cover every shard, follow the
 * saved RNG, and validation windows are consecutive and wrap around. */
#include "loader.h"
#include "pack.h"
#include "tap.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A shard of n tokens: token i is (base + i) % vocab; with_mask: mask i = i % 3 != 0. */
static void write_shard(const char *path, int n, int base, int vocab, int with_mask) {
	lm_shard_writer *w = shard_create(path, vocab, with_mask);
	int32_t *ids = xmalloc(n * sizeof *ids);
	uint8_t *mask = xmalloc(n);
	for (int i = 0; i < n; i++) ids[i] = (base + i) % vocab, mask[i] = i % 3 != 0;
	/* two documents: windows span them */
	shard_add_doc(w, ids, with_mask ? mask : NULL, n / 2);
	shard_add_doc(w, ids + n / 2, with_mask ? mask + n / 2 : NULL, n - n / 2);
	shard_finish(w);
	free(ids);
	free(mask);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	char a[] = "/tmp/lmkit-loader-a.XXXXXX", b[] = "/tmp/lmkit-loader-b.XXXXXX";
	close(mkstemp(a));
	close(mkstemp(b));
	write_shard(a, 300, 0, 1000, 0);
	write_shard(b, 200, 500, 1000, 1);
	lm_shard *sh[2] = {shard_open(a), shard_open(b)};
	int T = 16, B = 64;
	lm_loader *l = loader_new(sh, 2, T, 1000, 42);
	ok(l->has_mask, "a shard with a mask is noticed");
	int *tok = xmalloc(B * T * sizeof(int)), *tgt = xmalloc(B * T * sizeof(int));
	float *wt = xmalloc(B * T * sizeof(float));
	lm_rng saved = l->rng;
	loader_random(l, B, tok, tgt, wt);
	int slices = 1, weights = 1, from_a = 0, from_b = 0;
	for (int r = 0; r < B; r++) {
		const int *t = tok + r * T, *g = tgt + r * T;
		const float *w = wt + r * T;
		int in_b = t[0] >= 500 && t[0] < 700;
		from_a += !in_b, from_b += in_b;
		for (int i = 0; i < T; i++) {
			slices &= g[i] == (t[i] + 1) % 1000 && (i + 1 == T || t[i + 1] == g[i]);
			/* shard b's token k (at offset k - 500) has mask (k - 500) % 3 != 0; shard a has none */
			float want = in_b ? (float)((g[i] - 500) % 3 != 0) : 1.0f;
			weights &= w[i] == want;
		}
		/* the window ends inside its shard */
		slices &= in_b ? t[0] - 500 + T < 200 : t[0] + T < 300;
	}
	ok(slices, "targets are the next tokens of one contiguous slice of one shard");
	ok(weights, "weights are the targets' loss mask (1 without one)");
	ok(from_a > 0 && from_b > 0, "both shards sampled (%d and %d rows)", from_a, from_b);
	int *tok2 = xmalloc(B * T * sizeof(int)), *tgt2 = xmalloc(B * T * sizeof(int));
	l->rng = saved;
	loader_random(l, B, tok2, tgt2, NULL);
	ok(!memcmp(tok, tok2, B * T * sizeof(int)) && !memcmp(tgt, tgt2, B * T * sizeof(int)),
	   "the same RNG state gives the same windows");

	/* validation windows (pack.h): (300-2)/16+1 = 19 cover a, the last one partly */
	const lm_shard *sa = l->shards[0], *sb = l->shards[1];
	ok(pack_windows(sa, T) == 19 && pack_windows(sb, T) == 13, "windows cover each shard");
	pack_window(sa, 0, T, tok, tgt, wt);
	ok(tok[0] == 0 && tgt[T - 1] == T && wt[0] == 1, "window 0: the start of the shard");
	pack_window(sa, 18, T, tok, tgt, wt);
	ok(tok[0] == 288 && tok[11] == 299 && tgt[10] == 299 && tgt[11] == -1 && tok[12] == 0 && tgt[T - 1] == -1 &&
	   wt[10] == 1 && wt[11] == 0, "the last window: every token but the first a target once, then nothing");
	pack_window(sb, 0, T, tok, tgt, wt);
	ok(tok[0] == 500 && wt[0] == 1 && wt[1] == 1 && wt[2] == 0, "weights are the shard's loss mask");
	loader_close(l);

	unlink(a);
	unlink(b);
	free(tok); free(tgt); free(wt); free(tok2); free(tgt2);
	return done_testing();
}
