#include "train.h"
#include "blas.h"
#include "checkpoint.h"
#include "dist.h"
#include "gpu.h"
#include "util.h"
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *version_note(void) {
	static char buf[400];
	snprintf(buf, sizeof buf, "BLAS: %s; GPU: %s", blas_kernel(), gpu_describe());
	return buf;
}

void train_version(void) { lm_version_note = version_note; }

int train_option(train_opts *o, int c, const char *arg) {
	switch (c) {
	case TRAIN_O_INIT: o->init = arg; break;
	case TRAIN_O_RESUME: o->resume = 1; break;
	case 'o': o->out = arg; break;
	case 'b': o->B = (int)parse_int("-b", arg); break;
	case 't': o->T = (int)parse_int("-t", arg); break;
	case TRAIN_O_LR: o->lr = parse_float("--lr", arg); break;
	case TRAIN_O_MINLR: o->min_lr = parse_float("--min-lr", arg); break;
	case TRAIN_O_WARMUP: o->warmup = parse_int("--warmup", arg); break;
	case TRAIN_O_B1: o->beta1 = parse_float("--beta1", arg); break;
	case TRAIN_O_B2: o->beta2 = parse_float("--beta2", arg); break;
	case TRAIN_O_EPS: o->eps = parse_float("--eps", arg); break;
	case TRAIN_O_WD: o->weight_decay = parse_float("--weight-decay", arg); break;
	case TRAIN_O_CLIP: o->clip = parse_float("--clip", arg); break;
	case TRAIN_O_SEED: o->seed = (unsigned long long)parse_int("--seed", arg); break;
	case TRAIN_O_VALEVERY: o->val_every = parse_int("--val-every", arg); break;
	case TRAIN_O_METRICS: o->metrics = arg; break;
	case TRAIN_O_CKPT: o->ckpt_every = parse_int("--checkpoint-every", arg); break;
	case TRAIN_O_THREADS: o->threads = (int)parse_int("--threads", arg); break;
	case TRAIN_O_DEVICE: o->cuda = parse_device(arg); break;
	case TRAIN_O_PRECISION: o->precision = arg; break;
	default: return 0;
	}
	return 1;
}

void train_opts_finish(train_opts *o, int has_config, const char *what_model) {
	dist_init();
	if (!strcmp(o->out, "-")) die("-o: a checkpoint goes to a file (its training state is written beside it)");
	if (o->resume && o->init) die("--init and --resume both give the starting model; use one");
	if (!o->resume && !o->init && !has_config) die("no model: give %s", what_model);
	if (o->B <= 0 || o->T < 0 || o->warmup < 0 || o->val_every < 0 || o->ckpt_every < 0 || o->threads < 0)
		die("-b must be positive; counts must not be negative");
	if (!(o->lr > 0) || !(o->eps > 0) || o->weight_decay < 0 || o->clip < 0 || o->beta1 < 0 || o->beta1 >= 1 ||
	    o->beta2 < 0 || o->beta2 >= 1)
		die("--lr and --eps must be positive, --beta1 and --beta2 in [0, 1), "
		    "--weight-decay and --clip not negative");
	if (o->min_lr < 0) o->min_lr = 0.1 * o->lr;
	if (o->precision && !o->cuda) die("--precision %s: only with --device cuda (the CPU computes in fp32)", o->precision);
	o->prec = !o->precision || !strcmp(o->precision, "bf16") ? GPU_BF16
		: !strcmp(o->precision, "tf32")                  ? GPU_TF32
		: !strcmp(o->precision, "fp32")                  ? GPU_FP32
								 : -1;
	if (o->prec < 0) die("--precision %s: bf16, tf32 or fp32", o->precision);
	if (o->cuda && dist_size > 1) die("--device cuda: one process (not under mpirun yet)");
	if (o->threads) blas_threads(o->threads);
	blas_reserve();
	/* the outputs, claimed before the inputs are read: a clash is refused before any work */
	char *sp = trainstate_path(o->out), *next = xmalloc(strlen(sp) + 5);
	sprintf(next, "%s.new", sp);
	out_claim(o->out, o->resume);
	out_claim(sp, o->resume);
	out_claim(next, o->resume);
	if (o->metrics) out_claim(o->metrics, 0);
	free(next);
	free(sp);
}

