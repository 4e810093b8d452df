/* lm-pretrain: next-token pretraining of a Llama 2 model on token shards, with
 * the paper's optimizer defaults, checkpoints that resume exactly, and
 * metrics as JSONL. */
#include "adamw.h"
#include "blas.h"
#include "checkpoint.h"
#include "llama.h"
#include "loader.h"
#include "trainstate.h"
#include "util.h"
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"[--config FILE] [--set KEY=VALUE]... [--init CKPT] [--resume] [-b ROWS] [-t LEN]\n"
	"\t[--batch-tokens N] [--steps N] [--lr LR] [--min-lr LR] [--warmup N] [--beta1 B] [--beta2 B]\n"
	"\t[--eps E] [--weight-decay W] [--clip C] [--seed N] [--val SHARD]... [--val-every N]\n"
	"\t[--val-batches N] [--metrics FILE] [--checkpoint-every N] [--threads N] -o CKPT SHARD...";

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

typedef struct opts {
	const char *config, *init, *out, *metrics;
	char **sets;
	int n_sets, resume, B, T, threads, val_batches;
	char **val;
	int n_val;
	long long batch_tokens, steps, warmup, val_every, ckpt_every;
	double lr, min_lr, beta1, beta2, eps, wd, clip;
	unsigned long long seed;
} opts;

static lm_model *make_model(const opts *o, int shard_vocab) {
	if (o->resume) return ckpt_load(o->out);
	if (o->init) return model_load(o->init);
	lm_config c;
	config_default(&c);
	if (o->config) {
		char *json = read_file(o->config, NULL);
		config_from_json(&c, json, o->config);
		free(json);
	}
	for (int i = 0; i < o->n_sets; i++) {
		char *kv = xstrdup(o->sets[i]), *eq = strchr(kv, '=');
		if (!eq) die("--set: expected KEY=VALUE, got '%s'", o->sets[i]);
		*eq = 0;
		if (!config_set(&c, kv, eq + 1)) die("--set: no configuration key '%s'", kv);
		free(kv);
	}
	/* Meta's params.json says vocab_size -1: the tokenizer's, here the shards' */
	if (c.vocab_size <= 0) c.vocab_size = shard_vocab;
	const char *why = config_finish(&c);
	if (why) die("%s: %s", o->config ? o->config : "--set", why);
	lm_model *m = model_new(&c);
	model_init(m, o->seed);
	return m;
}

static double validate(llama_ws *w, const lm_model *m, lm_loader *val, int batches, int *tok, int *tgt,
		       float *wt) {
	double sum = 0, count = 0, ws;
	for (int i = 0; i < batches; i++) {
		loader_sequential(val, (uint64_t)i * w->B, w->B, tok, tgt, wt);
		llama_forward(w, m, tok, NULL, NULL);
		sum += llama_head_ce(w, m, NULL, tgt, wt, 0, &ws);
		count += ws;
	}
	return count > 0 ? sum / count : 0;
}

/* The checkpoint and its state are two files, each replaced atomically. The
 * new state goes to STATE.new first, then the checkpoint is replaced, then
 * STATE.new becomes STATE: killed anywhere, one of STATE and STATE.new
 * belongs to the checkpoint on disk, and --resume finds it. */
static void save(const lm_model *m, const lm_adamw *opt, lm_trainstate *st, const char *out) {
	char *sp = trainstate_path(out), *next = xmalloc(strlen(sp) + 5);
	sprintf(next, "%s.new", sp);
	st->params_hash = params_hash(m);
	trainstate_save(next, st, opt);
	ckpt_save(m, out);
	if (rename(next, sp)) die_errno("%s", sp);
	free(next);
	free(sp);
}

