/* gpu_none.c: gpu.h in a build without CUDA (no nvcc found, or make CUDA=no):
 * the trainer, the sampler and lm-rm's scorer ask gpu_open and gpu_decode_open only for --device cuda, which say so. */
#include "gpu.h"
#include "util.h"

const char *gpu_describe(void) { return "no CUDA in this build"; }

static void no_cuda(void) { die("--device cuda: %s (make finds nvcc on the PATH, or NVCC=path/to/nvcc)", gpu_describe()); }
gpu_train *gpu_open(const lm_model *m, int B, int T, int prec, int train) { no_cuda(); return NULL; }
gpu_decode *gpu_decode_open(const lm_model *m, int max_batch, int max_len, int R, int bf16) { no_cuda(); return NULL; }

/* nothing below runs without a gpu_open that returned */
void gpu_close(gpu_train *g) {}
void gpu_memory(const gpu_train *g, size_t *counted, size_t *used) { *counted = *used = 0; }
void gpu_put_params(gpu_train *g, const float *block) {}
void gpu_get_params(const gpu_train *g, float *block) {}
void gpu_put_moments(gpu_train *g, const lm_adamw *o) {}
void gpu_get_moments(const gpu_train *g, lm_adamw *o) {}
void gpu_get_grads(const gpu_train *g, float *block) {}
void gpu_zero_grads(gpu_train *g) {}
double gpu_next_token(gpu_train *g, const int *tok, const int *tgt, const int *pos, const int *seg,
		      const float *wt, float grad_scale, int backward, double *weight) { return 0; }
void gpu_scores(gpu_train *g, const int *tok, const int *pos, const int *seg, const int *at, int n, int backward,
		float *scores) {}
void gpu_scores_backward(gpu_train *g, const float *dscores) {}
void gpu_losses(const gpu_train *g, float *losses) {}
void gpu_logits(gpu_train *g, float *logits) {}
double gpu_grad_sumsq(const gpu_train *g) { return 0; }
void gpu_adamw(gpu_train *g, lm_adamw *o, float lr, float grad_factor) {}
void gpu_decode_close(gpu_decode *d) {}
void gpu_decode_rows(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		     float *logits) {}
void gpu_decode_sample(gpu_decode *d, int n, const int *tok, const int *slot, const int *pos, int w, const int *want,
		       const float *u, const float *inv_temp, int *next, double *lp) {}
int gpu_decode_graphs(const gpu_decode *d) { return -1; }
int gpu_flash_check(int B, int T, int NH, int NKV, int hd, const int *seg, double err[5]) { return 0; }
int gpu_mm_check(int n, int IN, int OUT, int epi, double *err, int *same) { return 0; }
