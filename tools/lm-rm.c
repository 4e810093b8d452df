/* lm-rm: reward models. init turns a language model into a score model,
 * train fits it to preference pairs with the pairwise margin loss (the step
 * loop is train.c's, the objective rm.c's), score adds a reward to each chat
 * record, eval measures ranking accuracy on held-out pairs. */
#include "bf16.h"
#include "blas.h"
#include "checkpoint.h"
#include "docs.h"
#include "gpu.h"
#include "pack.h"
#include "rm.h"
#include "rng.h"
#include "tokenizer.h"
#include "train.h"
#include "util.h"
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
	"init [--seed N] -o OUT CKPT\n"
	"       lm-rm train (--init CKPT | --resume) --tokenizer TOK [-b PAIRS] [--micro-batch ROWS] [-t LEN]\n"
	"\t[--epochs N] [--margin none|small|large] [--val PAIRS] [--val-every N] [--lr LR] [--min-lr LR]\n"
	"\t[--warmup N] [--beta1 B] [--beta2 B] [--eps E] [--weight-decay W] [--clip C] [--seed N]\n"
	"\t[--metrics FILE] [--checkpoint-every N] [--threads N] [--device cpu|cuda]\n"
	"\t[--precision bf16|tf32|fp32] -o CKPT PAIRS\n"
	"       lm-rm score -t TOK [-n NAME] [-b ROWS] [--weights f32|bf16] [--device cpu|cuda] [-o OUT] CKPT [CHAT]\n"
	"       lm-rm eval -t TOK [-n NAME] [--device cpu|cuda] [-o OUT] CKPT PAIRS";

/* ---- pairs in rows ---- */

typedef struct pairs {
	const char *path;
	rm_pair *p;
	long long *line;
	size_t n;
} pairs;

/* Every pair of path, rendered; a reply that does not fit T with its dialogue
 * is an error. */
static pairs pairs_read(const char *path, const lm_tokenizer *tok, int T) {
	pairs ps = {.path = path};
	size_t cap = 0;
	lm_in *in = in_open(path);
	while (in_line(in)) {
		if (!in->len) continue;
		if (ps.n == cap) {
			cap = cap ? 2 * cap : 256;
			ps.p = xrealloc(ps.p, cap * sizeof *ps.p);
			ps.line = xrealloc(ps.line, cap * sizeof *ps.line);
		}
		rm_pair *p = memset(&ps.p[ps.n], 0, sizeof *p);
		const char *why = rm_pair_parse(p, tok, in->buf, in->len);
		if (why) die("%s:%lld: %s", path, in->lineno, why);
		size_t longest = p->chosen.n > p->rejected.n ? p->chosen.n : p->rejected.n;
		if (longest > (size_t)T)
			die("%s:%lld: the dialogue with its %s reply takes %zu tokens, longer than the context of %d", path,
			    in->lineno, p->chosen.n > p->rejected.n ? "chosen" : "rejected", longest, T);
		ps.line[ps.n++] = in->lineno;
	}
	in_close(in);
	if (!ps.n) die("%s: no preference pairs", path);
	return ps;
}

static void pairs_free(pairs *ps) {
	for (size_t i = 0; i < ps->n; i++) rm_pair_free(&ps->p[i]);
	free(ps->p);
	free(ps->line);
}

/* Lay pairs idx[0..n) into rows of T, MB rows a micro-batch (pack_pairs),
 * from micro-batch 0 of b and rb, each with its rating's margin of table;
 * returns the micro-batches used. */
