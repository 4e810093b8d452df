/* adamw: the optimizer of Llama 2 pretraining: AdamW (decoupled weight decay,
 * torch.optim.AdamW's arithmetic), the learning-rate schedule (linear warmup,
 * cosine decay to a floor) and clipping of the global gradient norm. */
#ifndef LM_ADAMW_H
#define LM_ADAMW_H
#include "model.h"

typedef struct lm_adamw {
	float beta1, beta2, eps, weight_decay;
	size_t n;            /* parameters */
	size_t lo, hi;       /* the parameters [lo, hi) this optimizer updates: all, or a rank's shard */
	float *m, *v;        /* first and second moments, hi - lo each, one allocation */
	lm_tensor *tensors;
	int n_tensors;
	long long t;         /* updates done */
} lm_adamw;

/* Zeroed moments for model m's layout (decay from lm_tensor.decay). */
lm_adamw *adamw_new(const lm_model *m, float beta1, float beta2, float eps, float weight_decay);
/* The same for parameters [lo, hi) of m's block only (ZeRO-1's shard of the
 * state: the rest of the block is other processes' to update). */
lm_adamw *adamw_new_part(const lm_model *m, size_t lo, size_t hi, float beta1, float beta2, float eps,
			 float weight_decay);
void adamw_free(lm_adamw *o);
/* One update of m's block (its parameters [o->lo, o->hi)) by grad's block at
 * learning rate lr. */
void adamw_step(lm_adamw *o, lm_model *m, const lm_model *grad, float lr);

/* Σ g[i]² over g[0..n), summed in a fixed order (the same for any thread count). */
double grad_sumsq(const float *g, size_t n);
/* Global L2 norm of the gradient block. */
double grad_norm(const lm_model *grad);
/* Scale g[0..n) so that a gradient of norm `norm` has norm at most max_norm
 * (torch's clip_grad_norm_: factor max_norm / (norm + 1e-6) when below 1). */
void grad_scale_to(float *g, size_t n, double norm, double max_norm);
/* grad_scale_to of the whole block by its own norm; returns the norm before. */
double grad_clip(lm_model *grad, double max_norm);

/* Learning rate at 0-based step: peak·(step+1)/warmup during warmup, then a
 * cosine from peak down to min_lr at total_steps (min_lr after it). */
double lr_at(long long step, long long warmup, long long total_steps, double peak, double min_lr);

#endif
