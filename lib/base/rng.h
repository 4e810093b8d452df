/* rng: a small deterministic generator (xoshiro256**) whose whole state is four
 * words, so training state files can save and restore it exactly. */
#ifndef LM_RNG_H
#define LM_RNG_H
#include <stdint.h>

typedef struct lm_rng { uint64_t s[4]; } lm_rng;

void rng_seed(lm_rng *r, uint64_t seed);
uint64_t rng_u64(lm_rng *r);
/* uniform in [0, 1) with 24 bits, as a float sampler wants */
float rng_float(lm_rng *r);
/* uniform integer in [0, n) */
uint64_t rng_below(lm_rng *r, uint64_t n);
/* standard normal (Box-Muller) */
double rng_normal(lm_rng *r);

#endif
