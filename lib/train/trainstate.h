/* trainstate: what lm-pretrain needs beyond a checkpoint to resume exactly:
 * the step, the data sampler's RNG and AdamW's moments, in CKPT.state beside
 * CKPT. The file records a hash of the parameters it goes with, so a state
 * that does not belong to the checkpoint is refused. Format: docs/FORMATS.md,
 * "Training state". */
#ifndef LM_TRAINSTATE_H
#define LM_TRAINSTATE_H
#include "adamw.h"
#include "rng.h"
#include <stdint.h>

#define TRAINSTATE_MAGIC "LMKTRAIN"

typedef struct lm_trainstate {
	long long step;        /* optimizer steps done */
	long long tokens;      /* training tokens seen */
	lm_rng data_rng;       /* the loader's RNG after those steps; all zero: none (lm-sft) */
	uint64_t params_hash;  /* params_hash() of the checkpoint it belongs to */
} lm_trainstate;

/* XXH64 of a model's parameter block. */
uint64_t params_hash(const lm_model *m);

/* "CKPT.state", malloc'd */
char *trainstate_path(const char *ckpt);
/* Write atomically (temporary file, then rename). Under mpirun every rank
 * calls it with its shard of the moments (dist_split's range) and rank 0
 * writes the whole file, the same whatever the number of ranks. */
void trainstate_save(const char *path, const lm_trainstate *s, const lm_adamw *opt);
/* Read into s and opt's moments (its range [lo, hi) of them) and update count;
 * dies with "path: reason" on a missing, truncated or corrupt file or one made
 * for another parameter count. */
void trainstate_load(const char *path, lm_trainstate *s, lm_adamw *opt);

#endif