train_batch *train_batch_new(int rows, int T, int packed, int weighted) {
	size_t n = (size_t)rows * T;
	train_batch *b = xcalloc(1, sizeof *b);
	b->tok = xmalloc(n * sizeof *b->tok);
	b->tgt = xmalloc(n * sizeof *b->tgt);
	if (packed) {
		b->pos = xmalloc(n * sizeof *b->pos);
		b->seg = xmalloc(n * sizeof *b->seg);
	}
	if (weighted) b->wt = xmalloc(n * sizeof *b->wt);
	return b;
}

void train_batch_free(train_batch *b) {
	if (!b) return;
	free(b->tok); free(b->tgt); free(b->pos); free(b->seg); free(b->wt);
	free(b);
}

static double next_token_weight(void *ctx, const llama_ws *w, const train_batch *b) {
	(void)ctx;
	return llama_target_weight(b->tgt, b->wt, b->micro * w->B * w->T);
}

static double next_token_micro(void *ctx, llama_ws *w, const lm_model *m, lm_model *grad, const train_batch *b,
			       int a, float scale, double *weight) {
	(void)ctx;
	size_t at = (size_t)a * w->B * w->T;
	llama_forward(w, m, b->tok + at, b->pos ? b->pos + at : NULL, b->seg ? b->seg + at : NULL);
	double sum = llama_head_ce(w, m, grad, b->tgt + at, b->wt ? b->wt + at : NULL, scale, weight);
	if (grad) llama_backward(w, m, grad);
	return sum;
}

static double next_token_gpu(void *ctx, struct gpu_train *g, const llama_ws *w, const train_batch *b, int a,
			     float scale, int grad, double *weight) {
	(void)ctx;
	size_t at = (size_t)a * w->B * w->T;
	return gpu_next_token(g, b->tok + at, b->tgt + at, b->pos ? b->pos + at : NULL, b->seg ? b->seg + at : NULL,
			      b->wt ? b->wt + at : NULL, scale, grad, weight);
}

const train_objective train_next_token = {
	.weight = next_token_weight, .micro = next_token_micro, .gpu_micro = next_token_gpu};

/* Sum x[0..n) (n <= 2) and the objective's sums over the ranks, in one reduction. */
static void sum_ranks(double *sums, int n_sums, double *x, int n) {
	if (dist_size == 1) return;
	double r[2 + 8];
	if (n_sums > 8) die("trainer: more than 8 sums to reduce");
	for (int i = 0; i < n; i++) r[i] = x[i];
	for (int i = 0; i < n_sums; i++) r[n + i] = sums[i];
	dist_sum(r, n + n_sums);
	for (int i = 0; i < n; i++) x[i] = r[i];
	for (int i = 0; i < n_sums; i++) sums[i] = r[n + i];
}

/* Micro-batch a of b on the trainer's device: Σ weight·loss, its Σ weight in
 * *ws, and with grad the gradient of scale·Σ weight·loss accumulated. */
static double run_micro(trainer *t, const train_batch *b, int a, int grad, float scale, double *ws) {
	const train_objective *ob = &t->obj;
	if (!t->gpu) return ob->micro(ob->ctx, t->w, t->m, grad ? t->grad : NULL, b, a, grad ? scale : 0, ws);
	if (!ob->gpu_micro) die("--device cuda: this objective runs on the CPU only");
	return ob->gpu_micro(ob->ctx, t->gpu, t->w, b, a, grad ? scale : 0, grad, ws);
}

/* Mean loss over the micro-batches t->val fills, forward only (the Σ of
 * target weights is 0: NaN). */
