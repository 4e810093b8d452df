/* lm-sft: supervised fine-tuning on chat dialogues: next-token cross-entropy
 * on the answer tokens only (the shard's loss mask), dialogues packed into
 * rows without seeing each other, starting from a checkpoint. */
#include "adamw.h"
#include "chat.h"
#include "checkpoint.h"
#include "llama.h"
#include "rng.h"
#include "shard.h"
#include "util.h"
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"--init CKPT -o OUT [--lr LR] [--min-lr LR] [--warmup N] [--weight-decay WD]\n"
	"       [--epochs N] [--batch N] [--micro-batch N] [--seq-len T] [--clip C] [--seed N]\n"
	"       [--val SHARD] [--val-every N] [--metrics FILE] [--checkpoint-every N] [--resume] SHARD";

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) { stop_requested = sig; }

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

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	static const struct option opts[] = {
		{"init", required_argument, 0, 'I'}, {"output", required_argument, 0, 'o'},
		{"lr", required_argument, 0, 'l'}, {"min-lr", required_argument, 0, 'L'},
		{"warmup", required_argument, 0, 'W'}, {"weight-decay", required_argument, 0, 'D'},
		{"epochs", required_argument, 0, 'e'}, {"batch", required_argument, 0, 'B'},
		{"micro-batch", required_argument, 0, 'u'}, {"seq-len", required_argument, 0, 'T'},
		{"clip", required_argument, 0, 'c'}, {"seed", required_argument, 0, 's'},
		{"val", required_argument, 0, 'v'}, {"val-every", required_argument, 0, 'V'},
		{"metrics", required_argument, 0, 'M'}, {"checkpoint-every", required_argument, 0, 'C'},
		{"resume", no_argument, 0, 'R'}, {0, 0, 0, 0}};
	const char *init = NULL, *out = NULL, *val_path = NULL, *metrics_path = NULL;
	double lr = 2e-5, min_lr = -1, wd = 0.1, clip = 1.0;
	long long warmup = 0, val_every = 0, ckpt_every = 0, seed = 1;
	int epochs = 2, B = 64, MB = 0, T = 0, resume = 0, c;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'I': init = optarg; break;
		case 'o': out = optarg; break;
		case 'l': lr = parse_float("--lr", optarg); break;
		case 'L': min_lr = parse_float("--min-lr", optarg); break;
		case 'W': warmup = parse_int("--warmup", optarg); break;
		case 'D': wd = parse_float("--weight-decay", optarg); break;
		case 'e': epochs = parse_int("--epochs", optarg); break;
		case 'B': B = parse_int("--batch", optarg); break;
		case 'u': MB = parse_int("--micro-batch", optarg); break;
		case 'T': T = parse_int("--seq-len", optarg); break;
		case 'c': clip = parse_float("--clip", optarg); break;
		case 's': seed = parse_int("--seed", optarg); break;
		case 'v': val_path = optarg; break;
		case 'V': val_every = parse_int("--val-every", optarg); break;
		case 'M': metrics_path = optarg; break;
		case 'C': ckpt_every = parse_int("--checkpoint-every", optarg); break;
		case 'R': resume = 1; break;
		default: usage_exit(USAGE);
		}
	}
	if (optind + 1 != argc || !out || (!init && !resume)) usage_exit(USAGE);
	if (!(lr > 0)) die("--lr: must be > 0");
	if (min_lr < 0) min_lr = 0.1 * lr;
	if (epochs < 1) die("--epochs: must be >= 1");
	if (B < 1) die("--batch: must be >= 1");
	if (MB < 0 || warmup < 0 || val_every < 0 || ckpt_every < 0) die("negative count in the options");
	if (!MB) MB = B < 8 ? B : 8;
	if (MB > B) MB = B;
	const char *train_path = argv[optind];

	lm_model *m = ckpt_load(resume ? out : init);
	if (!T) T = m->cfg.max_seq_len;
	if (T < 2 || T > m->cfg.max_seq_len) die("--seq-len: must be in 2..%d (the model's max_seq_len)", m->cfg.max_seq_len);
	lm_shard *train = shard_open(train_path);
	lm_shard *val = val_path ? shard_open(val_path) : NULL;
	for (lm_shard *s = train; s; s = s == train ? val : NULL) {
		if (s->vocab_size > (uint32_t)m->cfg.vocab_size)
			die("%s: shard vocabulary of %u is larger than the model's %d", s->path, s->vocab_size,
			    m->cfg.vocab_size);
		if (!s->mask) die("%s: no loss mask (make it with lm-tokenize --chat)", s->path);
		if (!s->n_docs) die("%s: no dialogues", s->path);
	}
	long long truncated = 0;
	for (uint64_t d = 0; d < train->n_docs; d++) truncated += shard_doc_end(train, d) - train->doc_start[d] > (uint64_t)T;
	if (truncated) warnx_("%s: %lld dialogues longer than %d tokens are cut", train_path, truncated, T);

	plan p = plan_make(train, T, B, epochs, seed);
	long long total = p.first_step[epochs], step = 0;
	lm_model *grad = model_new(&m->cfg);
	lm_adamw *opt = adamw_new(m, 0.9f, 0.95f, 1e-5f, wd);
	llama_ws *w = llama_ws_new(&m->cfg, MB, T);
	rows b = rows_new(B, T);
	lm_out *metrics = metrics_path ? out_open(metrics_path, -1) : NULL;

	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int tty = isatty(2);
	double per_token = 6.0 * params_matmul(&m->cfg) + 12.0 * m->cfg.n_layers * m->cfg.dim * T;
	for (; step < total && !stop_requested; step++) {
		double t0 = now_sec();
		int e;
		size_t r0, r1;
		plan_step(&p, step, &e, &r0, &r1);
		int n = r1 - r0, slots = (n + MB - 1) / MB * MB;
		long live = fill_rows(&b, train, p.order[e], p.row[e], r0, n, slots, T);
		int empty = 0;
		for (int i = 0; i < n; i++) empty += b.live[i] == 0;
		memset(grad->block, 0, grad->n_params * sizeof *grad->block);
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
		if (!isfinite(loss)) die("step %lld: loss is not finite", step + 1);
		double norm = grad_clip(grad, clip);
		if (!isfinite(norm)) die("step %lld: gradient norm is not finite", step + 1);
		double rate = lr_at(step, warmup, total, lr, min_lr);
		adamw_step(opt, m, grad, rate);
		double dt = now_sec() - t0, val_loss = NAN;
		if (val && val_every && ((step + 1) % val_every == 0 || step + 1 == total))
			val_loss = evaluate(w, m, val, &b, MB, T);
		if (metrics) {
			out_printf(metrics, "{\"step\": %lld, \"epoch\": %d, \"loss\": %.6g, \"targets\": %ld, "
				   "\"empty_rows\": %d, \"rows\": %d, \"lr\": %.6g, \"grad_norm\": %.6g, "
				   "\"tokens_per_s\": %.1f, \"gflops\": %.3g", step + 1, e + 1, loss, live, empty, n, rate,
				   norm, (double)slots * T / dt, per_token * slots * T / dt / 1e9);
			if (!isnan(val_loss)) out_printf(metrics, ", \"val_loss\": %.6g", val_loss);
			out_printf(metrics, "}\n");
		}
		if (tty)
			fprintf(stderr, "\rstep %lld/%lld  epoch %d  loss %.4f  lr %.3g  %.0f tok/s   ", step + 1, total,
				e + 1, loss, rate, (double)slots * T / dt);
		if (ckpt_every && (step + 1) % ckpt_every == 0 && step + 1 < total) ckpt_save(m, out);
	}
	if (tty) fputc('\n', stderr);
	ckpt_save(m, out);
	if (metrics) out_close(metrics);
	if (stop_requested) warnx_("stopped by signal after step %lld of %lld; checkpoint saved", step, total);
	llama_ws_free(w);
	rows_free(&b);
	adamw_free(opt);
	model_free(grad);
	model_free(m);
	shard_close(train);
	shard_close(val);
	return 0;
}