static int pairs_fill(const pairs *ps, const size_t *idx, size_t n, int T, int MB, int table, train_batch *b,
		      rm_batch *rb) {
	uint64_t *len = xmalloc((2 * n + 1) * sizeof *len), *at = xmalloc((2 * n + 1) * sizeof *at);
	for (size_t i = 0; i < n; i++) len[2 * i] = ps->p[idx[i]].chosen.n, len[2 * i + 1] = ps->p[idx[i]].rejected.n;
	size_t rows = pack_pairs(len, n, T, MB, at);
	int micro = (int)((rows + MB - 1) / MB);
	int *used = xcalloc((size_t)micro * MB + 1, sizeof *used);
	for (int a = 0; a < micro; a++) rb->n[a] = 0;
	for (size_t i = 0; i < n; i++) {
		const rm_pair *p = &ps->p[idx[i]];
		int a = (int)(at[2 * i] / T / MB), k = rb->n[a]++, *end = rb->at + ((size_t)a * rb->pair_cap + k) * 2;
		for (int side = 0; side < 2; side++) {
			const chat_tokens *s = side ? &p->rejected : &p->chosen;
			size_t r = at[2 * i + side] / T, o = r * T;
			used[r] = (int)(at[2 * i + side] % T);
			int last = pack_put(T, &used[r], s->ids, s->n, 2 * k + side, b->tok + o, b->pos + o, b->seg + o);
			end[side] = (int)(r % MB) * T + last;
		}
		rb->margin[(size_t)a * rb->pair_cap + k] = rm_margin(table, p->rating);
	}
	for (int r = 0; r < micro * MB; r++) {
		size_t o = (size_t)r * T;
		pack_pad(T, used[r], b->tok + o, b->pos + o, b->seg + o);
		for (int j = 0; j < T; j++) b->tgt[o + j] = -1;
	}
	free(used);
	free(at);
	free(len);
	return micro;
}

/* ---- init ---- */

static int cmd_init(int argc, char **argv) {
	static const char *U = "init [--seed N] -o OUT CKPT";
	static const struct option lo[] = {{"seed", required_argument, 0, 's'}, {"output", required_argument, 0, 'o'}, {0}};
	unsigned long long seed = 1;
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:s:", lo, NULL)) != -1) {
		if (c == 's') seed = (unsigned long long)parse_int("--seed", optarg);
		else if (c == 'o') out = optarg;
		else usage_exit(U);
	}
	if (optind + 1 != argc || !out) usage_exit(U);
	lm_model *lm = model_load(argv[optind]);
	model_need_head(lm, LM_HEAD_LM, argv[optind]);
	lm_config cfg = lm->cfg;
	cfg.head = LM_HEAD_SCORE;
	const char *why = config_finish(&cfg);
	if (why) die("%s: %s", argv[optind], why);
	lm_model *rm = model_new(&cfg);
	/* the trunk is the first part of both blocks, in the same order */
	memcpy(rm->block, lm->block, (rm->n_params - cfg.dim) * sizeof(float));
	model_init_head(rm, seed);
	ckpt_save(rm, out);
	model_free(rm);
	model_free(lm);
	return 0;
}

/* ---- train ---- */

typedef struct val_pairs {
	const pairs *ps;
	size_t *idx;        /* the pairs in file order */
	size_t *first;      /* micro-batch i holds pairs first[i] .. first[i+1]-1 */
	int T, MB, table, micro;
	rm_batch *rb;       /* the trainer's */
} val_pairs;

/* Validation micro-batch i: MB rows of the held-out pairs in file order. The
 * file is laid out once (pack_pairs) to find where each micro-batch starts;
 * laying out its pairs alone from a fresh micro-batch gives the same rows. */
static int fill_val(void *ctx, long long i, train_batch *b) {
	val_pairs *v = ctx;
	if (!v->first) {
		size_t n = v->ps->n;
		uint64_t *len = xmalloc(2 * n * sizeof *len), *at = xmalloc(2 * n * sizeof *at);
		for (size_t k = 0; k < n; k++) len[2 * k] = v->ps->p[k].chosen.n, len[2 * k + 1] = v->ps->p[k].rejected.n;
		pack_pairs(len, n, v->T, v->MB, at);
		v->first = xmalloc((n + 1) * sizeof *v->first);
		for (size_t k = 0; k < n; k++)
			if (k == 0 || at[2 * k] / v->T / v->MB != at[2 * k - 2] / v->T / v->MB) v->first[v->micro++] = k;
		v->first[v->micro] = n;
		free(len);
		free(at);
	}
	if (i >= v->micro) return 0;
	size_t k = v->first[i], n = v->first[i + 1] - k;
	pairs_fill(v->ps, v->idx + k, n, v->T, v->MB, v->table, b, v->rb);
	return 1;
}

