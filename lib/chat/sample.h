/* sample: batched autoregressive decoding with a KV cache, and the token
 * samplers (greedy, temperature, top-k, top-p).
 *
 * Up to max_batch sequences live in slots and advance together: each step
 * feeds every active sequence's pending tokens (its whole prompt on the first
 * step, then its last sampled token) through the model as rows of one matrix,
 * so each projection reads its weights once a step for all of them, and
 * samples one new token per sequence. Each sequence has its own RNG, seeded
 * when it starts, and no computation mixes rows (each sum runs in one order
 * whatever the other rows), so with fp32 weights a sequence gives the same
 * tokens and log-probabilities, to the bit, whatever else is in the batch. Rejection sampling (K completions of one prompt) and RL
 * rollouts drive this API directly:
 *
 *   lm_sampler *s = sampler_new(model, 64, 256);
 *   for each prompt: sampler_start(s, ids, n, &how, seed);   (until it returns -1)
 *   while (sampler_step(s)) { collect sampler_done() slots, sampler_release(), start more }
 */
#ifndef LM_SAMPLE_H
#define LM_SAMPLE_H
#include "model.h"
#include "rng.h"
#include <stdint.h>

typedef struct lm_sampling {
	float temperature;   /* 0: greedy (argmax; the lowest id wins a tie) */
	int top_k;           /* keep the k most probable tokens; 0: all */
	float top_p;         /* keep the smallest set whose probability reaches p; 1 (or 0): all */
	int max_new;         /* stop after this many new tokens; 0: only max_len limits */
} lm_sampling;

typedef struct lm_sampler lm_sampler;

/* A decoder for m (which must outlive it) with room for max_batch sequences of
 * at most max_len positions each (prompt plus completion, <= cfg.max_seq_len).
 * It reads m's weights where they are (no copy: several samplers of one model,
 * or of several models in one process, cost the weights once) and holds a KV
 * cache of 2·n_layers·max_batch·max_len·n_kv_heads·head_dim floats (max_len
 * rounded up to a multiple of 16): size max_len to what the sequences need. */
lm_sampler *sampler_new(const lm_model *m, int max_batch, int max_len);
void sampler_free(lm_sampler *s);

/* Decode on the GPU from now on (gpu.h; dies without one): the weights
 * and the KV cache move to device memory, the samplers stay here. Products
 * in fp32, or in bf16 (activations rounded too) when m's weights are bf16
 * (model_weights). Call before the first sampler_start. */
void sampler_gpu(lm_sampler *s);

/* What messages call the model, its file: non-finite logits (NaN or infinite
 * weights, or activations that overflow) are an error naming it. Default "sampler". */
void sampler_name(lm_sampler *s, const char *name);

/* Token ids that end a sequence when sampled (kept in its output). Default: none. */
void sampler_stop_ids(lm_sampler *s, const int32_t *ids, int n);

/* Start a sequence from n >= 1 prompt ids (each < vocab_size, n < max_len).
 * Returns its slot, or -1 when every slot is busy. Dies on a bad prompt. */
int sampler_start(lm_sampler *s, const int32_t *prompt, int n, const lm_sampling *how, uint64_t seed);

/* Advance every unfinished sequence by one sampled token. Returns how many
 * sequences are still unfinished afterwards (0: nothing left to do). */
int sampler_step(lm_sampler *s);

/* Whether slot's sequence has ended: a stop id, max_new tokens, or prompt
 * plus completion reaching max_len tokens. */
int sampler_done(const lm_sampler *s, int slot);
/* Whether slot holds a sequence (started and not released). */
int sampler_busy(const lm_sampler *s, int slot);
/* The tokens sampled so far (stop id included) and their count. */
const int32_t *sampler_tokens(const lm_sampler *s, int slot, int *n);
/* Sum over the sampled tokens of log p(token | prefix) under the model itself
 * (softmax of the raw logits: temperature 1, no top-k/top-p truncation). */
double sampler_logprob(const lm_sampler *s, int slot);
/* Each sampled token's log p, as sampler_logprob sums them (policy-gradient
 * methods want them one by one); sampler_tokens' count of them. */
const double *sampler_token_logprobs(const lm_sampler *s, int slot);
/* Free the slot for another sequence. */
void sampler_release(lm_sampler *s, int slot);

/* One token from a row of logits (V) as how says, with r for the randomness;
 * -1 when a logit is NaN or infinite. Exposed for tests; the sampler uses the
 * same code. */
int sample_token(const float *logits, int V, const lm_sampling *how, lm_rng *r);

#endif
