/* lm-sft: supervised fine-tuning on chat dialogues: next-token cross-entropy
 * on the answer tokens only (the shard's loss mask), dialogues packed into
 * rows without seeing each other, starting from a checkpoint. */
#include "adamw.h"
#include "blas.h"
#include "chat.h"
#include "checkpoint.h"
#include "llama.h"
#include "rng.h"
#include "shard.h"
#include "trainstate.h"
#include "util.h"
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"(--init CKPT | --resume) [-b ROWS] [--micro-batch ROWS] [-t LEN] [--epochs N] [--lr LR]\n"
	"\t[--min-lr LR] [--warmup N] [--beta1 B] [--beta2 B] [--eps E] [--weight-decay W] [--clip C]\n"
	"\t[--seed N] [--val SHARD] [--val-every N] [--metrics FILE] [--checkpoint-every N]\n"
	"\t[--threads N] -o CKPT SHARD";

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

/* The whole run's data order: for each epoch a shuffled order of the dialogues
 * and its packing into rows. A pure function of the shard, T and the seed, so
 * a resumed run finds the same rows from the step number alone. */
typedef struct plan {
	int epochs, B;
	uint64_t **order;     /* per epoch: dialogue indices */
	size_t **row, *n_rows;
	long long *first_step; /* per epoch, and the total at [epochs] */
} plan;

static plan plan_make(const lm_shard *s, int T, int B, int epochs, unsigned long long seed) {
	plan p = {.epochs = epochs, .B = B};
	p.order = xcalloc(epochs, sizeof *p.order);
	p.row = xcalloc(epochs, sizeof *p.row);
	p.n_rows = xcalloc(epochs, sizeof *p.n_rows);
	p.first_step = xcalloc(epochs + 1, sizeof *p.first_step);
	for (int e = 0; e < epochs; e++) {
		lm_rng r;
		rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + e + 1);
		uint64_t *o = p.order[e] = xmalloc(s->n_docs * sizeof *o);
		for (uint64_t i = 0; i < s->n_docs; i++) o[i] = i;
		for (uint64_t i = s->n_docs; i > 1; i--) {
			uint64_t j = rng_below(&r, i), t = o[i - 1];
			o[i - 1] = o[j];
			o[j] = t;
		}
		p.n_rows[e] = chat_pack_rows(s, o, s->n_docs, T, &p.row[e]);
		p.first_step[e + 1] = p.first_step[e] + (p.n_rows[e] + B - 1) / B;
	}
	return p;
}

static void plan_free(plan *p) {
	for (int e = 0; e < p->epochs; e++) {
		free(p->order[e]);
		free(p->row[e]);
	}
	free(p->order); free(p->row); free(p->n_rows); free(p->first_step);
}

/* Rows [*r0, *r1) of epoch *e make global step `step`. */
static void plan_step(const plan *p, long long step, int *e, size_t *r0, size_t *r1) {
	int k = 0;
	while (step >= p->first_step[k + 1]) k++;
	*e = k;
	*r0 = (step - p->first_step[k]) * p->B;
	*r1 = *r0 + p->B < p->n_rows[k] ? *r0 + p->B : p->n_rows[k];
}

/* Row buffers for a step: B rows of T positions. */
typedef struct rows {
	int *tok, *tgt, *pos, *seg;
	float *wt;
	long *live;
} rows;

static rows rows_new(int B, int T) {
	rows r;
	size_t n = (size_t)B * T;
	r.tok = xmalloc(n * sizeof *r.tok);
	r.tgt = xmalloc(n * sizeof *r.tgt);
	r.pos = xmalloc(n * sizeof *r.pos);
	r.seg = xmalloc(n * sizeof *r.seg);
	r.wt = xmalloc(n * sizeof *r.wt);
	r.live = xmalloc(B * sizeof *r.live);
	return r;
}

static void rows_free(rows *r) {
	free(r->tok); free(r->tgt); free(r->pos); free(r->seg); free(r->wt); free(r->live);
}

/* Fill row slots [0, n) from rows [r0, r0+n) of an epoch's packing; slots
 * [n, upto) become empty rows (no target). Returns the targets' count. */