static int cmd_train(int argc, char **argv) {
	enum { O_TOK = TRAIN_O_END, O_MICRO, O_EPOCHS, O_VAL, O_MARGIN };
	static const struct option lo[] = {
		TRAIN_LONGOPTS,
		{"tokenizer", required_argument, 0, O_TOK}, {"micro-batch", required_argument, 0, O_MICRO},
		{"epochs", required_argument, 0, O_EPOCHS}, {"val", required_argument, 0, O_VAL},
		{"margin", required_argument, 0, O_MARGIN}, {0, 0, 0, 0}};
	/* Llama 2's reward models: one epoch, lr 1e-5 cosine to 10%, warm-up 3% of
	 * the steps (at least 5), 512 pairs a step, AdamW as pretraining */
	train_opts o = {.B = 512, .lr = 1e-5, .min_lr = -1, .warmup = -1, .weight_decay = 0.1, .clip = 1.0,
			.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-5, .seed = 1};
	const char *tok_path = NULL, *val_path = NULL;
	int epochs = 1, MB = 8, table = RM_MARGIN_SMALL, c;
	while ((c = getopt_long(argc, argv, "b:t:o:", lo, NULL)) != -1) {
		if (train_option(&o, c, optarg)) continue;
		switch (c) {
		case O_TOK: tok_path = optarg; break;
		case O_MICRO: MB = (int)parse_int("--micro-batch", optarg); break;
		case O_EPOCHS: epochs = (int)parse_int("--epochs", optarg); break;
		case O_VAL: val_path = optarg; break;
		case O_MARGIN:
			if ((table = rm_margin_table(optarg)) < 0) die("--margin %s: one of none, small, large", optarg);
			break;
		default: usage_exit(USAGE);
		}
	}
	if (optind + 1 != argc || !o.out || !tok_path) usage_exit(USAGE);
	if (epochs <= 0 || MB <= 0) die("--epochs and --micro-batch must be positive");
	if (o.warmup < -1) die("--warmup must not be negative");
	lm_tokenizer *tok = tok_load(tok_path);
	lm_model *m = o.resume ? ckpt_load(o.out) : o.init ? model_load(o.init) : NULL;
	if (!m) die("no model: give --init CKPT (a score model, from lm-rm init) or --resume");
	model_need_head(m, LM_HEAD_SCORE, o.resume ? o.out : o.init);
	int T = o.T ? o.T : m->cfg.max_seq_len;
	if (T < 2 || T > m->cfg.max_seq_len) die("-t %d: must be in 2..%d (the model's max_seq_len)", T, m->cfg.max_seq_len);
	if (tok_vocab_size(tok) > m->cfg.vocab_size)
		die("%s: %d tokens, more than the model's vocabulary of %d", tok_path, tok_vocab_size(tok), m->cfg.vocab_size);
	pairs ps = pairs_read(argv[optind], tok, T), vs = {0};
	if (val_path) vs = pairs_read(val_path, tok, T);
	for (pairs *s = &ps; MB < 2 && s; s = s == &ps && val_path ? &vs : NULL)
		for (size_t i = 0; i < s->n; i++)
			if (s->p[i].chosen.n + s->p[i].rejected.n > (size_t)T)
				die("%s:%lld: the pair takes two rows of %d, which --micro-batch 1 cannot hold together",
				    s->path, s->line[i], T);

	int B = o.B > 0 ? o.B : 1;
	long long per_epoch = ((long long)ps.n + B - 1) / B;
	o.steps = per_epoch * epochs;
	if (o.warmup < 0) o.warmup = (long long)ceil(0.03 * o.steps) > 5 ? (long long)ceil(0.03 * o.steps) : 5;
	train_opts_finish(&o, 0, "--init CKPT (or --resume)");

	/* each epoch's order: a shuffle that depends on the seed and epoch only */
	size_t *order = xmalloc(ps.n * epochs * sizeof *order);
	for (int e = 0; e < epochs; e++) {
		lm_rng r;
		rng_seed(&r, o.seed * 0x9e3779b97f4a7c15ull + e + 1);
		size_t *ord = order + (size_t)e * ps.n;
		for (size_t i = 0; i < ps.n; i++) ord[i] = i;
		for (size_t i = ps.n; i > 1; i--) {
			size_t j = rng_below(&r, i), t = ord[i - 1];
			ord[i - 1] = ord[j];
			ord[j] = t;
		}
	}
	char start[160];
	snprintf(start, sizeof start, "\"pairs\":%zu,\"steps\":%lld,\"margin\":\"%s\"", ps.n, o.steps,
		 table == RM_MARGIN_NONE ? "none" : table == RM_MARGIN_SMALL ? "small" : "large");
	trainer *t = trainer_open(m, &o, MB, T, start);
	/* a pair takes at most two rows, and a row skipped so that they share a micro-batch */
	int micro_cap = (3 * B + MB - 1) / MB + 1, pair_cap = MB * (T / 2 + 1);
	train_batch *b = train_batch_new(micro_cap * MB, T, 1, 0);
	rm_batch *train_rb = rm_batch_new(micro_cap, pair_cap);
	t->obj = rm_objective(train_rb);
	/* its report's accumulators, summed over the ranks under mpirun */
	t->sums = train_rb->sum;
	t->n_sums = RM_SUMS;
	val_pairs vp = {&vs, NULL, NULL, T, MB, table, 0, train_rb};
	if (val_path) {
		vp.idx = xmalloc(vs.n * sizeof *vp.idx);
		for (size_t i = 0; i < vs.n; i++) vp.idx[i] = i;
		t->val = fill_val;
		t->val_ctx = &vp;
	}
	char fields[96];
	int e;
	do {
		long long step = t->st.step;
		e = (int)(step / per_epoch);
		size_t first = (size_t)(step % per_epoch) * B, n = first + B < ps.n ? B : ps.n - first;
		b->micro = pairs_fill(&ps, order + (size_t)e * ps.n + first, n, T, MB, table, b, train_rb);
		snprintf(fields, sizeof fields, "\"step_pairs\":%zu,\"rows\":%d", n, b->micro * MB);
	} while (trainer_step(t, b, e + 1, fields));
	trainer_finish(t);
	train_batch_free(b);
	rm_batch_free(train_rb);
	free(vp.first); free(vp.idx); free(order);
	pairs_free(&ps);
	if (val_path) pairs_free(&vs);
	model_free(m);
	tok_free(tok);
	return 0;
}