/* The state that belongs to checkpoint m (see save). */
static void resume_state(const lm_model *m, const char *out, lm_trainstate *st, lm_adamw *opt) {
	char *sp = trainstate_path(out), *next = xmalloc(strlen(sp) + 5);
	sprintf(next, "%s.new", sp);
	uint64_t want = params_hash(m);
	if (access(sp, F_OK) == 0) trainstate_load(sp, st, opt);
	if (st->params_hash != want && access(next, F_OK) == 0) trainstate_load(next, st, opt);
	if (st->params_hash != want) {
		if (access(sp, F_OK)) die_errno("%s", sp);
		die("%s: does not belong to %s (saved with other parameters)", sp, out);
	}
	free(next);
	free(sp);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	enum { O_CONFIG = 256, O_SET, O_INIT, O_RESUME, O_BT, O_STEPS, O_LR, O_MINLR, O_WARMUP, O_B1, O_B2,
	       O_EPS, O_WD, O_CLIP, O_SEED, O_VAL, O_VALEVERY, O_VALBATCHES, O_METRICS, O_CKPT, O_THREADS };
	static const struct option longopts[] = {
		{"config", required_argument, 0, O_CONFIG}, {"set", required_argument, 0, O_SET},
		{"init", required_argument, 0, O_INIT}, {"resume", no_argument, 0, O_RESUME},
		{"batch-size", required_argument, 0, 'b'}, {"seq-len", required_argument, 0, 't'},
		{"batch-tokens", required_argument, 0, O_BT}, {"steps", required_argument, 0, O_STEPS},
		{"lr", required_argument, 0, O_LR}, {"min-lr", required_argument, 0, O_MINLR},
		{"warmup", required_argument, 0, O_WARMUP}, {"beta1", required_argument, 0, O_B1},
		{"beta2", required_argument, 0, O_B2}, {"eps", required_argument, 0, O_EPS},
		{"weight-decay", required_argument, 0, O_WD}, {"clip", required_argument, 0, O_CLIP},
		{"seed", required_argument, 0, O_SEED}, {"val", required_argument, 0, O_VAL},
		{"val-every", required_argument, 0, O_VALEVERY}, {"val-batches", required_argument, 0, O_VALBATCHES},
		{"metrics", required_argument, 0, O_METRICS}, {"checkpoint-every", required_argument, 0, O_CKPT},
		{"threads", required_argument, 0, O_THREADS}, {"output", required_argument, 0, 'o'},
		{0, 0, 0, 0},
	};
	opts o = {.B = 8, .steps = 1000, .lr = 3e-4, .min_lr = -1, .warmup = 2000, .beta1 = 0.9, .beta2 = 0.95,
		  .eps = 1e-5, .wd = 0.1, .clip = 1.0, .seed = 1, .val_every = 100, .val_batches = 4};
	o.sets = xcalloc(argc, sizeof *o.sets);
	o.val = xcalloc(argc, sizeof *o.val);
	int c;
	while ((c = getopt_long(argc, argv, "b:t:o:", longopts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: o.config = optarg; break;
		case O_SET: o.sets[o.n_sets++] = optarg; break;
		case O_INIT: o.init = optarg; break;
		case O_RESUME: o.resume = 1; break;
		case 'b': o.B = (int)parse_int("-b", optarg); break;
		case 't': o.T = (int)parse_int("-t", optarg); break;
		case 'o': o.out = optarg; break;
		case O_BT: o.batch_tokens = parse_int("--batch-tokens", optarg); break;
		case O_STEPS: o.steps = parse_int("--steps", optarg); break;
		case O_LR: o.lr = parse_float("--lr", optarg); break;
		case O_MINLR: o.min_lr = parse_float("--min-lr", optarg); break;
		case O_WARMUP: o.warmup = parse_int("--warmup", optarg); break;
		case O_B1: o.beta1 = parse_float("--beta1", optarg); break;
		case O_B2: o.beta2 = parse_float("--beta2", optarg); break;
		case O_EPS: o.eps = parse_float("--eps", optarg); break;
		case O_WD: o.wd = parse_float("--weight-decay", optarg); break;
		case O_CLIP: o.clip = parse_float("--clip", optarg); break;
		case O_SEED: o.seed = (unsigned long long)parse_int("--seed", optarg); break;
		case O_VAL: o.val[o.n_val++] = optarg; break;
		case O_VALEVERY: o.val_every = parse_int("--val-every", optarg); break;
		case O_VALBATCHES: o.val_batches = (int)parse_int("--val-batches", optarg); break;
		case O_METRICS: o.metrics = optarg; break;
		case O_CKPT: o.ckpt_every = parse_int("--checkpoint-every", optarg); break;
		case O_THREADS: o.threads = (int)parse_int("--threads", optarg); break;
		default: usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (!o.out || argc < 1) usage_exit(USAGE);
	if (!strcmp(o.out, "-")) die("-o: a checkpoint goes to a file (its training state is written beside it)");
	if ((o.resume || o.init) && (o.config || o.n_sets))
		die("--config and --set make a new model; not with --init or --resume");
	if (o.resume && o.init) die("--init and --resume both give the starting model; use one");
	if (!o.resume && !o.init && !o.config && !o.n_sets) die("no model: give --config, --set, --init or --resume");
	if (o.B <= 0 || o.T < 0 || o.steps <= 0 || o.warmup < 0 || o.val_every < 0 || o.val_batches <= 0 ||
	    o.ckpt_every < 0 || o.batch_tokens < 0 || o.threads < 0)
		die("-b, --steps and --val-batches must be positive; counts must not be negative");
	if (!(o.lr > 0) || !(o.eps > 0) || o.wd < 0 || o.clip < 0 || o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 ||
	    o.beta2 >= 1)
		die("--lr and --eps must be positive, --beta1 and --beta2 in [0, 1), "
		    "--weight-decay and --clip not negative");
	if (o.min_lr < 0) o.min_lr = 0.1 * o.lr;
	if (o.threads) {
		openblas_set_num_threads(o.threads);
		omp_set_num_threads(o.threads);
	}

	/* shards first: a bad one fails before any work, and "-" is read once */
	lm_shard **train_shards = xcalloc(argc, sizeof *train_shards);
	lm_shard **val_shards = xcalloc(o.n_val + 1, sizeof *val_shards);
	for (int i = 0; i < argc; i++) train_shards[i] = shard_open(argv[i]);
	for (int i = 0; i < o.n_val; i++) val_shards[i] = shard_open(o.val[i]);
	lm_model *m = make_model(&o, (int)train_shards[0]->vocab_size);
	const lm_config *cfg = &m->cfg;
	int B = o.B, T = o.T ? o.T : cfg->max_seq_len;
	if (T > cfg->max_seq_len) die("-t %d: longer than the model's max_seq_len %d", T, cfg->max_seq_len);
	long long micro = (long long)B * T;
	if (!o.batch_tokens) o.batch_tokens = micro;
	if (o.batch_tokens % micro)
		die("--batch-tokens %lld: not a multiple of the %d x %d tokens of a micro-batch", o.batch_tokens, B, T);
	int accum = (int)(o.batch_tokens / micro);
	lm_loader *train = loader_new(train_shards, argc, T, cfg->vocab_size, o.seed);
	lm_loader *val = o.n_val ? loader_new(val_shards, o.n_val, T, cfg->vocab_size, o.seed) : NULL;

	lm_adamw *opt = adamw_new(m, (float)o.beta1, (float)o.beta2, (float)o.eps, (float)o.wd);
	lm_trainstate st = {0};
	if (o.resume) {
		resume_state(m, o.out, &st, opt);
		train->rng = st.data_rng;
	}
	if (st.step >= o.steps) die("%s: already trained %lld steps (--steps %lld)", o.out, st.step, o.steps);

	lm_model *grad = model_new(cfg);
	llama_ws *w = llama_ws_new(cfg, B, T);
	int *tok = xmalloc(accum * micro * sizeof(int)), *tgt = xmalloc(accum * micro * sizeof(int));
	float *wt = train->has_mask || (val && val->has_mask) ? xmalloc(accum * micro * sizeof(float)) : NULL;
	double flops_tok = 6.0 * params_matmul(cfg) + 12.0 * cfg->n_layers * cfg->dim * T;

	FILE *mf = NULL;
	if (o.metrics) {
		mf = fopen(o.metrics, o.resume ? "a" : "w");
		if (!mf) die_errno("%s", o.metrics);
		char *cj = config_to_json(cfg);
		fprintf(mf,
			"{\"start\":true,\"step\":%lld,\"blas\":\"%s\",\"threads\":%d,\"config\":%s,\"n_params\":%zu,"
			"\"batch_tokens\":%lld,\"micro_batch\":[%d,%d],\"flops_per_token\":%.0f}\n",
			st.step, blas_kernel(), omp_get_max_threads(), cj, m->n_params, o.batch_tokens, B, T, flops_tok);
		fflush(mf);
		free(cj);
	}
	int tty = isatty(2);
	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (st.step < o.steps) {
		double t0 = now_sec();
		for (int a = 0; a < accum; a++)
			loader_random(train, B, tok + a * micro, tgt + a * micro, wt ? wt + a * micro : NULL);
		double total = llama_target_weight(tgt, wt, (int)(accum * micro)), sum = 0, ws;
		float scale = total > 0 ? (float)(1.0 / total) : 0.0f;
		memset(grad->block, 0, grad->n_params * sizeof(float));
		for (int a = 0; a < accum; a++) {
			llama_forward(w, m, tok + a * micro, NULL, NULL);
			sum += llama_head_ce(w, m, grad, tgt + a * micro, wt ? wt + a * micro : NULL, scale, &ws);
			llama_backward(w, m, grad);
		}
		double loss = total > 0 ? sum / total : 0;
		if (!isfinite(loss)) die("step %lld: loss is not finite", st.step + 1);
		double norm = o.clip > 0 ? grad_clip(grad, o.clip) : grad_norm(grad);
		if (!isfinite(norm)) die("step %lld: gradient norm is not finite", st.step + 1);
		double lr = lr_at(st.step, o.warmup, o.steps, o.lr, o.min_lr);
		adamw_step(opt, m, grad, (float)lr);
		st.step++;
		st.tokens += o.batch_tokens;
		st.data_rng = train->rng;
		double dt = now_sec() - t0, tps = o.batch_tokens / dt;
		double vloss = NAN;
		if (val && (st.step % (o.val_every ? o.val_every : o.steps) == 0 || st.step == o.steps))
			vloss = validate(w, m, val, o.val_batches, tok, tgt, wt);
		if (mf) {
			fprintf(mf, "{\"step\":%lld,\"loss\":%.6f", st.step, loss);
			if (!isnan(vloss)) fprintf(mf, ",\"val_loss\":%.6f", vloss);
			fprintf(mf, ",\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens\":%lld,\"tokens_per_s\":%.1f,\"gflops\":%.2f}\n",
				lr, norm, st.tokens, tps, flops_tok * tps / 1e9);
			fflush(mf);
		}
		if (tty) {
			fprintf(stderr, "\rstep %lld/%lld  loss %.4f", st.step, o.steps, loss);
			if (!isnan(vloss)) fprintf(stderr, "  val %.4f", vloss);
			fprintf(stderr, "  lr %.3g  %.0f tok/s  %.1f GFLOP/s\033[K", lr, tps, flops_tok * tps / 1e9);
		}
		if (stop_signal) {
			save(m, opt, &st, o.out);
			if (tty) fputc('\n', stderr);
			warnx_("%s at step %lld: saved %s; continue with --resume",
			       stop_signal == SIGINT ? "interrupted" : "terminated", st.step, o.out);
			return 0;
		}
		if (o.ckpt_every && st.step % o.ckpt_every == 0 && st.step < o.steps) save(m, opt, &st, o.out);
	}
	save(m, opt, &st, o.out);
	if (tty) fputc('\n', stderr);
	if (mf && fclose(mf)) die_errno("%s", o.metrics);
	llama_ws_free(w);
	model_free(grad);
	model_free(m);
	adamw_free(opt);
	loader_close(train);
	loader_close(val);
	free(tok);
	free(tgt);
	free(wt);
	free(train_shards);
	free(val_shards);
	free(o.sets);
	free(o.val);
	return 0;
}
