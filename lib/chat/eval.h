/* eval: how good a model is, measured two ways.
 *
 * Replies: a model's answers to evaluation prompts, judged by rules written
 * down with the data (samples/README.md, "Evaluation"): a fact is answered
 * when the reply holds the reference answer as a whole word, whatever its
 * case; a request is refused when the reply begins with the refusal sentence.
 *
 * Loss: the mean next-token cross-entropy of a model over every target of a
 * token shard, next to the entropy of the shard's own unigram distribution
 * over the same targets (what a model that ignores context at best achieves,
 * knowing the frequencies of this very shard). */
#ifndef LM_EVAL_H
#define LM_EVAL_H
#include "model.h"
#include "shard.h"
#include <stddef.h>

/* Whether text holds word (case-insensitive for ASCII letters) with no letter
 * or digit, and no byte of a multi-byte UTF-8 character, on either side. An
 * empty word is never found. */
int eval_has_word(const char *text, size_t len, const char *word, size_t wlen);
/* Whether text, its leading white space skipped, begins with prefix. */
int eval_begins(const char *text, size_t len, const char *prefix);
/* Whether text equals want once both lose surrounding white space, case-insensitive for ASCII. */
int eval_same(const char *text, size_t len, const char *want, size_t wlen);

typedef struct eval_loss {
	double loss;             /* mean cross-entropy in nats per target */
	double unigram_entropy;  /* nats per target */
	double targets;          /* Σ of target weights: tokens, or masked-in tokens */
} eval_loss;

/* Loss of m over shard s in rows of T positions, B rows a forward pass. A
 * shard without a loss mask is read as lm-pretrain reads it: consecutive
 * windows across documents, every token but the first a target once. A shard
 * with a mask (chat) is packed as lm-sft packs it: dialogues whole, their
 * positions and attention their own, targets weighted by the mask. Dies when
 * the shard's vocabulary exceeds the model's or it has no target. */
eval_loss eval_shard_loss(const lm_model *m, const lm_shard *s, int B, int T);

#endif