/* ---- score and eval: forward only ---- */

typedef struct scorer {
	const lm_model *m;
	llama_ws *w;          /* the CPU's forward, one row at a time */
	gpu_train *g;         /* or --device cuda's, B rows at a time */
	int T, B;
	int *tok, *pos, *seg, *at;
} scorer;

/* A scorer on the CPU (cuda 0) or on the GPU in B rows a forward, products
 * in bf16 when the weights are (prec, gpu.h), else fp32. */
static scorer *scorer_new(const lm_model *m, int cuda, int B, int prec) {
	scorer *s = xcalloc(1, sizeof *s);
	s->m = m;
	s->T = m->cfg.max_seq_len;
	s->B = cuda ? B : 1;
	if (cuda) s->g = gpu_open(m, s->B, s->T, prec, 0);
	else s->w = llama_ws_new(&m->cfg, 1, s->T);
	size_t n = (size_t)s->B * s->T;
	s->tok = xmalloc(n * sizeof *s->tok);
	s->pos = xmalloc(n * sizeof *s->pos);
	s->seg = xmalloc(n * sizeof *s->seg);
	s->at = xmalloc(n * sizeof *s->at);
	return s;
}

static void scorer_free(scorer *s) {
	llama_ws_free(s->w);
	gpu_close(s->g);
	free(s->tok); free(s->pos); free(s->seg); free(s->at);
	free(s);
}

/* Scores of sequences seq[0..n) (each at most T tokens), packed into rows.
 * On the CPU rows go through the model one at a time: OpenBLAS sums in
 * another order when a product has more rows, so a forward of several rows
 * would make a score depend on its neighbours and on -b. The GPU takes B
 * rows a forward (the last padded), its products always that size. */
