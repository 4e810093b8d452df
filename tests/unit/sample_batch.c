/* sample_batch: a sequence gives the same tokens and log-probability whether
 * it is decoded alone or among 63 others, with any sampler; prompts longer than
 * one forward chunk are fed correctly; stop ids and max_new end sequences. */
#include "tap.h"
#include "sample.h"
#include "sampling_mix.h"
#include "util.h"
#include <string.h>

#define NSEQ 64
#define LEN 96

typedef struct { int32_t ids[LEN]; int n; double lp; } result;

static lm_sampling how_for(int i) { return sampling_mix(i, 20); }

static void prompt_for(int i, int32_t *p, int *n) {
	*n = 1 + (i * 7) % 13;
	p[0] = 1;
	for (int j = 1; j < *n; j++) p[j] = 3 + (i * 31 + j * 17) % 200;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	lm_config c;
	config_default(&c);
	c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.vocab_size = 211;
	c.hidden_dim = 64; c.max_seq_len = 128;
	config_finish(&c);
	lm_model *m = model_new(&c);
	model_init(m, 3);
	/* a sharper distribution than init's, so samplers have something to choose between */
	for (size_t i = 0; i < (size_t)c.vocab_size * c.dim; i++) m->p.tok_embeddings[i] *= 40;

	static result alone[NSEQ], batch[NSEQ];
	int32_t p[16];
	int n;
	for (int i = 0; i < NSEQ; i++) {
		lm_sampler *s = sampler_new(m, 1, LEN);
		prompt_for(i, p, &n);
		lm_sampling h = how_for(i);
		sampler_start(s, p, n, &h, 1000 + i);
		while (sampler_step(s)) {}
		const int32_t *t = sampler_tokens(s, 0, &alone[i].n);
		memcpy(alone[i].ids, t, alone[i].n * sizeof *t);
		alone[i].lp = sampler_logprob(s, 0);
		sampler_free(s);
	}
	lm_sampler *s = sampler_new(m, NSEQ, LEN);
	int slot[NSEQ];
	for (int i = 0; i < NSEQ; i++) {
		prompt_for(i, p, &n);
		lm_sampling h = how_for(i);
		slot[i] = sampler_start(s, p, n, &h, 1000 + i);
	}
	ok(sampler_start(s, p, 1, &(lm_sampling){0}, 1) == -1, "a full sampler refuses another sequence");
	int steps = 0;
	while (sampler_step(s)) steps++;
	for (int i = 0; i < NSEQ; i++) {
		const int32_t *t = sampler_tokens(s, slot[i], &batch[i].n);
		memcpy(batch[i].ids, t, batch[i].n * sizeof *t);
		batch[i].lp = sampler_logprob(s, slot[i]);
	}
	double worst = 0;
	int same = 0, same_lp = 0, lengths = 0, differ = 0;
	for (int i = 0; i < NSEQ; i++) {
		same += alone[i].n == batch[i].n && !memcmp(alone[i].ids, batch[i].ids, alone[i].n * 4);
		/* decoding's products sum each output in one order whatever the batch (matmul_decode) */
		same_lp += alone[i].lp == batch[i].lp;
		if (fabs(alone[i].lp - batch[i].lp) > worst) worst = fabs(alone[i].lp - batch[i].lp);
		lengths += batch[i].n == how_for(i).max_new;
		differ += i > 0 && (batch[i].n != batch[0].n || memcmp(batch[i].ids, batch[0].ids, batch[0].n * 4));
	}
	ok(same == NSEQ, "tokens alone == tokens in a batch of %d (%d/%d)", NSEQ, same, NSEQ);
	ok(same_lp == NSEQ, "log-probs alone and in the batch: the same bits (%d/%d, worst difference %.3g)", same_lp, NSEQ,
	   worst);
	ok(lengths == NSEQ, "max_new ends each sequence (%d/%d)", lengths, NSEQ);
	ok(differ > NSEQ / 2, "sequences differ from each other (%d)", differ);
	ok(batch[0].lp < 0, "log-prob is negative (%g)", batch[0].lp);
	double sum = 0;
	const double *each = sampler_token_logprobs(s, slot[0]);
	for (int i = 0; i < batch[0].n; i++) sum += each[i];
	ok(sum == batch[0].lp, "per-token log-probs add up to the sum");

	/* release and reuse: the slot's next sequence starts clean */
	sampler_release(s, slot[5]);
	prompt_for(5, p, &n);
	lm_sampling h5 = how_for(5);
	int again = sampler_start(s, p, n, &h5, 1005);
	while (sampler_step(s)) {}
	const int32_t *t = sampler_tokens(s, again, &n);
	ok(n == alone[5].n && !memcmp(t, alone[5].ids, n * 4), "a reused slot reproduces its sequence");
	sampler_free(s);

	/* a prompt longer than a forward chunk (64 rows) is split across chunks */
	int32_t longp[80];
	for (int j = 0; j < 80; j++) longp[j] = (j * 13) % c.vocab_size;
	lm_sampling g = {.temperature = 0, .max_new = 10};
	int32_t ref[10];
	s = sampler_new(m, 1, LEN);
	sampler_start(s, longp, 80, &g, 1);
	while (sampler_step(s)) {}
	memcpy(ref, sampler_tokens(s, 0, &n), 10 * 4);
	sampler_free(s);
	s = sampler_new(m, 2, LEN);
	sampler_start(s, longp, 80, &g, 1);
	sampler_start(s, longp, 40, &g, 2);
	while (sampler_step(s)) {}
	ok(!memcmp(sampler_tokens(s, 0, &n), ref, 10 * 4), "an 80-token prompt sharing chunks with another gives the same tokens");
	sampler_free(s);

	/* stop ids end a sequence and stay in its output */
	s = sampler_new(m, 1, LEN);
	int32_t stop = ref[3];
	sampler_stop_ids(s, &stop, 1);
	sampler_start(s, longp, 80, &g, 1);
	while (sampler_step(s)) {}
	sampler_tokens(s, 0, &n);
	int first = 0;
	while (ref[first] != stop) first++;
	ok(n == first + 1 && sampler_done(s, 0), "stop id ends the sequence after %d tokens", n);
	sampler_free(s);

	/* max_len ends a sequence that max_new would not */
	s = sampler_new(m, 1, 12);
	lm_sampling forever = {.temperature = 1};
	sampler_start(s, longp, 5, &forever, 1);
	while (sampler_step(s)) {}
	sampler_tokens(s, 0, &n);
	ok(n == 12 - 5, "max_len bounds prompt plus completion (%d new)", n);
	sampler_free(s);

	model_free(m);
	return done_testing();
}
