/* train: the optimizer loop that lm-pretrain, lm-sft and lm-rm share, so that
 * the tools differ only in how they build their batches, in their defaults and
 * in their objective: the part of a step that knows the loss (forward, head
 * and backward of one micro-batch, train_objective). The trainer knows none
 * of that: it accumulates, clips, schedules, updates, validates, writes
 * metrics and checkpoints, and resumes exactly.
 *
 * A trainer owns the gradient block, the workspace, AdamW and the training
 * state of one model. Each step it takes a batch the tool filled (micro-
 * batches of the workspace's rows, laid end to end), takes the mean loss over
 * every target of the step, stops on a loss or gradient norm that is not
 * finite, clips, follows the learning-rate schedule, updates, validates,
 * writes metrics and checkpoints, and on SIGINT or SIGTERM saves and ends the
 * run. The checkpoint and its state file are saved so that a kill at any point
 * leaves a pair --resume finds (see trainer_open).
 *
 * Under mpirun (dist.h) every rank runs the same tool on the same batch:
 * rank r of N computes micro-batches r, r+N, ..., the gradient is reduce-
 * scattered, each rank clips and updates its shard of the parameters with its
 * shard of the AdamW state, and an all-gather gives all ranks the step's
 * parameters; rank 0 writes the metrics, the checkpoint and the (whole)
 * state. Alone, a process computes exactly what it did before ranks. */
#ifndef LM_TRAIN_H
#define LM_TRAIN_H
#include "adamw.h"
#include "llama.h"
#include "trainstate.h"
#include <getopt.h>
#include <stdio.h>

/* The command line the tools share; each tool sets its own defaults. */
typedef struct train_opts {
	const char *init, *out, *metrics;
	int resume, B, T, threads;
	int cuda, prec;                  /* --device cuda; its products' precision (gpu.h: GPU_BF16 unless --precision) */
	const char *precision;
	unsigned long long seed;
	long long steps;                 /* the run's optimizer steps: the tool's count */
	long long warmup, val_every, ckpt_every;
	double lr, min_lr, beta1, beta2, eps, weight_decay, clip;
} train_opts;

enum { TRAIN_O_INIT = 256, TRAIN_O_RESUME, TRAIN_O_LR, TRAIN_O_MINLR, TRAIN_O_WARMUP, TRAIN_O_B1, TRAIN_O_B2,
       TRAIN_O_EPS, TRAIN_O_WD, TRAIN_O_CLIP, TRAIN_O_SEED, TRAIN_O_VALEVERY, TRAIN_O_METRICS, TRAIN_O_CKPT,
       TRAIN_O_THREADS, TRAIN_O_DEVICE, TRAIN_O_PRECISION,
       TRAIN_O_END };  /* a tool's own option codes start here */

/* getopt_long entries of the shared options (with short options "b:t:o:"). */
#define TRAIN_LONGOPTS                                                                                    \
	{"init", required_argument, 0, TRAIN_O_INIT}, {"resume", no_argument, 0, TRAIN_O_RESUME},           \
	{"output", required_argument, 0, 'o'}, {"batch-size", required_argument, 0, 'b'},                  \
	{"seq-len", required_argument, 0, 't'}, {"lr", required_argument, 0, TRAIN_O_LR},                  \
	{"min-lr", required_argument, 0, TRAIN_O_MINLR}, {"warmup", required_argument, 0, TRAIN_O_WARMUP},  \
	{"beta1", required_argument, 0, TRAIN_O_B1}, {"beta2", required_argument, 0, TRAIN_O_B2},          \
	{"eps", required_argument, 0, TRAIN_O_EPS}, {"weight-decay", required_argument, 0, TRAIN_O_WD},    \
	{"clip", required_argument, 0, TRAIN_O_CLIP}, {"seed", required_argument, 0, TRAIN_O_SEED},        \
	{"val-every", required_argument, 0, TRAIN_O_VALEVERY},                                              \
	{"metrics", required_argument, 0, TRAIN_O_METRICS},                                                \
	{"checkpoint-every", required_argument, 0, TRAIN_O_CKPT},                                           \
	{"threads", required_argument, 0, TRAIN_O_THREADS},                                                 \
	{"device", required_argument, 0, TRAIN_O_DEVICE},                                                   \
	{"precision", required_argument, 0, TRAIN_O_PRECISION}

/* --version also names the GPU --device cuda would use (gpu_describe);
 * call after blas_init, before std_options. */
void train_version(void);

/* Take option c (from getopt_long over TRAIN_LONGOPTS) into o; 0 when c is
 * not one of the shared options. */
