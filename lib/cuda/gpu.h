/* gpu: the CUDA path of training and decoding (one NVIDIA GPU).
 *
 * The same model as llama.c, on the GPU: parameters (fp32, the master copy),
 * gradients, AdamW's moments and every activation live in device memory in
 * one allocation; products go through cuBLAS, the rest through the kernels of
 * gpu.cu (RMSNorm, RoPE, SwiGLU, causal grouped-query attention fused
 * FlashAttention's way with no T×T matrix, the cross-entropy head over
 * chunks of rows or a score model's scalar head, AdamW). Every reduction runs in a fixed order, so a run is
 * the same bits each time on the same card. The host keeps the lm_model and
 * lm_adamw of the CPU path; the trainer copies them in at the start and out
 * whenever it saves, so checkpoints and training state are the CPU path's
 * files and a run may stop on one device and resume on the other.
 *
 * Products: GPU_FP32 (plain fp32, for comparison with the CPU path), GPU_TF32
 * (tensor cores, fp32 inputs rounded to TF32) or GPU_BF16 (inputs rounded to
 * bf16, fp32 accumulation and outputs). Built without CUDA (no nvcc),
 * gpu_open dies saying so. */
#ifndef LM_GPU_H
#define LM_GPU_H
#include "adamw.h"
#include "model.h"

enum { GPU_FP32, GPU_TF32, GPU_BF16 };

typedef struct gpu_train gpu_train;

/* The GPU's name and the build ("NVIDIA H100 80GB HBM3, sm_90, CUDA 13.0"),
 * or why there is none ("no CUDA in this build", "no GPU: ..."); static. */
const char *gpu_describe(void);

/* Device state for m (its config; parameters copied in) on micro-batches
 * of B rows of T tokens, products in precision prec: a language model
 * (LM_HEAD_LM, gpu_next_token) or a score model (LM_HEAD_SCORE, gpu_scores).
 * With train 0 it holds no gradients, moments or backward buffers and one
 * layer's activations, not every layer's (a scorer or an evaluation: forward
 * passes only). Dies without a GPU or when it does not fit. */
gpu_train *gpu_open(const lm_model *m, int B, int T, int prec, int train);
void gpu_close(gpu_train *g);
/* Bytes of device memory gpu_open took: the parameters, gradients, moments,
 * activations and scratch it counted, and what the card reported in use
 * beyond them (cuBLAS's workspace, the context) after a step. */
void gpu_memory(const gpu_train *g, size_t *counted, size_t *used);

/* Copies between the host's model and optimizer state and the device's. */
void gpu_put_params(gpu_train *g, const float *block);
void gpu_get_params(const gpu_train *g, float *block);
void gpu_put_moments(gpu_train *g, const lm_adamw *o);
void gpu_get_moments(const gpu_train *g, lm_adamw *o);
void gpu_get_grads(const gpu_train *g, float *block);

void gpu_zero_grads(gpu_train *g);
/* One micro-batch of next-token cross-entropy (llama_forward, llama_head_ce
 * and, when backward, llama_backward): tok, tgt, pos, seg, wt as there (B·T
 * each, pos/seg/wt may be NULL). Returns Σ weight·loss, its Σ weight in
 * *weight; the backward accumulates grad_scale·d(Σ weight·loss) into the
 * device's gradients. */
double gpu_next_token(gpu_train *g, const int *tok, const int *tgt, const int *pos, const int *seg,
		      const float *wt, float grad_scale, int backward, double *weight);
/* A score model's micro-batch (rm.h's rm_scores after llama_forward): tok,
 * pos, seg as gpu_next_token's; scores[i] = score·hf[at[i]] for positions
 * at[0..n) (row·T + t), into host memory. backward: a gpu_scores_backward
 * of this batch follows. */
void gpu_scores(gpu_train *g, const int *tok, const int *pos, const int *seg, const int *at, int n, int backward,
		float *scores);
/* rm_scores_backward and llama_backward of the last gpu_scores: given
 * dscores[i] = d(loss)/d(scores[i]) for its n scores, accumulates every
 * parameter's gradient into the device's. */
void gpu_scores_backward(gpu_train *g, const float *dscores);
/* Per-token losses (B·T; 0 where no target) of the last gpu_next_token, into host memory. */
void gpu_losses(const gpu_train *g, float *losses);
/* Logits (B·T, vocab) of the last gpu_next_token's forward, into host memory. */
void gpu_logits(gpu_train *g, float *logits);
/* Σ g² of the device's gradients, in a fixed order. */
double gpu_grad_sumsq(const gpu_train *g);
/* adamw_step on the device with the gradients times grad_factor (clipping);
 * o supplies the hyperparameters and tensors, and its step count advances
 * as adamw_step's does. */
void gpu_adamw(gpu_train *g, lm_adamw *o, float lr, float grad_factor);

/* Decoding (sample.c's forward chunks): the model's weights (bf16 copies
 * for the products when bf16, activations then rounded to bf16 as well, else
 * fp32 products) and a KV cache of max_batch sequences of max_len positions
 * on the device, forward chunks of at most R rows. */
typedef struct gpu_decode gpu_decode;
gpu_decode *gpu_decode_open(const lm_model *m, int max_batch, int max_len, int R, int bf16);
void gpu_decode_close(gpu_decode *d);
/* n rows: token tok[i] at position pos[i] of sequence slot[i], keys and
 * values into the cache; the logits (w, vocab) of rows want[0..w) into
 * host memory, which must hold R rows: it is page-locked on first use, until
 * gpu_decode_close (so close before freeing it). */
void gpu_decode_rows(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		     float *logits);
/* gpu_decode_rows, drawing each wanted row's next token on the device as
 * sample.c draws without top-k or top-p, rather than copying its logits out:
 * greedy where inv_temp[i] is 0 (the lowest id of the largest logit), else
 * the first token at which the running sum of exp((logit - max)·inv_temp[i])
 * in id order exceeds u[i] times their total. next[i] gets the token (-1
 * where a logit is not finite) and lp[i] its log-probability under the
 * logits themselves. The sums run in another order than the CPU's, so a
 * draw may differ where u[i] falls within rounding of a boundary. */
void gpu_decode_sample(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		       const float *u, const float *inv_temp, int *next, double *lp);
/* Steps whose rows all want logits run as CUDA graphs, one per row count:
 * how many there are, or -1 once a capture failed (steps then launch their
 * kernels one by one). */
int gpu_decode_graphs(const gpu_decode *d);

/* For tests: the tensor-core attention (flash.h) against the fp32 kernels on
 * the same random q, k, v and output gradient (B rows of T; NH heads over NKV
 * KV heads of size hd; seg as gpu_next_token's, may be NULL). err[0..4]: the
 * relative error (‖a - b‖/‖b‖) of the output, log-sum-exp, dq, dk and dv.
 * Returns 0 where the tensor cores do not take hd. */
int gpu_flash_check(int B, int T, int NH, int NKV, int hd, const int *seg, double err[5]);
/* Decoding's tensor-core product of n rows (1..64) of IN by a weight of OUT
 * rows, bf16, against sums in double: epi 0 stores the product of the
 * RMS-normed rows (taken in reverse order), 1 adds that of the plain rows
 * (bf16 values) to what is there, 2 gives silu(g)·u of the normed rows'
 * products with its halves (rows j and OUT/2 + j). err: the relative error;
 * same: whether a second run gave the same bits. 0 where the arguments are
 * not the product's. */
int gpu_mm_check(int n, int IN, int OUT, int epi, double *err, int *same);

#endif