static double val_loss(trainer *t, train_batch *b) {
	double st[2] = {0, 0}, ws;   /* Σ weight·loss, Σ weight */
	/* every rank fills every micro-batch (to find the end) and evaluates its share */
	for (long long i = 0; t->val(t->val_ctx, i, b); i++) {
		if (i % dist_size != dist_rank) continue;
		st[0] += run_micro(t, b, 0, 0, 0, &ws);
		st[1] += ws;
	}
	sum_ranks(NULL, 0, st, 2);
	return st[1] > 0 ? st[0] / st[1] : NAN;
}

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

/* The checkpoint and its state are two files, each replaced atomically. The
 * new state goes to STATE.new first, then the checkpoint is replaced, then
 * STATE.new becomes STATE: killed anywhere, one of STATE and STATE.new
 * belongs to the checkpoint on disk, and --resume finds it. */
static void save(trainer *t) {
	char *sp = trainstate_path(t->o.out), *next = xmalloc(strlen(sp) + 5);
	sprintf(next, "%s.new", sp);
	if (t->gpu) {
		gpu_get_params(t->gpu, t->m->block);
		gpu_get_moments(t->gpu, t->opt);
	}
	t->st.params_hash = params_hash(t->m);
	/* every rank's shard of the moments; rank 0 writes all */
	trainstate_save(next, &t->st, t->opt);
	if (dist_rank) {
		free(next);
		free(sp);
		return;
	}
	/* the metrics up to this step replace those on disk before the checkpoint is
	 * replaced: killed in between, they run past the checkpoint on disk, and
	 * --resume drops the records past it (metrics_open) */
	if (t->mf) out_commit(t->mf);
	ckpt_save(t->m, t->o.out);
	if (rename(next, sp)) die_errno("%s", sp);
	free(next);
	free(sp);
}

/* The state that belongs to the checkpoint in memory (see save). */
static void resume_state(trainer *t) {
	char *sp = trainstate_path(t->o.out), *next = xmalloc(strlen(sp) + 5);
	sprintf(next, "%s.new", sp);
	uint64_t want = params_hash(t->m);
	int promote = 0;
	if (access(sp, F_OK) == 0) trainstate_load(sp, &t->st, t->opt);
	if (t->st.params_hash != want && access(next, F_OK) == 0) {
		trainstate_load(next, &t->st, t->opt);
		promote = t->st.params_hash == want;
	}
	if (t->st.params_hash != want) {
		if (access(sp, F_OK)) die_errno("%s", sp);
		die("%s: does not belong to %s (saved with other parameters)", sp, t->o.out);
	}
	/* The save that STATE.new belongs to was cut short before its last rename:
	 * finish it, or the next save's STATE.new would replace the only state
	 * that belongs to the checkpoint on disk. Rank 0 renames once every rank
	 * has read it (the sum is the wait). */
	double all_read = 0;
	dist_sum(&all_read, 1);
	if (promote && dist_rank == 0 && rename(next, sp)) die_errno("%s", sp);
	free(next);
	free(sp);
}

/* The metrics: a temporary renamed at each checkpoint (save). A resumed run's
 * begin with the earlier runs' records up to the step it resumes from. */
static lm_out *metrics_open(const char *path, int resume, long long step) {
	lm_out *mf = out_open(path, 0);
	/* not from standard output or a device: only a file renamed into place */
	FILE *f = resume && mf->tmp ? fopen(path, "rb") : NULL;
	if (resume && mf->tmp && !f && errno != ENOENT) die_errno("%s", path);
	if (!f) return mf;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		const char *at = strstr(line, "\"step\":");
		if (!at || strtoll(at + 7, NULL, 10) <= step) out_write(mf, line, n);
	}
	if (ferror(f)) die_errno("%s", path);
	fclose(f);
	free(line);
	return mf;
}

