/* loader: training batches from token shards. Each row is a window of T+1
 * consecutive tokens (inputs are the first T, targets the last T) at a uniformly
 * random start over all shards (windows may cross document boundaries, as in
 * Llama pretraining). The only state is the RNG, so saving lm_loader.rng saves
 * the data position. Validation takes fixed consecutive windows instead. */
#ifndef LM_LOADER_H
#define LM_LOADER_H
#include "rng.h"
#include "shard.h"
#include <stdint.h>

typedef struct lm_loader {
	int n_shards, T;
	lm_shard **shards;
	uint64_t *starts;     /* cumulative count of window starts per shard */
	int has_mask;         /* some shard carries a loss mask */
	lm_rng rng;
} lm_loader;

/* A loader over n open shards, which it then owns (so a shard read from
 * standard input is read once, before the model that sets T is known). Dies
 * naming a shard whose vocabulary is larger than vocab_size or that holds
 * fewer than T+1 tokens. */
lm_loader *loader_new(lm_shard **shards, int n, int T, int vocab_size, uint64_t seed);
/* Closes the shards too. */
void loader_close(lm_loader *l);

/* Fill B rows: tokens and targets (B·T each); weight (B·T, may be NULL) gets
 * the shard's loss mask of each target (1 without a mask). */
void loader_random(lm_loader *l, int B, int *tokens, int *targets, float *weight);

#endif
