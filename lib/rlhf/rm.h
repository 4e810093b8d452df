/* rm: reward models (Llama 2, section 3.2.2). A score model (model.h's
 * LM_HEAD_SCORE) reads a dialogue and its reply as one sequence and gives the
 * scalar score.weight · h at the sequence's last token, h the trunk's final
 * normed hidden state there. Several sequences may share a row of a batch as
 * segments (llama.h); each is scored at its own last position, never at an
 * earlier EOS of a multi-turn dialogue.
 *
 * Training compares two replies to one dialogue: the loss of a pair is
 *     -log σ(r_chosen - r_rejected - m(rating))
 * with the paper's margin tables (none, small: 1, 2/3, 1/3, 0; large: 3, 2,
 * 1, 0 for significantly better, better, slightly better, negligibly better). */
#ifndef LM_RM_H
#define LM_RM_H
#include "chat.h"
#include "llama.h"
#include "train.h"

enum { RM_SIGNIFICANTLY, RM_BETTER, RM_SLIGHTLY, RM_NEGLIGIBLY, RM_RATINGS };
enum { RM_MARGIN_NONE, RM_MARGIN_SMALL, RM_MARGIN_LARGE };

/* "significantly better" ... "negligibly better" -> RM_*, -1 when unknown. */
int rm_rating(const char *name);
const char *rm_rating_name(int rating);
/* "none", "small", "large" -> RM_MARGIN_*, -1 when unknown. */
int rm_margin_table(const char *name);
float rm_margin(int table, int rating);

/* scores[i] = score.weight · w->hf[at[i]] for positions at[0..n) (row·T + t)
 * of the last llama_forward of m. */
void rm_scores(float *scores, const llama_ws *w, const lm_model *m, const int *at, int n);
/* The score head's backward: given g[i] = d(loss)/d(scores[i]), sets w->dhf
 * (zero except at the scored positions) and accumulates grad's score.weight. */
void rm_scores_backward(llama_ws *w, const lm_model *m, lm_model *grad, const int *at, const float *g, int n);

/* The pairwise loss of n pairs: returns Σ loss; when dc and dr are non-NULL
 * they get scale · d(loss_i)/d(r_chosen_i) and d/d(r_rejected_i). */
double rm_pair_loss(const float *rc, const float *rr, const float *margin, int n, float scale, float *dc, float *dr);

/* A preference pair (docs/FORMATS.md, "Preference pairs"), both replies
 * rendered after the dialogue in the chat template. */
typedef struct rm_pair {
	char *id;              /* the "id" member as JSON text, or NULL */
	char *variant;         /* the "variant" member (how the rejected reply is worse), or NULL */
	int safe;              /* kind "safe" (else "helpful") */
	int rating;            /* RM_* */
	chat_tokens chosen, rejected;
} rm_pair;
/* Parse one JSONL line into p (reusing its buffers); NULL, or why the line
 * is not a usable pair. */
const char *rm_pair_parse(rm_pair *p, const lm_tokenizer *t, const char *line, size_t len);
void rm_pair_free(rm_pair *p);

/* One step's pairs, as the trainer's objective (train.h) reads them: pair k
 * of micro-batch a has its chosen sequence ending at position
 * at[(a·pair_cap + k)·2] and its rejected one at at[... + 1] (row·T + t in the
 * micro-batch's rows, filled with pack.h), and margin[a·pair_cap + k]. The
 * step's loss is the mean over its pairs. */
enum { RM_LOSS, RM_PAIRS, RM_CORRECT, RM_DIFF, RM_SUMS };
typedef struct rm_batch {
	int micro_cap, pair_cap;
	int *n;          /* (micro_cap) pairs in each micro-batch */
	int *at;         /* (micro_cap, pair_cap, 2) */
	float *margin;   /* (micro_cap, pair_cap) */
	float *scores;   /* (2·pair_cap) the last micro-batch's scores, chosen and rejected interleaved */
	float *grads;    /* (2·pair_cap) d(loss)/d(scores), interleaved as scores */
	float *work;     /* (4·pair_cap) the scores and their gradients apart: rc, rr, dc, dr */
	double sum[RM_SUMS];   /* since the last report: loss, pairs, correct pairs, r_c - r_r */
} rm_batch;
rm_batch *rm_batch_new(int micro_cap, int pair_cap);
void rm_batch_free(rm_batch *rb);
/* The pairwise objective over rb, on the CPU or the GPU (the same scores
 * from gpu_scores, the same loss, gpu_scores_backward); its report adds "accuracy" (share of pairs
 * with r_chosen > r_rejected) and "margin" (mean r_chosen - r_rejected), or
 * "val_accuracy" and "val_margin". */
train_objective rm_objective(rm_batch *rb);

#endif