int train_option(train_opts *o, int c, const char *arg);
/* After parsing: dies on an unusable -o, model source or optimizer setting,
 * gives --min-lr its default (a tenth of --lr) and sets the thread count.
 * what_model names the tool's ways to give a model, for the error without one
 * (lm-pretrain also makes models from --config and --set: has_config). */
void train_opts_finish(train_opts *o, int has_config, const char *what_model);

/* One step's data: `micro` micro-batches of the workspace's rows of T
 * positions, end to end. pos and seg NULL: each row one document from
 * position 0; wt NULL: every target (>= 0) weighs 1. */
typedef struct train_batch {
	int micro;
	int *tok, *tgt, *pos, *seg;
	float *wt;
} train_batch;

/* Buffers for rows rows of T: pos and seg only when packed, wt only when weighted. */
train_batch *train_batch_new(int rows, int T, int packed, int weighted);
void train_batch_free(train_batch *b);

/* Fill micro-batch i (0, 1, ...) of an evaluation pass into b (its first
 * rows only; b->micro is not read); return 0 when the pass has no batch i. */
typedef int (*train_fill)(void *ctx, long long i, train_batch *b);

struct gpu_train;   /* gpu.h */

/* What a step's loss is. A step's loss is the mean over every target of its
 * micro-batches: Σ weight·loss / Σ weight. */
typedef struct train_objective {
	/* Σ weight of the targets of all b->micro micro-batches of b (each of
	 * w->B rows of w->T) */
	double (*weight)(void *ctx, const llama_ws *w, const train_batch *b);
	/* Micro-batch a of b in workspace w: forward and head, and when grad is
	 * non-NULL the backward of grad_scale·Σ weight·loss, accumulated into
	 * grad. Returns Σ weight·loss and its Σ weight in *weight. */
	double (*micro)(void *ctx, llama_ws *w, const lm_model *m, lm_model *grad, const train_batch *b, int a,
			float grad_scale, double *weight);
	/* NULL (the objective runs on the CPU only), or micro on the GPU (gpu.h):
	 * the same micro-batch of rows of w's shape (w holds no more), and when
	 * grad the backward accumulated into g's gradients. */
	double (*gpu_micro)(void *ctx, struct gpu_train *g, const llama_ws *w, const train_batch *b, int a,
			    float grad_scale, int grad, double *weight);
	/* NULL, or: the objective's own metrics since its last call, of the
	 * training step (val 0) or the validation (val 1), as JSON members
	 * without braces; the next accumulation starts afresh. */
	void (*report)(void *ctx, int val, char *buf, size_t n);
	void *ctx;
} train_objective;

/* Next-token cross-entropy over b's tok/tgt/pos/seg/wt (lm-pretrain, lm-sft). */
extern const train_objective train_next_token;

typedef struct trainer {
	train_opts o;
	lm_model *m, *grad;
	llama_ws *w;
	lm_adamw *opt;
	lm_trainstate st;           /* st.data_rng: the tool keeps it current */
	train_objective obj;        /* train_next_token unless the tool sets another after trainer_open */
	double *sums;               /* NULL, or the n_sums (at most 8) accumulators obj's report reads and its */
	int n_sums;                 /* micro adds to: under mpirun they are summed over the ranks before a report */
	train_fill val;             /* validation, set by the tool after trainer_open; NULL: none */
	void *val_ctx;
	struct lm_out *mf;          /* metrics (rank 0's) */
	struct gpu_train *gpu;      /* --device cuda: the parameters, gradients and moments live there (gpu.h) */
	size_t *shard;              /* dist_split of the parameters: rank r updates [shard[r], shard[r+1]) */
	double flops_per_token, t0;
	int tty, stopped;
} trainer;

/* Train m (the caller's; trainer_finish leaves it) in micro-batches of rows
 * of T. With o->resume, the training state of checkpoint o->out is read: its
 * CKPT.state, or the CKPT.state.new a kill left while the checkpoint was being
 * replaced, whichever belongs to the parameters of m. Dies when o->steps are
 * done already. Opens the metrics and writes their start record; start_fields
 * are the tool's own members of it (JSON, without braces). */
trainer *trainer_open(lm_model *m, const train_opts *o, int rows, int T, const char *start_fields);
/* One optimizer step on b. epoch (> 0) and fields (the tool's own JSON
 * members, or NULL) go into the step's metrics record. Returns 1 while steps
 * remain, 0 when the run is over: the last step done, or a signal came and
 * the checkpoint is saved. */
int trainer_step(trainer *t, const train_batch *b, int epoch, const char *fields);
/* Save the final checkpoint (unless a signal saved it), close the metrics,
 * free the trainer. */
void trainer_finish(trainer *t);

#endif