static void score_seqs(scorer *s, const chat_tokens *const *seq, size_t n, float *out) {
	uint64_t *len = xmalloc((n ? n : 1) * sizeof *len);
	for (size_t i = 0; i < n; i++) len[i] = seq[i]->n;
	size_t *row, rows = pack_rows(len, n, s->T, &row);
	int T = s->T;
	for (size_t r0 = 0; r0 < rows; r0 += s->B) {
		int k = 0;
		for (int b = 0; b < s->B; b++) {
			size_t r = r0 + b, o = (size_t)b * T;
			int used = 0;
			for (size_t i = r < rows ? row[r] : 0, end = r < rows ? row[r + 1] : 0; i < end; i++)
				s->at[k++] = b * T + pack_put(T, &used, seq[i]->ids, seq[i]->n, (int)(i - row[r]), s->tok + o,
							      s->pos + o, s->seg + o);
			pack_pad(T, used, s->tok + o, s->pos + o, s->seg + o);
		}
		if (s->g) {
			gpu_scores(s->g, s->tok, s->pos, s->seg, s->at, k, 0, out + row[r0]);
		} else {
			llama_forward(s->w, s->m, s->tok, s->pos, s->seg);
			rm_scores(out + row[r0], s->w, s->m, s->at, k);
		}
	}
	free(row);
	free(len);
}

static lm_model *load_score_model(const char *path, const lm_tokenizer *tok, const char *tok_path) {
	lm_model *m = model_load(path);
	model_need_head(m, LM_HEAD_SCORE, path);
	if (tok_vocab_size(tok) > m->cfg.vocab_size)
		die("%s: %d tokens, more than the model's vocabulary of %d (%s)", tok_path, tok_vocab_size(tok),
		    m->cfg.vocab_size, path);
	return m;
}

static char *base_name(const char *path) {
	const char *b = strrchr(path, '/');
	char *s = xstrdup(b ? b + 1 : path), *dot = strrchr(s, '.');
	if (dot && dot != s) *dot = 0;
	return s;
}

