/* llama: the whole Llama 2 model over a batch of B rows of T tokens, forward
 * and backward, split where later stages need it:
 *
 *   llama_forward   tokens -> final normed hidden states w->hf   (the trunk)
 *   llama_head_ce   hf -> logits -> cross-entropy, and d(loss)/d(hf) in w->dhf
 *   llama_backward  w->dhf -> gradients of every parameter
 *
 * A reward model puts its own head between forward and backward by writing
 * w->dhf. Every token carries an explicit RoPE position and a segment id, so
 * several documents can be packed in one row (positions restarting, attention
 * kept inside each segment). Gradients live in an lm_model of the same config
 * used as a gradient block (model_new gives one zeroed; with tied embeddings
 * its output pointer is its embedding too, so both uses sum there). The
 * workspace holds every activation in one allocation and nothing is allocated
 * per step; several workspaces and models may live in one process. */
#ifndef LM_LLAMA_H
#define LM_LLAMA_H
#include "model.h"

typedef struct llama_ws {
	lm_config cfg;
	int B, T, n_pos, head_rows;   /* n_pos: RoPE table rows; head_rows: logits rows per chunk */
	float *mem;                   /* the one allocation */
	/* activations, per layer l at offset l·(size) */
	float *x;        /* (L+1, BT, dim) residual stream entering layer l; x[L] leaves the last */
	float *xn1, *rstd1;           /* attention norm out (L, BT, dim), 1/rms (L, BT) */
	float *q, *k, *v;             /* (L, BT, qd), (L, BT, kvd) x2, after RoPE */
	float *lse;                   /* (L, B, n_heads, T) log-sum-exp of each query's scores */
	float *ao;                    /* (L, BT, qd) attention output before wo */
	float *xa;                    /* (L, BT, dim) residual after attention */
	float *xn2, *rstd2;           /* ffn norm */
	float *g, *u, *s;             /* (L, BT, hidden) gate, up, silu(gate)·up */
	float *hf, *rstdf;            /* (BT, dim) final normed hidden states, (BT) */
	float *dhf;                   /* (BT, dim) d(loss)/d(hf), written by a head */
	float *logits;                /* (head_rows, V) */
	float *losses;                /* (BT) per-token loss from the last llama_head_ce */
	/* backward scratch */
	float *dres, *dxn, *dq, *dk, *dv, *dao, *ds, *dg, *du, *att_scratch;
	float *rope_cos, *rope_sin;   /* (n_pos, hd/2) */
	int *pos_default, *seg_default;
	const int *tokens, *pos, *seg;  /* of the last forward (the caller keeps them alive) */
} llama_ws;

/* Workspace for batches of B rows of T tokens of a finished config; positions
 * may go up to max(T, max_seq_len) - 1. */
llama_ws *llama_ws_new(const lm_config *c, int B, int T);
void llama_ws_free(llama_ws *w);

/* tokens (B·T); pos (B·T) RoPE positions, NULL = 0..T-1 in each row; seg (B·T)
 * segment ids, contiguous runs within a row, NULL = one segment per row.
 * Leaves the final normed hidden states in w->hf. The arrays must stay valid
 * until llama_backward. Dies on a token outside the vocabulary or a position
 * outside the RoPE table. */
void llama_forward(llama_ws *w, const lm_model *m, const int *tokens, const int *pos, const int *seg);

/* Σ of weights over the targets that count (target >= 0, weight != 0);
 * weight NULL counts 1 each. */
double llama_target_weight(const int *targets, const float *weight, int N);

/* Output head and next-token cross-entropy over w->hf: returns Σ weight·loss
 * over the batch's B·T targets (target < 0 or weight 0: not a target) and its
 * weight in *weight_sum, so the mean is their ratio and a batch with no target
 * contributes 0. When grad is non-NULL the head's weight gradient is
 * accumulated into grad and w->dhf is set to d(grad_scale·Σ weight·loss)/d(hf);
 * pass grad_scale = 1 / (Σ weight over every micro-batch of the step) for the
 * mean (0 when that is 0: no gradient, no NaN). Per-token losses land in w->losses. */
double llama_head_ce(llama_ws *w, const lm_model *m, lm_model *grad, const int *targets,
		     const float *weight, float grad_scale, double *weight_sum);

/* Logits (B·T, vocab) of w->hf, for tests and inspection. */
void llama_logits(float *logits, const llama_ws *w, const lm_model *m);

/* Backpropagate w->dhf through the trunk of the last forward; accumulates
 * (+=) into grad. */
void llama_backward(llama_ws *w, const lm_model *m, lm_model *grad);

#endif