static long fill_rows(rows *b, const lm_shard *s, const uint64_t *order, const size_t *row, size_t r0, int n,
		      int upto, int T) {
	long live = 0;
	for (int i = 0; i < upto; i++) {
		size_t o = (size_t)i * T;
		if (i < n) {
			size_t a = row[r0 + i], z = row[r0 + i + 1];
			b->live[i] = chat_fill_row(s, order + a, z - a, T, b->tok + o, b->tgt + o, b->wt + o, b->pos + o,
						   b->seg + o);
		} else {
			b->live[i] = chat_fill_row(s, NULL, 0, T, b->tok + o, b->tgt + o, b->wt + o, b->pos + o, b->seg + o);
		}
		live += b->live[i];
	}
	return live;
}

/* Mean masked loss over a whole shard, its dialogues packed in file order. */
static double evaluate(llama_ws *w, const lm_model *m, const lm_shard *s, rows *b, int MB, int T) {
	uint64_t *order = xmalloc((s->n_docs ? s->n_docs : 1) * sizeof *order);
	for (uint64_t i = 0; i < s->n_docs; i++) order[i] = i;
	size_t *row, nr = chat_pack_rows(s, order, s->n_docs, T, &row);
	double sum = 0, weight = 0;
	for (size_t r = 0; r < nr; r += MB) {
		int n = r + MB <= nr ? MB : (int)(nr - r);
		fill_rows(b, s, order, row, r, n, MB, T);
		llama_forward(w, m, b->tok, b->pos, b->seg);
		double ws;
		sum += llama_head_ce(w, m, NULL, b->tgt, b->wt, 0, &ws);
		weight += ws;
	}
	free(row);
	free(order);
	return weight > 0 ? sum / weight : NAN;
}