/* Score records rec[0..n) (rendered as tk) and write them with the reward added. */
static void score_flush(scorer *s, lm_out *o, const char *name, cJSON **rec, chat_tokens *tk, size_t n) {
	const chat_tokens **seq = xmalloc((n ? n : 1) * sizeof *seq);
	float *score = xmalloc((n ? n : 1) * sizeof *score);
	for (size_t i = 0; i < n; i++) seq[i] = &tk[i];
	score_seqs(s, seq, n, score);
	for (size_t i = 0; i < n; i++) {
		cJSON *rw = cJSON_GetObjectItemCaseSensitive(rec[i], "rewards");
		if (!cJSON_IsObject(rw)) {
			cJSON_DeleteItemFromObjectCaseSensitive(rec[i], "rewards");
			rw = cJSON_AddObjectToObject(rec[i], "rewards");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(rw, name);
		cJSON_AddItemToObject(rw, name, cJSON_CreateNumber(score[i]));
		char *text = cJSON_PrintUnformatted(rec[i]);
		out_printf(o, "%s\n", text);
		free(text);
		cJSON_Delete(rec[i]);
	}
	free(seq);
	free(score);
}

static int cmd_score(int argc, char **argv) {
	static const char *U = "score -t TOK [-n NAME] [-b ROWS] [--weights f32|bf16] [--device cpu|cuda] [-o OUT] CKPT [CHAT]";
	static const struct option lo[] = {{"tokenizer", required_argument, 0, 't'}, {"name", required_argument, 0, 'n'},
					   {"output", required_argument, 0, 'o'}, {"weights", required_argument, 0, 'W'},
					   {"device", required_argument, 0, 'D'}, {0}};
	const char *tok_path = NULL, *out_path = "-", *in_path = "-", *weights = "f32";
	char *name = NULL;
	int B = 8, cuda = 0, c;
	while ((c = getopt_long(argc, argv, "t:n:o:b:", lo, NULL)) != -1) {
		if (c == 't') tok_path = optarg;
		else if (c == 'n') name = xstrdup(optarg);
		else if (c == 'o') out_path = optarg;
		else if (c == 'b') B = (int)parse_int("-b", optarg);
		else if (c == 'W') weights = optarg;
		else if (c == 'D') cuda = parse_device(optarg);
		else usage_exit(U);
	}
	if (!tok_path || argc - optind < 1 || argc - optind > 2) usage_exit(U);
	if (B <= 0) die("-b must be positive");
	const char *model_path = argv[optind];
	if (argc - optind == 2) in_path = argv[optind + 1];
	if (!name) name = base_name(model_path);
	lm_tokenizer *tok = tok_load(tok_path);
	lm_model *m = load_score_model(model_path, tok, tok_path);
	model_weights(m, weights, "--weights");
	scorer *s = scorer_new(m, cuda, B, strcmp(weights, "bf16") ? GPU_FP32 : GPU_BF16);
	chat_reader *r = chat_open(in_path, CHAT_END_ASSISTANT, 0);
	lm_out *o = out_open(out_path, -1);
	/* records gather until the next would open row B+1 (pack.h's rule), then
	 * the batch is scored and written, in input order */
	size_t cap = 64, n = 0, rows = 0;
	uint64_t used = 0;
	cJSON **rec = xmalloc(cap * sizeof *rec);
	chat_tokens *tk = xcalloc(cap, sizeof *tk);
	const chat_dialog *d;
	while ((d = chat_next(r))) {
		if (n == cap) {
			rec = xrealloc(rec, 2 * cap * sizeof *rec);
			tk = xrealloc(tk, 2 * cap * sizeof *tk);
			memset(tk + cap, 0, cap * sizeof *tk);
			cap *= 2;
		}
		tk[n].n = 0;
		chat_render(tok, d, 0, &tk[n]);
		if (tk[n].n > (size_t)s->T)
			die("%s:%lld: the dialogue takes %zu tokens, longer than the model's context of %d", in_path,
			    chat_lineno(r), tk[n].n, s->T);
		if (rows == 0 || used + tk[n].n > (uint64_t)s->T) {
			if (rows == (size_t)B) {
				score_flush(s, o, name, rec, tk, n);
				chat_tokens t = tk[0];
				tk[0] = tk[n];
				tk[n] = t;
				n = rows = 0;
			}
			rows++;
			used = 0;
		}
		used += tk[n].n;
		rec[n] = cJSON_Parse(chat_line(r));
		n++;
	}
	score_flush(s, o, name, rec, tk, n);
	chat_close(r);
	out_close(o);
	for (size_t i = 0; i < cap; i++) chat_tokens_free(&tk[i]);
	free(rec); free(tk); free(name);
	scorer_free(s);
	model_free(m);
	tok_free(tok);
	return 0;
}

/* Wilson's 95% interval for k successes in n. */
static void wilson(double k, double n, double *lo, double *hi) {
	double z = 1.959964, p = k / n, d = 1 + z * z / n, c = (p + z * z / (2 * n)) / d;
	double h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
	*lo = c - h > 0 ? c - h : 0;   /* no -0.0 when k = 0 */
	*hi = c + h < 1 ? c + h : 1;
}

typedef struct tally { double n, right; } tally;

static void eval_line(lm_out *o, int tty, const char *name, const char *group, const char *value, tally t) {
	if (!t.n) return;
	double lo, hi;
	wilson(t.right, t.n, &lo, &hi);
	if (tty) {
		char label[64];
		snprintf(label, sizeof label, "%s%s%s", group, *value ? " " : "", value);
		out_printf(o, "%-32s %6.0f   %5.1f%%   [%5.1f, %5.1f]\n", label, t.n, 100 * t.right / t.n, 100 * lo, 100 * hi);
		return;
	}
	out_printf(o, "{\"model\": ");
	json_put_string(o, name, strlen(name));
	out_printf(o, ", \"group\": \"%s\", \"value\": \"%s\", \"pairs\": %.0f, \"accuracy\": %.6f, \"lo\": %.6f, "
		   "\"hi\": %.6f}\n", group, value, t.n, t.right / t.n, lo, hi);
}

/* eval's rows a forward on the GPU (score's default -b) */
#define EVAL_ROWS 8

static int cmd_eval(int argc, char **argv) {
	static const char *U = "eval -t TOK [-n NAME] [--device cpu|cuda] [-o OUT] CKPT PAIRS";
	static const struct option lo[] = {{"tokenizer", required_argument, 0, 't'}, {"name", required_argument, 0, 'n'},
					   {"output", required_argument, 0, 'o'}, {"device", required_argument, 0, 'D'}, {0}};
	const char *tok_path = NULL, *out_path = "-", *name = NULL;
	int cuda = 0, c;
	while ((c = getopt_long(argc, argv, "t:n:o:", lo, NULL)) != -1) {
		if (c == 't') tok_path = optarg;
		else if (c == 'n') name = optarg;
		else if (c == 'o') out_path = optarg;
		else if (c == 'D') cuda = parse_device(optarg);
		else usage_exit(U);
	}
	if (!tok_path || argc - optind != 2) usage_exit(U);
	const char *model_path = argv[optind], *pairs_path = argv[optind + 1];
	char *base = base_name(model_path);
	if (!name) name = base;
	lm_tokenizer *tok = tok_load(tok_path);
	lm_model *m = load_score_model(model_path, tok, tok_path);
	scorer *s = scorer_new(m, cuda, EVAL_ROWS, GPU_FP32);
	pairs ps = pairs_read(pairs_path, tok, s->T);
	const chat_tokens **seq = xmalloc(2 * ps.n * sizeof *seq);
	float *score = xmalloc(2 * ps.n * sizeof *score);
	for (size_t i = 0; i < ps.n; i++) seq[2 * i] = &ps.p[i].chosen, seq[2 * i + 1] = &ps.p[i].rejected;
	score_seqs(s, seq, 2 * ps.n, score);
	tally all = {0}, rating[RM_RATINGS] = {{0}}, kind[2] = {{0}};
	/* pairs that say how their rejected reply is worse ("variant") are also counted by it */
	const char **vname = xcalloc(ps.n, sizeof *vname);
	tally *variant = xcalloc(ps.n, sizeof *variant);
	int nv = 0;
	/* a safety model's use: the rejected reply of a "safe" pair is the unsafe
	 * one; flagged when sigmoid(score) < 0.15, the paper's threshold */
	double flagged = 0, flagged_unsafe = 0, unsafe = 0, thr = log(0.15 / 0.85);
	for (size_t i = 0; i < ps.n; i++) {
		float rc = score[2 * i], rr = score[2 * i + 1];
		int right = rc > rr;
		const rm_pair *p = &ps.p[i];
		all.n++, all.right += right;
		rating[p->rating].n++, rating[p->rating].right += right;
		kind[p->safe].n++, kind[p->safe].right += right;
		if (p->variant) {
			int v = 0;
			while (v < nv && strcmp(vname[v], p->variant)) v++;
			if (v == nv) vname[nv++] = p->variant;
			variant[v].n++, variant[v].right += right;
		}
		flagged += (rc < thr) + (rr < thr);
		if (p->safe) {
			unsafe++;
			flagged_unsafe += rr < thr;
		}
	}
	lm_out *o = out_open(out_path, -1);
	int tty = !strcmp(out_path, "-") && isatty(1);
	if (tty) out_printf(o, "%-32s %6s   %6s   %s\n", name, "pairs", "acc", "95% interval");
	eval_line(o, tty, name, "all", "", all);
	for (int r = 0; r < RM_RATINGS; r++) eval_line(o, tty, name, "rating", rm_rating_name(r), rating[r]);
	eval_line(o, tty, name, "kind", "helpful", kind[0]);
	eval_line(o, tty, name, "kind", "safe", kind[1]);
	for (int v = 0; v < nv; v++) eval_line(o, tty, name, "variant", vname[v], variant[v]);
	if (unsafe) {
		double prec = flagged ? flagged_unsafe / flagged : 0, rec = flagged_unsafe / unsafe;
		if (tty) out_printf(o, "unsafe at sigmoid < 0.15: precision %.1f%%, recall %.1f%% (%.0f flagged)\n",
				    100 * prec, 100 * rec, flagged);
		else {
			out_printf(o, "{\"model\": ");
			json_put_string(o, name, strlen(name));
			out_printf(o, ", \"group\": \"unsafe\", \"threshold\": 0.15, \"unsafe\": %.0f, \"flagged\": %.0f, "
				   "\"precision\": %.6f, \"recall\": %.6f}\n", unsafe, flagged, prec, rec);
		}
	}
	out_close(o);
	free(seq); free(score); free(base); free(vname); free(variant);
	pairs_free(&ps);
	scorer_free(s);
	model_free(m);
	tok_free(tok);
	return 0;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	std_options(argc, argv, USAGE);
	if (argc > 1 && !strcmp(argv[1], "init")) return cmd_init(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "score")) return cmd_score(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
	usage_exit(USAGE);
}