trainer *trainer_open(lm_model *m, const train_opts *o, int rows, int T, const char *start_fields) {
	trainer *t = xcalloc(1, sizeof *t);
	t->o = *o;
	t->m = m;
	const lm_config *cfg = &m->cfg;
	/* ZeRO-1: each rank keeps and updates its shard of the AdamW state */
	t->shard = dist_split(m->n_params);
	t->opt = adamw_new_part(m, t->shard[dist_rank], t->shard[dist_rank + 1], (float)o->beta1, (float)o->beta2,
				(float)o->eps, (float)o->weight_decay);
	if (o->resume) resume_state(t);
	if (t->st.step >= o->steps) die("%s: already trained %lld of %lld steps", o->out, t->st.step, o->steps);
	if (o->cuda) {
		t->gpu = gpu_open(m, rows, T, o->prec, 1);
		gpu_put_moments(t->gpu, t->opt);
		/* the host keeps the shape alone: the objective's weight() reads it */
		t->w = xcalloc(1, sizeof *t->w);
		t->w->cfg = *cfg;
		t->w->B = rows;
		t->w->T = T;
	} else {
		t->grad = model_new(cfg);
		t->w = llama_ws_new(cfg, rows, T);
	}
	t->obj = train_next_token;
	t->flops_per_token = 6.0 * params_matmul(cfg) + 12.0 * cfg->n_layers * cfg->dim * T;
	if (o->metrics && dist_rank == 0) {
		t->mf = metrics_open(o->metrics, o->resume, t->st.step);
		char *cj = config_to_json(cfg), ranks[32] = "";
		if (dist_size > 1) snprintf(ranks, sizeof ranks, "\"ranks\":%d,", dist_size);
		char dev[320] = "\"cpu\"";
		static const char *precs[] = {"fp32", "tf32", "bf16"};
		if (t->gpu) snprintf(dev, sizeof dev, "\"cuda\",\"gpu\":\"%s\",\"precision\":\"%s\"", gpu_describe(), precs[o->prec]);
		out_printf(t->mf, "{\"start\":true,\"step\":%lld,\"device\":%s,\"blas\":\"%s\",%s\"threads\":%d,\"config\":%s,"
			"\"n_params\":%zu,%s,\"micro_batch\":[%d,%d],\"flops_per_token\":%.0f}\n", t->st.step, dev, blas_kernel(),
			ranks, omp_get_max_threads(), cj, m->n_params, start_fields, rows, T, t->flops_per_token);
		free(cj);
	}
	t->tty = isatty(2) && dist_rank == 0;
	/* Under mpirun a signal ends the job as it ends any: mpirun answers a
	 * rank's death or its own SIGINT with SIGTERM to every rank, and a rank
	 * that stayed to save would wait on the others' part of it. */
	if (dist_size == 1) {
		struct sigaction sa = {0};
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	t->t0 = now_sec();
	return t;
}

int trainer_step(trainer *t, const train_batch *b, int epoch, const char *fields) {
	llama_ws *w = t->w;
	lm_model *m = t->m, *grad = t->grad;
	const train_opts *o = &t->o;
	const train_objective *ob = &t->obj;
	size_t rows = (size_t)w->B * w->T;
	/* the mean over every target of the step, whatever micro-batch (and rank) holds it */
	double total = ob->weight(ob->ctx, w, b), ws;
	float scale = total > 0 ? (float)(1.0 / total) : 0.0f;
	double sum = 0;   /* Σ weight·loss of this rank's micro-batches */
	if (t->gpu) gpu_zero_grads(t->gpu);
	else memset(grad->block, 0, grad->n_params * sizeof *grad->block);
	for (int a = dist_rank; a < b->micro; a += dist_size) sum += run_micro(t, b, a, 1, scale, &ws);
	/* each rank gets the summed gradient of its shard, updates that shard
	 * and sends it to the others */
	sum_ranks(t->sums, t->n_sums, &sum, 1);
	if (!t->gpu) dist_reduce_scatter(grad->block, t->shard);
	double loss = total > 0 ? sum / total : 0;
	if (!isfinite(loss)) die("step %lld: loss is not finite", t->st.step + 1);
	size_t lo = t->opt->lo, n = t->opt->hi - lo;
	double sumsq = t->gpu ? gpu_grad_sumsq(t->gpu) : grad_sumsq(grad->block + lo, n);
	dist_sum(&sumsq, 1);
	double norm = sqrt(sumsq);
	if (!isfinite(norm)) die("step %lld: gradient norm is not finite", t->st.step + 1);
	double lr = lr_at(t->st.step, o->warmup, o->steps, o->lr, o->min_lr);
	if (t->gpu) {
		/* grad_scale_to's factor, applied as AdamW reads the gradient */
		double coef = o->clip > 0 ? o->clip / (norm + 1e-6) : 1.0;
		gpu_adamw(t->gpu, t->opt, (float)lr, coef < 1.0 ? (float)coef : 1.0f);
	} else {
		if (o->clip > 0) grad_scale_to(grad->block + lo, n, norm, o->clip);
		adamw_step(t->opt, m, grad, (float)lr);
		dist_allgather(m->block, t->shard);
	}
	t->st.step++;
	t->st.tokens += (long long)(b->micro * rows);
	/* the step's time: from the end of the last one, so its batch's filling counts */
	double tps = b->micro * rows / (now_sec() - t->t0), gflops = t->flops_per_token * tps / 1e9;
	char own[256] = "", vown[256] = "";
	if (ob->report) ob->report(ob->ctx, 0, own, sizeof own);
	double vloss = NAN;
	if (t->val && ((o->val_every && t->st.step % o->val_every == 0) || t->st.step == o->steps)) {
		train_batch vb = *b;
		vloss = val_loss(t, &vb);
		sum_ranks(t->sums, t->n_sums, NULL, 0);
		if (ob->report) ob->report(ob->ctx, 1, vown, sizeof vown);
	}
	if (t->mf) {
		out_printf(t->mf, "{\"step\":%lld", t->st.step);
		if (epoch > 0) out_printf(t->mf, ",\"epoch\":%d", epoch);
		out_printf(t->mf, ",\"loss\":%.6f", loss);
		if (*own) out_printf(t->mf, ",%s", own);
		if (!isnan(vloss)) out_printf(t->mf, ",\"val_loss\":%.6f", vloss);
		if (*vown) out_printf(t->mf, ",%s", vown);
		if (fields) out_printf(t->mf, ",%s", fields);
		out_printf(t->mf, ",\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens\":%lld,\"tokens_per_s\":%.1f,\"gflops\":%.2f",
			lr, norm, t->st.tokens, tps, gflops);
		if (t->gpu) {
			size_t counted, used;
			gpu_memory(t->gpu, &counted, &used);
			out_printf(t->mf, ",\"gpu_bytes\":%zu,\"gpu_used_bytes\":%zu", counted, used);
		}
		out_printf(t->mf, "}\n");
	}
	if (t->tty) {
		fprintf(stderr, "\rstep %lld/%lld", t->st.step, o->steps);
		if (epoch > 0) fprintf(stderr, "  epoch %d", epoch);
		fprintf(stderr, "  loss %.4f", loss);
		if (!isnan(vloss)) fprintf(stderr, "  val %.4f", vloss);
		fprintf(stderr, "  lr %.3g  %.0f tok/s  %.1f GFLOP/s\033[K", lr, tps, gflops);
	}
	if (stop_signal) {
		save(t);
		if (t->tty) fputc('\n', stderr);
		warnx_("%s at step %lld: saved %s; continue with --resume",
		       stop_signal == SIGINT ? "interrupted" : "terminated", t->st.step, o->out);
		t->stopped = 1;
		return 0;
	}
	if (t->st.step == o->steps) return 0;
	if (o->ckpt_every && t->st.step % o->ckpt_every == 0) save(t);
	t->t0 = now_sec();
	return 1;
}

void trainer_finish(trainer *t) {
	if (!t->stopped) {
		save(t);
		if (t->tty) fputc('\n', stderr);
	}
	if (t->mf) out_close(t->mf);
	dist_finish();
	gpu_close(t->gpu);
	llama_ws_free(t->w);
	model_free(t->grad);
	adamw_free(t->opt);
	free(t->shard);
	free(t);
}
