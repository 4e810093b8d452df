/* lm-sft: supervised fine-tuning on chat dialogues: next-token cross-entropy
 * on the answer tokens only (the shard's loss mask), dialogues packed into
 * rows without seeing each other, starting from a checkpoint. The step loop
 * is train.c's. */
#include "blas.h"
#include "chat.h"
#include "checkpoint.h"
#include "rng.h"
#include "shard.h"
#include "train.h"
#include "util.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char *USAGE =
	"(--init CKPT | --resume) [-b ROWS] [--micro-batch ROWS] [-t LEN] [--epochs N] [--lr LR]\n"
	"\t[--min-lr LR] [--warmup N] [--beta1 B] [--beta2 B] [--eps E] [--weight-decay W] [--clip C]\n"
	"\t[--seed N] [--val SHARD] [--val-every N] [--metrics FILE] [--checkpoint-every N]\n"
	"\t[--threads N] [--device cpu|cuda] [--precision bf16|tf32|fp32] -o CKPT SHARD";

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

/* Fill row slots [0, n) from rows [r0, r0+n) of an epoch's packing; slots
 * [n, upto) become empty rows (no target). live[i] gets row i's targets. */
static void fill_rows(train_batch *b, const lm_shard *s, const uint64_t *order, const size_t *row, size_t r0,
		      int n, int upto, int T, long *live) {
	for (int i = 0; i < upto; i++) {
		size_t o = (size_t)i * T, a = i < n ? row[r0 + i] : 0, z = i < n ? row[r0 + i + 1] : 0;
		live[i] = chat_fill_row(s, order + a, z - a, T, b->tok + o, b->tgt + o, b->wt + o, b->pos + o, b->seg + o);
	}
}

/* Validation: the whole shard, its dialogues packed in file order. */
typedef struct val_packed {
	const lm_shard *s;
	uint64_t *order;
	size_t *row, n_rows;
	int rows, T;
	long *live;
} val_packed;

static int fill_val(void *ctx, long long i, train_batch *b) {
	val_packed *v = ctx;
	size_t r = (size_t)i * v->rows;
	if (r >= v->n_rows) return 0;
	int n = r + v->rows <= v->n_rows ? v->rows : (int)(v->n_rows - r);
	fill_rows(b, v->s, v->order, v->row, r, n, v->rows, v->T, v->live);
	return 1;
}

int main(int argc, char **argv) {
	lm_init(argc, argv);
	blas_init();
	train_version();
	std_options(argc, argv, USAGE);
	enum { O_EPOCHS = TRAIN_O_END, O_MICRO, O_VAL };
	static const struct option longopts[] = {
		TRAIN_LONGOPTS,
		{"micro-batch", required_argument, 0, O_MICRO}, {"epochs", required_argument, 0, O_EPOCHS},
		{"val", required_argument, 0, O_VAL}, {0, 0, 0, 0}};
	/* Llama 2's SFT: lr 2e-5, weight decay 0.1, 64 sequences a batch, 2 epochs, cosine */
	train_opts o = {.B = 64, .lr = 2e-5, .min_lr = -1, .weight_decay = 0.1, .clip = 1.0, .beta1 = 0.9,
			.beta2 = 0.95, .eps = 1e-5, .seed = 1};
	const char *val_path = NULL;
	int epochs = 2, MB = 0, c;
	while ((c = getopt_long(argc, argv, "b:t:o:", longopts, NULL)) != -1) {
		if (train_option(&o, c, optarg)) continue;
		switch (c) {
		case O_MICRO: MB = (int)parse_int("--micro-batch", optarg); break;
		case O_EPOCHS: epochs = (int)parse_int("--epochs", optarg); break;
		case O_VAL: val_path = optarg; break;
		default: usage_exit(USAGE);
		}
	}
	if (optind + 1 != argc || !o.out) usage_exit(USAGE);
	train_opts_finish(&o, 0, "--init CKPT (or --resume)");
	if (epochs <= 0 || MB < 0) die("--epochs must be positive, --micro-batch not negative");
	int B = o.B;
	if (!MB || MB > B) MB = B < 8 ? B : 8;
	const char *train_path = argv[optind];

	lm_model *m = o.resume ? ckpt_load(o.out) : model_load(o.init);
	model_need_head(m, LM_HEAD_LM, o.resume ? o.out : o.init);
	int T = o.T ? o.T : m->cfg.max_seq_len;
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

	plan p = plan_make(train, T, B, epochs, o.seed);
	o.steps = p.first_step[epochs];
	char start[128];
	snprintf(start, sizeof start, "\"dialogues\":%llu,\"truncated\":%lld,\"steps\":%lld",
		 (unsigned long long)train->n_docs, truncated, o.steps);
	trainer *t = trainer_open(m, &o, MB, T, start);
	/* a step's last micro-batch is filled up with empty rows */
	int cap = (B + MB - 1) / MB * MB;
	train_batch *b = train_batch_new(cap, T, 1, 1);
	long *live = xmalloc(cap * sizeof *live);
	val_packed vp = {val, NULL, NULL, 0, MB, T, live};
	if (val) {
		vp.order = xmalloc(val->n_docs * sizeof *vp.order);
		for (uint64_t i = 0; i < val->n_docs; i++) vp.order[i] = i;
		vp.n_rows = chat_pack_rows(val, vp.order, val->n_docs, T, &vp.row);
		t->val = fill_val;
		t->val_ctx = &vp;
	}
	char fields[96];
	int e;
	do {
		size_t r0, r1;
		plan_step(&p, t->st.step, &e, &r0, &r1);
		int n = r1 - r0, empty = 0;
		b->micro = (n + MB - 1) / MB;
		fill_rows(b, train, p.order[e], p.row[e], r0, n, b->micro * MB, T, live);
		long targets = 0;
		for (int i = 0; i < b->micro * MB; i++) targets += live[i];
		for (int i = 0; i < n; i++) empty += live[i] == 0;
		snprintf(fields, sizeof fields, "\"targets\":%ld,\"rows\":%d,\"empty_rows\":%d", targets, n, empty);
	} while (trainer_step(t, b, e + 1, fields));
	trainer_finish(t);
	train_batch_free(b);
	free(live);
	free(vp.order);
	free(vp.row);
	plan_free(&p);
	model_free(m);
	shard_close(train);
	shard_close(val);
	return 0;
}
