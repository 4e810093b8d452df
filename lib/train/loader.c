#include "loader.h"
#include "util.h"
#include <stdlib.h>

lm_loader *loader_new(lm_shard **shards, int n, int T, int vocab_size, uint64_t seed) {
	lm_loader *l = xcalloc(1, sizeof *l);
	l->n_shards = n;
	l->T = T;
	l->shards = xcalloc(n, sizeof *l->shards);
	l->starts = xcalloc(n, sizeof *l->starts);
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		lm_shard *s = l->shards[i] = shards[i];
		if (s->vocab_size > (uint32_t)vocab_size)
			die("%s: vocabulary of %u tokens is larger than the model's %d", s->path, s->vocab_size,
			    vocab_size);
		if (s->n_tokens < (uint64_t)T + 1)
			die("%s: %llu tokens, fewer than one window of %d", s->path, (unsigned long long)s->n_tokens,
			    T + 1);
		if (s->mask) l->has_mask = 1;
		total += s->n_tokens - T;
		l->starts[i] = total;
	}
	rng_seed(&l->rng, seed);
	return l;
}

void loader_close(lm_loader *l) {
	if (!l) return;
	for (int i = 0; i < l->n_shards; i++) shard_close(l->shards[i]);
	free(l->shards);
	free(l->starts);
	free(l);
}

static void window(const lm_shard *s, uint64_t at, int T, int *tokens, int *targets, float *weight) {
	for (int t = 0; t < T; t++) {
		tokens[t] = (int)shard_token(s, at + t);
		targets[t] = (int)shard_token(s, at + t + 1);
		if (weight) weight[t] = s->mask ? s->mask[at + t + 1] : 1.0f;
	}
}

void loader_random(lm_loader *l, int B, int *tokens, int *targets, float *weight) {
	int T = l->T;
	for (int b = 0; b < B; b++) {
		uint64_t r = rng_below(&l->rng, l->starts[l->n_shards - 1]);
		int i = 0;
		while (r >= l->starts[i]) i++;
		uint64_t at = r - (i ? l->starts[i - 1] : 0);
		window(l->shards[i], at, T, tokens + (long)b * T, targets + (long)b * T, weight ? weight + (long)b * T : NULL);
	}
}