static void save(const lm_model *m, const lm_adamw *opt, lm_trainstate *st, const char *out) {
	ckpt_save(m, out);
	st->params_hash = params_hash(m);
	char *sp = trainstate_path(out);
	trainstate_save(sp, st, opt);
	free(sp);
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	enum { O_INIT = 256, O_RESUME, O_LR, O_MINLR, O_WARMUP, O_B1, O_B2, O_EPS, O_WD, O_CLIP, O_SEED, O_EPOCHS,
	       O_MICRO, O_VAL, O_VALEVERY, O_METRICS, O_CKPT, O_THREADS };
	static const struct option opts[] = {
		{"init", required_argument, 0, O_INIT}, {"resume", no_argument, 0, O_RESUME},
		{"output", required_argument, 0, 'o'}, {"batch-size", required_argument, 0, 'b'},
		{"micro-batch", required_argument, 0, O_MICRO}, {"seq-len", required_argument, 0, 't'},
		{"epochs", required_argument, 0, O_EPOCHS}, {"lr", required_argument, 0, O_LR},
		{"min-lr", required_argument, 0, O_MINLR}, {"warmup", required_argument, 0, O_WARMUP},
		{"beta1", required_argument, 0, O_B1}, {"beta2", required_argument, 0, O_B2},
		{"eps", required_argument, 0, O_EPS}, {"weight-decay", required_argument, 0, O_WD},
		{"clip", required_argument, 0, O_CLIP}, {"seed", required_argument, 0, O_SEED},
		{"val", required_argument, 0, O_VAL}, {"val-every", required_argument, 0, O_VALEVERY},
		{"metrics", required_argument, 0, O_METRICS}, {"checkpoint-every", required_argument, 0, O_CKPT},
		{"threads", required_argument, 0, O_THREADS}, {0, 0, 0, 0}};
	const char *init = NULL, *out = NULL, *val_path = NULL, *metrics_path = NULL;
	/* Llama 2's SFT: lr 2e-5, weight decay 0.1, 64 sequences a batch, 2 epochs, cosine */
	double lr = 2e-5, min_lr = -1, wd = 0.1, clip = 1.0, beta1 = 0.9, beta2 = 0.95, eps = 1e-5;
	long long warmup = 0, val_every = 0, ckpt_every = 0;
	unsigned long long seed = 1;
	int epochs = 2, B = 64, MB = 0, T = 0, threads = 0, resume = 0, c;
	while ((c = getopt_long(argc, argv, "b:t:o:", opts, NULL)) != -1) {
		switch (c) {
		case O_INIT: init = optarg; break;
		case O_RESUME: resume = 1; break;
		case 'o': out = optarg; break;
		case 'b': B = (int)parse_int("-b", optarg); break;
		case O_MICRO: MB = (int)parse_int("--micro-batch", optarg); break;
		case 't': T = (int)parse_int("-t", optarg); break;
		case O_EPOCHS: epochs = (int)parse_int("--epochs", optarg); break;
		case O_LR: lr = parse_float("--lr", optarg); break;
		case O_MINLR: min_lr = parse_float("--min-lr", optarg); break;
		case O_WARMUP: warmup = parse_int("--warmup", optarg); break;
		case O_B1: beta1 = parse_float("--beta1", optarg); break;
		case O_B2: beta2 = parse_float("--beta2", optarg); break;
		case O_EPS: eps = parse_float("--eps", optarg); break;
		case O_WD: wd = parse_float("--weight-decay", optarg); break;
		case O_CLIP: clip = parse_float("--clip", optarg); break;
		case O_SEED: seed = (unsigned long long)parse_int("--seed", optarg); break;
		case O_VAL: val_path = optarg; break;
		case O_VALEVERY: val_every = parse_int("--val-every", optarg); break;
		case O_METRICS: metrics_path = optarg; break;
		case O_CKPT: ckpt_every = parse_int("--checkpoint-every", optarg); break;
		case O_THREADS: threads = (int)parse_int("--threads", optarg); break;
		default: usage_exit(USAGE);
		}
	}
	if (optind + 1 != argc || !out) usage_exit(USAGE);
	if (!strcmp(out, "-")) die("-o -: a checkpoint is a file, with its training state beside it");
	if (resume && init) die("--init and --resume both give the starting model; use one");
	if (!resume && !init) die("no model: give --init CKPT (or --resume)");
	if (B <= 0 || epochs <= 0 || MB < 0 || T < 0 || warmup < 0 || val_every < 0 || ckpt_every < 0 || threads < 0)
		die("-b and --epochs must be positive; counts must not be negative");
	if (!(lr > 0) || !(eps > 0) || wd < 0 || clip < 0 || beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
		die("--lr and --eps must be positive, --beta1 and --beta2 in [0, 1), --weight-decay and --clip not negative");
	if (min_lr < 0) min_lr = 0.1 * lr;
	if (!MB || MB > B) MB = B < 8 ? B : 8;
	if (threads) {
		openblas_set_num_threads(threads);
		omp_set_num_threads(threads);
	}
	const char *train_path = argv[optind];

	lm_model *m = resume ? ckpt_load(out) : model_load(init);
	if (!T) T = m->cfg.max_seq_len;
	if (T < 2 || T > m->cfg.max_seq_len) die("-t %d: must be in 2..%d (the model's max_seq_len)", T, m->cfg.max_seq_len);
	lm_shard *train = shard_open(train_path);
	lm_shard *val = val_path ? shard_open(val_path) : NULL;
	for (lm_shard *s = train; s; s = s == train ? val : NULL) {
		if (s->vocab_size > (uint32_t)m->cfg.vocab_size)
			die("%s: shard vocabulary of %u is larger than the model's %d", s->path, s->vocab_size,
			    m->cfg.vocab_size);
		if (!s->mask) die("%s: no loss mask (make the shard with lm-tokenize --chat)", s->path);
		if (!s->n_docs) die("%s: no dialogues", s->path);
	}
	long long truncated = 0;
	for (uint64_t d = 0; d < train->n_docs; d++) truncated += shard_doc_end(train, d) - train->doc_start[d] > (uint64_t)T;
	if (truncated) warnx_("%s: %lld dialogues longer than %d tokens are cut", train_path, truncated, T);

	plan p = plan_make(train, T, B, epochs, seed);
	long long total = p.first_step[epochs];
	lm_adamw *opt = adamw_new(m, (float)beta1, (float)beta2, (float)eps, (float)wd);
	lm_trainstate st = {0};
	if (resume) {
		char *sp = trainstate_path(out);
		trainstate_load(sp, &st, opt);
		if (st.params_hash != params_hash(m)) die("%s: does not belong to %s (saved with other parameters)", sp, out);
		free(sp);
	}
	if (st.step >= total) die("%s: already trained %lld of %lld steps", out, st.step, total);
	lm_model *grad = model_new(&m->cfg);
	llama_ws *w = llama_ws_new(&m->cfg, MB, T);
	/* a step's last micro-batch is filled up with empty rows */
	rows b = rows_new((B + MB - 1) / MB * MB, T);
	double per_token = 6.0 * params_matmul(&m->cfg) + 12.0 * m->cfg.n_layers * m->cfg.dim * T;

	FILE *mf = NULL;
	if (metrics_path) {
		mf = fopen(metrics_path, resume ? "a" : "w");
		if (!mf) die_errno("%s", metrics_path);
		char *cj = config_to_json(&m->cfg);
		fprintf(mf, "{\"start\":true,\"step\":%lld,\"blas\":\"%s\",\"threads\":%d,\"config\":%s,\"n_params\":%zu,"
			"\"dialogues\":%llu,\"truncated\":%lld,\"steps\":%lld,\"micro_batch\":[%d,%d],"
			"\"flops_per_token\":%.0f}\n", st.step, blas_kernel(), omp_get_max_threads(), cj, m->n_params,
			(unsigned long long)train->n_docs, truncated, total, MB, T, per_token);
		fflush(mf);
		free(cj);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int tty = isatty(2);
	while (st.step < total) {
		double t0 = now_sec();
		int e;
		size_t r0, r1;
		plan_step(&p, st.step, &e, &r0, &r1);
		int n = r1 - r0, slots = (n + MB - 1) / MB * MB;
		long live = fill_rows(&b, train, p.order[e], p.row[e], r0, n, slots, T);
		int empty = 0;
		for (int i = 0; i < n; i++) empty += b.live[i] == 0;
		memset(grad->block, 0, grad->n_params * sizeof *grad->block);
		/* the mean over every answer token of the step, whatever micro-batch holds it */
		double sum = 0, weight = 0;
		float scale = live ? 1.0f / live : 0;
		for (int u = 0; u < slots; u += MB) {
			size_t o = (size_t)u * T;
			double ws;
			llama_forward(w, m, b.tok + o, b.pos + o, b.seg + o);
			sum += llama_head_ce(w, m, grad, b.tgt + o, b.wt + o, scale, &ws);
			llama_backward(w, m, grad);
			weight += ws;
		}
		double loss = weight > 0 ? sum / weight : 0;
		if (!isfinite(loss)) die("step %lld: loss is not finite", st.step + 1);
		double norm = clip > 0 ? grad_clip(grad, clip) : grad_norm(grad);
		if (!isfinite(norm)) die("step %lld: gradient norm is not finite", st.step + 1);
		double rate = lr_at(st.step, warmup, total, lr, min_lr);
		adamw_step(opt, m, grad, (float)rate);
		st.step++;
		st.tokens += (long long)slots * T;
		double dt = now_sec() - t0, tps = (double)slots * T / dt, val_loss = NAN;
		if (val && ((val_every && st.step % val_every == 0) || st.step == total))
			val_loss = evaluate(w, m, val, &b, MB, T);
		if (mf) {
			fprintf(mf, "{\"step\":%lld,\"epoch\":%d,\"loss\":%.6f", st.step, e + 1, loss);
			if (!isnan(val_loss)) fprintf(mf, ",\"val_loss\":%.6f", val_loss);
			fprintf(mf, ",\"targets\":%ld,\"rows\":%d,\"empty_rows\":%d,\"lr\":%.6g,\"grad_norm\":%.6g,"
				"\"tokens\":%lld,\"tokens_per_s\":%.1f,\"gflops\":%.2f}\n", live, n, empty, rate, norm,
				st.tokens, tps, per_token * tps / 1e9);
			fflush(mf);
		}
		if (tty) {
			fprintf(stderr, "\rstep %lld/%lld  epoch %d  loss %.4f", st.step, total, e + 1, loss);
			if (!isnan(val_loss)) fprintf(stderr, "  val %.4f", val_loss);
			fprintf(stderr, "  lr %.3g  %.0f tok/s\033[K", rate, tps);
		}
		if (stop_signal) {
			save(m, opt, &st, out);
			if (tty) fputc('\n', stderr);
			warnx_("%s at step %lld: saved %s; continue with --resume",
			       stop_signal == SIGINT ? "interrupted" : "terminated", st.step, out);
			return 0;
		}
		if (ckpt_every && st.step % ckpt_every == 0 && st.step < total) save(m, opt, &st, out);
	}
	save(m, opt, &st, out);
	if (tty) fputc('\n', stderr);
	if (mf && fclose(mf)) die_errno("%s", metrics_path);
	llama_ws_free(w);
	rows_free(&b);
	plan_free(&p);
	adamw_free(opt);
	model_free(grad);
	model_free(m);
	shard_close(train);
	shard_close(val);
	return 0;
}
