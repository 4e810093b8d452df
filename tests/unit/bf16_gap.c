/* bf16_gap: a trained model with bf16 weights against itself in fp32. Greedy
 * decoding from BOS for 200 tokens (where the two part, if they do), the same
 * tokens and log-probabilities from the portable bf16 kernel as from the
 * vector one, and the per-token log-prob gap |log p_bf16 - log p_f32| over
 * held-out text, teacher-forced: its mean must stay below 1e-2.
 *   bf16_gap              stories260K (assets) on 16 of its own samples (temperature 1):
 *                         no TinyStories text is at hand
 *   bf16_gap MODEL SHARD  any model on a token shard (the demo's val.bin) */
#include "tap.h"
#include "bf16.h"
#include "checkpoint.h"
#include "llama.h"
#include "sample.h"
#include "shard.h"
#include "util.h"
#include <string.h>
#include <unistd.h>

#define GREEDY 200
#define MAX_TOKENS 65536

static int greedy(const lm_model *m, int32_t *out, double *lp) {
	int len = GREEDY + 1 < m->cfg.max_seq_len ? GREEDY + 1 : m->cfg.max_seq_len, n;
	lm_sampler *s = sampler_new(m, 1, len);
	lm_sampling how = {.temperature = 0, .max_new = GREEDY};
	int32_t bos = 1;
	sampler_start(s, &bos, 1, &how, 1);
	while (sampler_step(s)) {}
	const int32_t *t = sampler_tokens(s, 0, &n);
	memcpy(out, t, n * sizeof *t);
	memcpy(lp, sampler_token_logprobs(s, 0), n * sizeof *lp);
	sampler_free(s);
	return n;
}

/* Per-token losses of the held-out tokens, rows of T, each row's last token only a target. */
static void losses(const lm_model *m, const int32_t *ids, long n, int T, float *loss) {
	llama_ws *w = llama_ws_new(&m->cfg, 1, T);
	int *tok = xmalloc(T * sizeof *tok), *tgt = xmalloc(T * sizeof *tgt);
	for (long r = 0; r + T + 1 <= n; r += T) {
		for (int t = 0; t < T; t++) tok[t] = ids[r + t], tgt[t] = ids[r + t + 1];
		llama_forward(w, m, tok, NULL, NULL);
		llama_head_ce(w, m, NULL, tgt, NULL, 0, NULL);
		memcpy(loss + r, w->losses, T * sizeof *loss);
	}
	llama_ws_free(w);
	free(tok);
	free(tgt);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	const char *assets = getenv("LMKIT_ASSETS") ? getenv("LMKIT_ASSETS") : "../shared/assets";
	char mpath[4096];
	const char *model_path = argc > 1 ? argv[1] : mpath;
	snprintf(mpath, sizeof mpath, "%s/stories260K.bin", assets);
	if (argc == 1 && access(mpath, R_OK)) skip_all("no stories260K.bin in the assets");
	if (argc != 1 && argc != 3) die("usage: bf16_gap [MODEL SHARD]");
	lm_model *f = model_load(model_path), *h = model_load(model_path);
	model_weights(h, "bf16", "bf16_gap");

	int32_t gf[GREEDY], gh[GREEDY], gp[GREEDY];
	double lf[GREEDY], lh[GREEDY], lpp[GREEDY];
	int nf = greedy(f, gf, lf), nh = greedy(h, gh, lh), same = 0;
	while (same < nf && same < nh && gf[same] == gh[same]) same++;
	if (same == nf && nf == nh) printf("# greedy: bf16 and fp32 agree on all %d tokens\n", nf);
	else printf("# greedy: bf16 and fp32 agree on %d tokens of %d, then part\n", same, nf);
	const char *vec = bf16_kernel();
	bf16_use("portable");
	int np = greedy(h, gp, lpp);
	ok(np == nh && !memcmp(gp, gh, nh * sizeof *gh) && !memcmp(lpp, lh, nh * sizeof *lh),
	   "greedy tokens and log-probs: portable bf16 kernel = %s", vec);
	bf16_use(vec);

	/* held-out tokens */
	int32_t *ids = xmalloc(MAX_TOKENS * sizeof *ids);
	long n = 0;
	if (argc == 3) {
		lm_shard *s = shard_open(argv[2]);
		for (; n < MAX_TOKENS && (uint64_t)n < s->n_tokens; n++) ids[n] = (int32_t)shard_token(s, n);
		shard_close(s);
	} else {
		/* no TinyStories here: text of stories260K's own, sampled at temperature 1 */
		int T = f->cfg.max_seq_len, B = 16;
		lm_sampler *s = sampler_new(f, B, T);
		lm_sampling how = {.temperature = 1};
		int32_t bos = 1;
		for (int i = 0; i < B; i++) sampler_start(s, &bos, 1, &how, 100 + i);
		while (sampler_step(s)) {}
		for (int i = 0; i < B; i++) {
			int k;
			const int32_t *t = sampler_tokens(s, i, &k);
			ids[n++] = bos;
			for (int j = 0; j < k; j++) ids[n++] = t[j];
		}
		sampler_free(s);
	}
	int T = f->cfg.max_seq_len;
	long rows = (n - 1) / T, N = rows * T;
	if (rows < 1) die("%ld held-out tokens: fewer than a row of %d", n, T + 1);
	float *a = xmalloc(N * sizeof *a), *b = xmalloc(N * sizeof *b);
	losses(f, ids, n, T, a);
	losses(h, ids, n, T, b);
	double gap = 0, worst = 0, sa = 0, sb = 0;
	for (long i = 0; i < N; i++) {
		double d = fabs((double)a[i] - b[i]);
		gap += d;
		worst = d > worst ? d : worst;
		sa += a[i];
		sb += b[i];
	}
	gap /= N;
	printf("# %ld held-out tokens: mean |log p gap| %.3g (largest %.3g); mean loss fp32 %.5f, bf16 %.5f\n", N, gap,
	       worst, sa / N, sb / N);
	ok(gap < 1e-2, "mean per-token log-prob gap %.3g < 1e-2", gap);
	free(a); free(b); free(ids);
	model_free(f);
	model_free(h);
	return done_testing();
}
